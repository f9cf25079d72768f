"""The llamafile / llama.cpp server engine: HTTP with httpx, sync and async, SSE streaming.

A llamafile is one executable holding a model and llama.cpp's HTTP server
(`./model.llamafile --server --nobrowser` listens on `http://localhost:8080`); llama.cpp's own
`llama-server` speaks the same API. This module talks to either. Nothing LangChain-specific
lives here: the faces (`Llamafile`, `ChatLlamafile`, `LlamafileEmbeddings`) build request
bodies in the server's own field names and turn what comes back into LangChain objects.

Endpoints used:
    - `POST /completion` (native): text deltas over Server-Sent Events, then one final event
      with `timings`, `stop_type`, `stopping_word`, `tokens_predicted`, `tokens_evaluated`,
      `tokens_cached`. Accepts `grammar` (GBNF) on every server version and `json_schema` on
      llama.cpp servers (llamafile's older server has only `grammar`).
    - `POST /v1/chat/completions` (OpenAI-compatible): the server renders its own chat
      template; `tools` and `response_format` on llama.cpp servers only.
    - `GET /health`, `GET /props` (chat template, context size, model path), `POST /tokenize`,
      `POST /v1/embeddings` with a fallback to `POST /embedding`.

Errors are typed and say what to do: nothing listening (`ServerUnavailableError`), still
loading after `load_timeout` (`ServerUnavailableError`), no answer within the timeout
(`ServerTimeoutError`), the connection dropped mid-reply (`ServerDisconnectedError`), an HTTP
error (`ServerError` with the server's own message and status), a prompt longer than the
context (`ContextOverflowError`).

Example:
    >>> engine = LlamafileEngine("http://127.0.0.1:8080")
    >>> for item in engine.stream_completion({"prompt": "Hi", "n_predict": 8}):  # doctest: +SKIP
    ...     print(item)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import (
    AsyncGenerator,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import Any, NoReturn

import httpx

from langchain_localkit._core.errors import (
    ContextOverflowError,
    ServerDisconnectedError,
    ServerError,
    ServerTimeoutError,
    ServerUnavailableError,
)
from langchain_localkit._core.generation import FinishReason, GenerationInfo
from langchain_localkit._core.timings import Timings

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://localhost:8080"
"""Where a llamafile listens by default (`./model.llamafile --server --nobrowser`)."""

START_HINT = (
    "start one with `./model.llamafile --server --nobrowser` "
    "(or `llama-server -m model.gguf --port 8080`)"
)

_POLL_INTERVAL = 0.25
_CLOSE = {"Connection": "close"}


# --------------------------------------------------------------------------------------------
# What the server says about itself
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServerInfo:
    """What `GET /props` says about the server and its model.

    Attributes:
        chat_template: The Jinja chat template the server uses (the model's own, or llama.cpp's
            ChatML default when the GGUF has none), if the server reports one.
        n_ctx: The context window of one slot, in tokens.
        model_path: The model file the server loaded (inside the executable for a llamafile).
        model_alias: The name the server reports for the model (`--alias`).
        bos_token: The BOS token's text, if reported.
        eos_token: The EOS token's text, if reported.
        build_info: llama.cpp's build string (absent on llamafile's older server).
        total_slots: How many requests the server decodes in parallel.
        raw: The whole `/props` answer.
    """

    chat_template: str | None = None
    n_ctx: int | None = None
    model_path: str | None = None
    model_alias: str | None = None
    bos_token: str | None = None
    eos_token: str | None = None
    build_info: str | None = None
    total_slots: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> ServerInfo:
        """Read a `/props` answer (llama.cpp's current server or llamafile's older one).

        Example:
            >>> info = ServerInfo.from_props({"default_generation_settings": {"n_ctx": 2048}})
            >>> info.n_ctx, info.legacy
            (2048, True)
        """
        settings = props.get("default_generation_settings") or {}
        n_ctx = settings.get("n_ctx") if isinstance(settings, Mapping) else None

        def text(key: str) -> str | None:
            value = props.get(key)
            return value if isinstance(value, str) and value else None

        slots = props.get("total_slots")
        return cls(
            chat_template=text("chat_template"),
            n_ctx=int(n_ctx) if isinstance(n_ctx, int | float) and n_ctx > 0 else None,
            model_path=text("model_path"),
            model_alias=text("model_alias"),
            bos_token=text("bos_token"),
            eos_token=text("eos_token"),
            build_info=text("build_info"),
            total_slots=int(slots) if isinstance(slots, int) else None,
            raw=dict(props),
        )

    @property
    def legacy(self) -> bool:
        """Whether this is llamafile's older server (no `json_schema`, no `tools`).

        llama.cpp's current server reports `build_info` and `chat_template` in `/props`;
        llamafile's `--server` (llama.cpp of early 2024) reports neither.
        """
        return "build_info" not in self.raw and "chat_template" not in self.raw

    @property
    def model_name(self) -> str | None:
        """The model's name: the alias, else the model path (a path is cut to its file name)."""
        return display_model_name(self.model_alias or self.model_path) or None


# --------------------------------------------------------------------------------------------
# Server-Sent Events
# --------------------------------------------------------------------------------------------
class _SSE:
    """An incremental parser of `text/event-stream` lines (llama.cpp and llamafile dialects).

    `feed(line)` returns the data of a finished event, or None. llama.cpp writes one
    `data: {json}` line per event and `data: [DONE]` after OpenAI-style streams; comment lines
    (`:`) are keep-alive pings; llamafile's older server reports errors as `error: {json}`.
    """

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        if not line:
            if self.data:
                payload = "\n".join(self.data)
                self.data = []
                return "data", payload
            return None
        if line.startswith("data:"):
            self.data.append(line[6:] if line.startswith("data: ") else line[5:])
            return None
        if line.startswith("error:"):
            return "error", line[7:] if line.startswith("error: ") else line[6:]
        return None  # comments (pings), `event:`, `id:`, `retry:`

    def flush(self) -> tuple[str, str] | None:
        if self.data:
            payload = "\n".join(self.data)
            self.data = []
            return "data", payload
        return None


def _decode_event(kind: str, payload: str, url: str) -> Any:
    """The JSON of one event; raises for error events. Returns None for `[DONE]`."""
    if kind == "data" and payload.strip() == "[DONE]":
        return None
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as e:
        if kind == "error":
            raise ServerError(f"The server at {url} reported an error: {payload}") from None
        raise ServerError(f"The server at {url} sent an unreadable event: {payload[:200]!r}") from e
    if kind == "error" or (
        isinstance(data, dict)
        and "error" in data
        and "choices" not in data
        and "content" not in data
    ):
        _raise_error_body(data.get("error", data) if isinstance(data, dict) else data, None, url)
    return data


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
def _error_message(body: Any) -> tuple[str, str | None, Mapping[str, Any]]:
    """(message, error type, the error object) from an error body of any server version."""
    if isinstance(body, Mapping):
        err = body.get("error", body)
        if isinstance(err, Mapping):
            message = err.get("message") or err.get("error") or err.get("status")
            kind = err.get("type")
            return (
                str(message or json.dumps(dict(err))),
                kind if isinstance(kind, str) else None,
                err,
            )
        if isinstance(err, str):
            return err, None, body
        message = body.get("message") or body.get("status")
        if message:
            return str(message), None, body
    return str(body), None, {}


def _raise_error_body(body: Any, status: int | None, url: str) -> NoReturn:
    message, kind, err = _error_message(body)
    if kind == "exceed_context_size_error" or (
        "n_prompt_tokens" in err and "n_ctx" in err and status in (400, None)
    ):
        n_prompt = int(err.get("n_prompt_tokens") or 0)
        n_ctx = int(err.get("n_ctx") or 0)
        raise ContextOverflowError(
            n_prompt,
            n_ctx,
            "Shorten the prompt, or restart the server with a larger context (`-c`/`--ctx-size`).",
        )
    where = f"The server at {url}"
    if status is not None:
        hint = ""
        if status == 401:
            hint = " Pass the server's key as `api_key=`."
        elif status == 404:
            hint = " This server does not offer that endpoint (an older llamafile?)."
        elif status == 501 and "embedding" in message.lower() and "--embedding" not in message:
            hint = " Start the server with `--embedding` (llama-server: `--embeddings`)."
        raise ServerError(f"{where} answered HTTP {status}: {message}.{hint}", status)
    raise ServerError(f"{where} reported an error mid-reply: {message}")


def _body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()
        return text or response.reason_phrase


# --------------------------------------------------------------------------------------------
# Final events -> GenerationInfo
# --------------------------------------------------------------------------------------------
def _stop_of(final: Mapping[str, Any]) -> tuple[FinishReason, str | None, str]:
    """(finish_reason, stop_reason, stop_type) from a final `/completion` result.

    llama.cpp reports `stop_type` ("eos", "word", "limit", "none"); llamafile's older server
    reports `stopped_eos` / `stopped_word` / `stopped_limit`.
    """
    stop_type = final.get("stop_type")
    if not isinstance(stop_type, str):
        if final.get("stopped_eos"):
            stop_type = "eos"
        elif final.get("stopped_word"):
            stop_type = "word"
        elif final.get("stopped_limit"):
            stop_type = "limit"
        else:
            stop_type = "none"
    if stop_type == "eos":
        return "stop", "eos", stop_type
    if stop_type == "word":
        word = final.get("stopping_word")
        return "stop", word if isinstance(word, str) and word else None, stop_type
    return "length", None, stop_type


def display_model_name(name: Any) -> str:
    """A model name as the server gives it, shortened to the file name when it is a path.

    Example:
        >>> display_model_name("/models/gemma-3-270m-q4_k_m.gguf")
        'gemma-3-270m-q4_k_m.gguf'
        >>> display_model_name("ggml-org/gemma-3")
        'ggml-org/gemma-3'
    """
    if not isinstance(name, str):
        return ""
    if name.endswith((".gguf", ".llamafile", ".bin")) or os.path.isabs(name):
        return os.path.basename(name.rstrip("/\\")) or name
    return name


def for_server(body: Mapping[str, Any], info: ServerInfo) -> dict[str, Any]:
    """Adapt a `/completion` body to what the server understands.

    On llamafile's older server, which has no `json_schema`, the schema becomes a GBNF
    `grammar` (converted locally with llama.cpp's converter from llama-cpp-python).

    Raises:
        RuntimeNotInstalledError: The conversion is needed and llama-cpp-python is missing.
    """
    out = dict(body)
    if not info.legacy or "json_schema" not in out:
        return out
    from langchain_localkit._core.errors import RuntimeNotInstalledError
    from langchain_localkit._core.tools import json_schema_to_gbnf

    try:
        out["grammar"] = json_schema_to_gbnf(out.pop("json_schema"))
    except RuntimeNotInstalledError:
        raise RuntimeNotInstalledError(
            "llama-cpp-python",
            "llamacpp",
            "Structured output on llamafile's older server (which has no `json_schema`; the "
            "schema is turned into a grammar locally, or use a current `llama-server`)",
        ) from None
    return out


def generation_from_final(
    final: Mapping[str, Any],
    *,
    model_name: str,
    ttft_ms: float | None = None,
    total_ms: float | None = None,
) -> GenerationInfo:
    """A `GenerationInfo` from the final result of `/completion` (streamed or not).

    Output tokens are those the user sees: the server counts the end-of-generation token in
    `tokens_predicted` and `timings.predicted_n`; it is not counted here (as in-process).

    Example:
        >>> info = generation_from_final(
        ...     {"stop_type": "eos", "tokens_predicted": 5, "tokens_evaluated": 7},
        ...     model_name="m.gguf",
        ... )
        >>> info.finish_reason, info.prompt_tokens, info.completion_tokens
        ('stop', 7, 4)
    """
    finish, stop_reason, stop_type = _stop_of(final)
    predicted = int(final.get("tokens_predicted") or 0)
    output = max(predicted - 1, 0) if stop_type == "eos" else predicted
    raw_timings = final.get("timings")
    timings = Timings.from_llama_server(
        raw_timings if isinstance(raw_timings, Mapping) else {}, ttft_ms=ttft_ms, total_ms=total_ms
    )
    if timings.eval_tokens != output:
        timings = Timings(
            prompt_tokens=timings.prompt_tokens,
            prompt_ms=timings.prompt_ms,
            eval_tokens=output,
            eval_ms=timings.eval_ms,
            cached_tokens=timings.cached_tokens,
            ttft_ms=ttft_ms,
            total_ms=total_ms,
            source=timings.source,
        )
    model = display_model_name(final.get("model"))
    extra: dict[str, Any] = {"stop_type": stop_type}
    for key in ("tokens_cached", "truncated", "id_slot", "slot_id"):
        if key in final:
            extra[key] = final[key]
    if "completion_probabilities" in final:
        extra["completion_probabilities"] = final["completion_probabilities"]
    return GenerationInfo(
        finish_reason=finish,
        stop_reason=stop_reason,
        prompt_tokens=int(final.get("tokens_evaluated") or 0),
        completion_tokens=output,
        timings=timings,
        model_name=model_name or model,
        extra=extra,
    )


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------
class LlamafileEngine:
    """A client of one llamafile / llama.cpp server, with pooled sync and async connections.

    Construction does no I/O. One `httpx.Client` serves every thread; one
    `httpx.AsyncClient` is made per event loop (an httpx async client cannot move between
    loops). Streams are closed when their consumer stops, which makes the server stop
    generating.

    Args:
        base_url: The server's address.
        timeout: Seconds to wait for an answer or for the next part of a streamed answer
            (httpx's read timeout); None waits forever.
        connect_timeout: Seconds to wait for the connection itself.
        load_timeout: Seconds to wait for a server that is still loading its model (HTTP 503)
            before giving up.
        api_key: The server's API key (`--api-key`), sent as a bearer token.
        headers: More HTTP headers for every request.
        client_kwargs: More arguments for both httpx clients (e.g. `transport=` in tests).
        async_client_kwargs: Arguments for the async client only (override `client_kwargs`).

    Example:
        >>> engine = LlamafileEngine()  # no I/O yet
        >>> engine.base_url
        'http://localhost:8080'
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float | None = 600.0,
        connect_timeout: float = 5.0,
        load_timeout: float = 120.0,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
        async_client_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.load_timeout = load_timeout
        self._headers = {"Accept": "application/json, text/event-stream", **(headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._client_kwargs = dict(client_kwargs or {})
        self._async_client_kwargs = {**self._client_kwargs, **(async_client_kwargs or {})}
        self._client: httpx.Client | None = None
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._aclients = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._info: ServerInfo | None = None
        self._bos_id: int | bool | None = False  # False: not looked up yet

    # --- clients --------------------------------------------------------------------------------
    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, connect=self.connect_timeout)

    @property
    def client(self) -> httpx.Client:
        """The shared synchronous httpx client (created on first use)."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client(
                        base_url=self.base_url,
                        timeout=self._timeout(),
                        headers=self._headers,
                        **self._client_kwargs,
                    )
                client = self._client
        return client

    @property
    def aclient(self) -> httpx.AsyncClient:
        """The httpx async client of the running event loop (created on first use)."""
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=self._timeout(),
                headers=self._headers,
                **self._async_client_kwargs,
            )
            self._aclients[loop] = client
        return client

    def close(self) -> None:
        """Close the synchronous client (async clients close with `aclose`)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the async client of the running loop, and the synchronous one."""
        with contextlib.suppress(RuntimeError):
            client = self._aclients.pop(asyncio.get_running_loop(), None)
            if client is not None:
                await client.aclose()
        self.close()

    # --- error mapping --------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _transport_error(self, e: Exception, path: str, *, streaming: bool = False) -> Exception:
        url = self._url(path)
        if isinstance(e, httpx.ConnectTimeout):
            return ServerTimeoutError(
                f"No llamafile / llama.cpp server answered at {self.base_url} within "
                f"{self.connect_timeout:g} s (connect timeout); is one running? If not, "
                f"{START_HINT}."
            )
        if isinstance(e, httpx.ConnectError):
            return ServerUnavailableError(
                f"No llamafile / llama.cpp server at {self.base_url}; {START_HINT}, or pass "
                f"`base_url=` if it listens elsewhere. ({e})"
            )
        if isinstance(e, httpx.TimeoutException):
            return ServerTimeoutError(
                f"The server at {url} sent nothing for {self.timeout:g} s "
                "(`request_timeout`). It may be overloaded or stuck; raise `request_timeout` "
                "for long prompts on slow machines."
            )
        if isinstance(e, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            what = "in the middle of a reply" if streaming else "without answering"
            return ServerDisconnectedError(
                f"The server at {self.base_url} closed the connection {what} ({e}). It may "
                "have crashed (out of memory?) or been stopped; check its log and restart it."
            )
        return ServerUnavailableError(f"Could not talk to the server at {url}: {e}")

    def _status_error(self, response: httpx.Response, path: str) -> NoReturn:
        _raise_error_body(_body_of(response), response.status_code, self._url(path))

    def _loading_error(self, waited: float) -> ServerUnavailableError:
        return ServerUnavailableError(
            f"The server at {self.base_url} is still loading its model after {waited:.0f} s "
            "(HTTP 503). Wait for it to finish, or raise `load_timeout`."
        )

    # --- waiting for a loading server -----------------------------------------------------------
    def _health_status(self) -> int:
        return self.client.get("/health", timeout=self._probe_timeout()).status_code

    async def _ahealth_status(self) -> int:
        response = await self.aclient.get("/health", timeout=self._probe_timeout())
        return response.status_code

    def _probe_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(min(self.timeout or 10.0, 10.0), connect=self.connect_timeout)

    def _wait_loaded(self, started: float) -> None:
        """Poll `/health` until the model is loaded, or raise after `load_timeout`."""
        while True:
            waited = time.monotonic() - started
            if waited >= self.load_timeout:
                raise self._loading_error(waited)
            time.sleep(min(_POLL_INTERVAL, max(self.load_timeout - waited, 0.0)))
            try:
                if self._health_status() == 200:
                    return
            except httpx.TransportError as e:
                raise self._transport_error(e, "/health") from e

    async def _await_loaded(self, started: float) -> None:
        while True:
            waited = time.monotonic() - started
            if waited >= self.load_timeout:
                raise self._loading_error(waited)
            await asyncio.sleep(min(_POLL_INTERVAL, max(self.load_timeout - waited, 0.0)))
            try:
                if await self._ahealth_status() == 200:
                    return
            except httpx.TransportError as e:
                raise self._transport_error(e, "/health") from e

    def wait_until_ready(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until `/health` says the model is loaded.

        Unlike the implicit wait of other calls, a refused connection here counts as "not yet"
        (a llamafile that was just launched may not listen yet).

        Args:
            timeout: Seconds to wait; default `load_timeout`.

        Returns:
            The `/health` answer.

        Raises:
            ServerUnavailableError: Not ready in time.
        """
        limit = self.load_timeout if timeout is None else timeout
        started = time.monotonic()
        last: Exception | None = None
        while True:
            try:
                response = self.client.get("/health", timeout=self._probe_timeout())
                if response.status_code == 200:
                    return dict(_body_of(response) or {})
                last = None
            except httpx.TransportError as e:
                last = e
            waited = time.monotonic() - started
            if waited >= limit:
                if last is not None:
                    raise self._transport_error(last, "/health") from last
                raise self._loading_error(waited)
            time.sleep(_POLL_INTERVAL)

    # --- sending -------------------------------------------------------------------------------
    # llama.cpp's server closes the connection after every streamed reply, so a streamed
    # request says `Connection: close` (the pool then never hands out a connection the server
    # is closing); other requests reuse pooled connections. A pooled connection the server
    # closed while idle (its keep-alive is 5 s) fails before any answer: that is retried once.
    def _send(self, request: httpx.Request, path: str, *, stream: bool) -> httpx.Response:
        for attempt in (0, 1):
            try:
                return self.client.send(request, stream=stream)
            except httpx.RemoteProtocolError as e:
                if attempt == 0:
                    continue
                raise self._transport_error(e, path) from e
            except httpx.TransportError as e:
                raise self._transport_error(e, path) from e
        raise AssertionError("unreachable")  # pragma: no cover

    async def _asend(self, request: httpx.Request, path: str, *, stream: bool) -> httpx.Response:
        for attempt in (0, 1):
            try:
                return await self.aclient.send(request, stream=stream)
            except httpx.RemoteProtocolError as e:
                if attempt == 0:
                    continue
                raise self._transport_error(e, path) from e
            except httpx.TransportError as e:
                raise self._transport_error(e, path) from e
        raise AssertionError("unreachable")  # pragma: no cover

    # --- plain requests -------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One JSON request; waits while the model loads; maps errors to typed ones.

        Args:
            method: "GET" or "POST".
            path: The endpoint, e.g. "/props".
            body: The JSON body (POST).

        Returns:
            The decoded JSON answer.
        """
        started = time.monotonic()
        while True:
            request = self.client.build_request(method, path, json=body)
            response = self._send(request, path, stream=False)
            if response.status_code == 503:
                self._wait_loaded(started)
                continue
            if response.status_code >= 400:
                self._status_error(response, path)
            return _body_of(response)

    async def arequest(self, method: str, path: str, body: Any = None) -> Any:
        """The async `request`."""
        started = time.monotonic()
        while True:
            request = self.aclient.build_request(method, path, json=body)
            response = await self._asend(request, path, stream=False)
            if response.status_code == 503:
                await self._await_loaded(started)
                continue
            if response.status_code >= 400:
                self._status_error(response, path)
            return _body_of(response)

    # --- streams --------------------------------------------------------------------------------
    def stream_events(self, path: str, body: Mapping[str, Any]) -> Generator[Any, None, None]:
        """POST `body` and yield the JSON of each Server-Sent Event until the stream ends.

        The status is checked before anything is read, so an error body never passes for
        tokens. Closing the iterator closes the connection (the server stops generating).
        """
        started = time.monotonic()
        while True:
            request = self.client.build_request("POST", path, json=body, headers=_CLOSE)
            response = self._send(request, path, stream=True)
            try:
                if response.status_code == 503:
                    response.read()
                    self._wait_loaded(started)
                    continue
                if response.status_code >= 400:
                    response.read()
                    self._status_error(response, path)
                parser = _SSE()
                url = self._url(path)
                for line in response.iter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        data = _decode_event(event[0], event[1], url)
                        if data is not None:
                            yield data
                event = parser.flush()
                if event is not None:
                    data = _decode_event(event[0], event[1], url)
                    if data is not None:
                        yield data
                return
            except httpx.TransportError as e:
                raise self._transport_error(e, path, streaming=True) from e
            finally:
                response.close()

    async def astream_events(self, path: str, body: Mapping[str, Any]) -> AsyncGenerator[Any, None]:
        """The async `stream_events`; cancelling the consuming task closes the connection."""
        started = time.monotonic()
        while True:
            request = self.aclient.build_request("POST", path, json=body, headers=_CLOSE)
            response = await self._asend(request, path, stream=True)
            try:
                if response.status_code == 503:
                    await response.aread()
                    await self._await_loaded(started)
                    continue
                if response.status_code >= 400:
                    await response.aread()
                    self._status_error(response, path)
                parser = _SSE()
                url = self._url(path)
                async for line in response.aiter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        data = _decode_event(event[0], event[1], url)
                        if data is not None:
                            yield data
                event = parser.flush()
                if event is not None:
                    data = _decode_event(event[0], event[1], url)
                    if data is not None:
                        yield data
                return
            except httpx.TransportError as e:
                raise self._transport_error(e, path, streaming=True) from e
            finally:
                await response.aclose()

    # --- server facts ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """`GET /health` (waits while the model loads)."""
        return dict(self.request("GET", "/health") or {})

    async def ahealth(self) -> dict[str, Any]:
        """The async `health`."""
        return dict(await self.arequest("GET", "/health") or {})

    def info(self, *, refresh: bool = False) -> ServerInfo:
        """What `/props` says (fetched once, then cached; `refresh=True` asks again)."""
        if self._info is None or refresh:
            self._info = ServerInfo.from_props(self.request("GET", "/props") or {})
        return self._info

    async def ainfo(self, *, refresh: bool = False) -> ServerInfo:
        """The async `info`."""
        if self._info is None or refresh:
            self._info = ServerInfo.from_props(await self.arequest("GET", "/props") or {})
        return self._info

    def tokenize(self, text: str, *, add_special: bool = False) -> list[int]:
        """Token ids of `text` in the server's vocabulary (`POST /tokenize`).

        Args:
            text: The text; special tokens written as text (e.g. `<|im_start|>`) are parsed.
            add_special: Add BOS (and other special tokens) as for a prompt.
        """
        body = {"content": text, "add_special": add_special, "parse_special": True}
        return _token_ids(self.request("POST", "/tokenize", body))

    async def atokenize(self, text: str, *, add_special: bool = False) -> list[int]:
        """The async `tokenize`."""
        body = {"content": text, "add_special": add_special, "parse_special": True}
        return _token_ids(await self.arequest("POST", "/tokenize", body))

    def bos_token_id(self) -> int | None:
        """The BOS token's id (from `/props` and `/tokenize`, looked up once), or None."""
        if self._bos_id is False:
            info = self.info()
            ids = self.tokenize(info.bos_token) if info.bos_token else []
            self._bos_id = ids[0] if len(ids) == 1 else None
        return self._bos_id if isinstance(self._bos_id, int) else None

    async def abos_token_id(self) -> int | None:
        """The async `bos_token_id`."""
        if self._bos_id is False:
            info = await self.ainfo()
            ids = await self.atokenize(info.bos_token) if info.bos_token else []
            self._bos_id = ids[0] if len(ids) == 1 else None
        return self._bos_id if isinstance(self._bos_id, int) else None

    # --- /completion ----------------------------------------------------------------------------
    def stream_completion(
        self, body: Mapping[str, Any], *, model_name: str = ""
    ) -> Generator[str | GenerationInfo, None, None]:
        """Stream `POST /completion`: text deltas, then one `GenerationInfo`.

        Args:
            body: The request in the server's field names (`prompt`, `n_predict`, `stop`,
                `temperature`, `grammar`, `json_schema`, `cache_prompt`, ...).
            model_name: The name to report; "" takes the server's.

        Raises:
            ServerDisconnectedError: The stream ended before its final event.
        """
        start = time.perf_counter()
        first: float | None = None
        if "json_schema" in body:
            body = for_server(body, self.info())
        final: GenerationInfo | None = None
        for event in self.stream_events("/completion", {**body, "stream": True}):
            if final is not None:
                continue  # read the stream to its end, so the connection goes back to the pool
            content = event.get("content")
            if content:
                if first is None:
                    first = time.perf_counter()
                yield content
            if event.get("stop"):
                final = self._final(event, model_name, start, first)
        if final is None:
            raise self._ended_early()
        yield final

    async def astream_completion(
        self, body: Mapping[str, Any], *, model_name: str = ""
    ) -> AsyncGenerator[str | GenerationInfo, None]:
        """The async `stream_completion`."""
        start = time.perf_counter()
        first: float | None = None
        if "json_schema" in body:
            body = for_server(body, await self.ainfo())
        final: GenerationInfo | None = None
        async for event in self.astream_events("/completion", {**body, "stream": True}):
            if final is not None:
                continue  # read the stream to its end, so the connection goes back to the pool
            content = event.get("content")
            if content:
                if first is None:
                    first = time.perf_counter()
                yield content
            if event.get("stop"):
                final = self._final(event, model_name, start, first)
        if final is None:
            raise self._ended_early()
        yield final

    def complete(
        self, body: Mapping[str, Any], *, model_name: str = ""
    ) -> tuple[str, GenerationInfo]:
        """`POST /completion` without streaming: the text and its `GenerationInfo`."""
        if "json_schema" in body:
            body = for_server(body, self.info())
        start = time.perf_counter()
        result = self.request("POST", "/completion", {**body, "stream": False})
        return self._complete_result(result, model_name, start)

    async def acomplete(
        self, body: Mapping[str, Any], *, model_name: str = ""
    ) -> tuple[str, GenerationInfo]:
        """The async `complete`."""
        if "json_schema" in body:
            body = for_server(body, await self.ainfo())
        start = time.perf_counter()
        result = await self.arequest("POST", "/completion", {**body, "stream": False})
        return self._complete_result(result, model_name, start)

    def _complete_result(
        self, result: Any, model_name: str, start: float
    ) -> tuple[str, GenerationInfo]:
        if isinstance(result, list):
            result = result[0] if result else {}
        if not isinstance(result, Mapping):
            raise ServerError(
                f"The server at {self.base_url} sent an unexpected answer: {result!r}"
            )
        elapsed = (time.perf_counter() - start) * 1e3
        info = generation_from_final(result, model_name=model_name, total_ms=elapsed)
        text = str(result.get("content") or "")
        if info.finish_reason == "length":
            # the bytes of a character cut off by n_predict arrive as U+FFFD; the server's own
            # chat endpoint drops them (and so does its stream, and llama-cpp-python)
            text = text.rstrip("\ufffd")
        return text, info

    def _final(
        self, event: Mapping[str, Any], model_name: str, start: float, first: float | None
    ) -> GenerationInfo:
        now = time.perf_counter()
        return generation_from_final(
            event,
            model_name=model_name,
            ttft_ms=(first - start) * 1e3 if first is not None else None,
            total_ms=(now - start) * 1e3,
        )

    def _ended_early(self) -> ServerDisconnectedError:
        return ServerDisconnectedError(
            f"The stream from {self.base_url} ended before its final event: the server may "
            "have crashed or been stopped mid-reply; check its log and restart it."
        )

    # --- /v1/chat/completions -------------------------------------------------------------------
    def stream_chat(self, body: Mapping[str, Any]) -> Generator[dict[str, Any], None, None]:
        """Stream `POST /v1/chat/completions`: the OpenAI-style chunks as dicts."""
        for event in self.stream_events("/v1/chat/completions", {**body, "stream": True}):
            yield from _chunks(event)

    async def astream_chat(self, body: Mapping[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """The async `stream_chat`."""
        async for event in self.astream_events("/v1/chat/completions", {**body, "stream": True}):
            for chunk in _chunks(event):
                yield chunk

    # --- embeddings -----------------------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, as the server computes it (not normalised here).

        Uses `POST /v1/embeddings` (one request for all texts); falls back to
        `POST /embedding` where that is missing or refused (llamafile's older server, or a
        server started with `--pooling none`, whose token vectors are then mean-pooled).
        """
        return _embed_flow(texts, self.request)

    async def aembed(self, texts: Sequence[str]) -> list[list[float]]:
        """The async `embed`."""
        return await _aembed_flow(texts, self.arequest)


def _token_ids(answer: Any) -> list[int]:
    tokens = answer.get("tokens", []) if isinstance(answer, Mapping) else []
    return [int(t["id"]) if isinstance(t, Mapping) else int(t) for t in tokens]


def _chunks(event: Any) -> Iterator[dict[str, Any]]:
    if isinstance(event, list):
        yield from (e for e in event if isinstance(e, dict))
    elif isinstance(event, dict):
        yield event


# --- embeddings helpers ---------------------------------------------------------------------------
def _mean(vectors: Sequence[Sequence[float]]) -> list[float]:
    n = len(vectors)
    if n == 0:
        return []
    return [math.fsum(col) / n for col in zip(*vectors, strict=True)]


def _as_vector(value: Any) -> list[float]:
    if value and isinstance(value[0], list):
        return _mean(value)
    return [float(x) for x in value]


def _oai_body(texts: Sequence[str]) -> dict[str, Any]:
    return {"input": list(texts), "encoding_format": "float", "embd_normalize": -1}


def _oai_vectors(answer: Any, n: int) -> list[list[float]]:
    data = answer.get("data") if isinstance(answer, Mapping) else None
    if not isinstance(data, list) or len(data) != n:
        raise ServerError(f"Expected {n} embeddings, got: {str(answer)[:200]}")
    ordered = sorted(data, key=lambda d: int(d.get("index", 0)))
    return [_as_vector(d["embedding"]) for d in ordered]


def _native_vectors(answer: Any) -> list[float]:
    if isinstance(answer, list):
        answer = answer[0] if answer else {}
    if not isinstance(answer, Mapping) or "embedding" not in answer:
        raise ServerError(f"Unexpected /embedding answer: {str(answer)[:200]}")
    return _as_vector(answer["embedding"])


def _use_native(error: ServerError) -> bool:
    text = str(error)
    return error.status_code in (404, 405) or "not OAI compatible" in text


def _embed_flow(texts: Sequence[str], request: Callable[[str, str, Any], Any]) -> list[list[float]]:
    if not texts:
        return []
    try:
        return _oai_vectors(request("POST", "/v1/embeddings", _oai_body(texts)), len(texts))
    except ServerError as e:
        if not _use_native(e):
            raise
    return [
        _native_vectors(request("POST", "/embedding", {"content": t, "embd_normalize": -1}))
        for t in texts
    ]


async def _aembed_flow(texts: Sequence[str], request: Callable[..., Any]) -> list[list[float]]:
    if not texts:
        return []
    try:
        answer = await request("POST", "/v1/embeddings", _oai_body(texts))
        return _oai_vectors(answer, len(texts))
    except ServerError as e:
        if not _use_native(e):
            raise
    out: list[list[float]] = []
    for t in texts:
        out.append(
            _native_vectors(
                await request("POST", "/embedding", {"content": t, "embd_normalize": -1})
            )
        )
    return out


__all__ = [
    "DEFAULT_BASE_URL",
    "LlamafileEngine",
    "START_HINT",
    "ServerDisconnectedError",
    "ServerInfo",
    "ServerTimeoutError",
    "display_model_name",
    "for_server",
    "generation_from_final",
]
