"""The engine of any OpenAI-compatible server: llama-server, LM Studio, vLLM, Ollama's `/v1`, ...

`OpenAICompatEngine` composes the pieces of `engines.http` (the transport: pooled
connections, retries, the wait while a model loads, typed errors, Server-Sent Events; the
`/v1` protocol of `engines.http.openai`) with a `ServerPreset` (`engines.http.servers`): what
the server honours. The preset is the one named, or is found on first use from what the server
says about itself (`GET /v1/models`, then `/props` on llama.cpp, or one probe of a known
endpoint), and is then kept.

Example:
    >>> engine = OpenAICompatEngine("http://localhost:1234/v1", server="lmstudio")  # no I/O
    >>> engine.base_url, engine.given.title
    ('http://localhost:1234', 'LM Studio')
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Unpack

import httpx

from langchain_localkit._core.errors import ServerDisconnectedError, ServerError
from langchain_localkit._core.generation import (
    GenerationInfo,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
)
from langchain_localkit.engines.base import Engine
from langchain_localkit.engines.http.embeddings import embeddings_flow
from langchain_localkit.engines.http.errors import body_of
from langchain_localkit.engines.http.openai import (
    CHAT_PATH,
    COMPLETIONS_PATH,
    REASONING_FIELDS,
    ChatStreamReader,
    TextStreamReader,
    chat_chunks,
)
from langchain_localkit.engines.http.server import ServerInfo, token_ids, tokenize_request
from langchain_localkit.engines.http.servers import (
    PRESETS,
    PROBES,
    ServerPreset,
    classify,
    context_length,
    model_ids,
    preset,
)
from langchain_localkit.engines.http.transport import (
    Call,
    Flow,
    HttpTransport,
    ServerKind,
    TransportOptions,
)

ChatItem = TextDelta | ReasoningDelta | ToolCallDelta | GenerationInfo
"""What `chat` yields: deltas in order, then one `GenerationInfo`."""

_Reader = ChatStreamReader | TextStreamReader


def _text_reader(model_name: str | None) -> TextStreamReader:
    return TextStreamReader(started=time.perf_counter(), model_name=model_name)


AUTO_HINT = (
    "start one (e.g. `llama-server -m model.gguf --jinja`, `vllm serve <model>`, LM Studio's "
    "`lms server start`, `ollama serve`)"
)


def split_base_url(base_url: str) -> str:
    """The server's root address: `base_url` without a trailing `/` or `/v1`.

    Users paste the address they give `ChatOpenAI` (`http://localhost:1234/v1`); the engine
    adds `/v1/...` itself and reaches non-`/v1` endpoints (`/props`, `/tokenize`) from the root.

    Example:
        >>> split_base_url("http://localhost:8000/v1/")
        'http://localhost:8000'
    """
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def server_kind(p: ServerPreset | None) -> ServerKind:
    """The transport's declaration of a preset (None: not known yet)."""
    if p is None:
        return ServerKind("OpenAI-compatible server", AUTO_HINT, "/v1/models")
    health = "/health" if p.name in ("llama.cpp", "llamafile", "vllm") else "/v1/models"
    return ServerKind(p.title, f"start one with `{p.start}`", health)


@dataclass(frozen=True)
class ServerFacts:
    """What was learned about the server on first use.

    Attributes:
        preset: What it honours (the named preset, or the detected one, with `server_options`).
        models: The model ids of `GET /v1/models` (empty when it has none).
        context_length: The context window, where the server says.
        detected_by: How the preset was chosen ("given", "owned_by", "Server header",
            "/props", a probed endpoint, or "default" when nothing said).
        props: llama.cpp's `/props`, on a llama.cpp server.
    """

    preset: ServerPreset
    models: tuple[str, ...] = ()
    context_length: int | None = None
    detected_by: str = "given"
    props: ServerInfo | None = field(default=None, repr=False)

    def model_for(self, model: str | None) -> str | None:
        """The model to ask for: `model`, else the server's first (None when it lists none)."""
        return model or (self.models[0] if self.models else None)


class OpenAICompatEngine(Engine):
    """A client of one OpenAI-compatible server, with pooled sync and async connections.

    Construction does no I/O. Each exchange exists once as a sans-IO flow; a sync method
    drives it with blocking I/O, its `a` twin with asyncio. Streams are closed when their
    consumer stops, which makes the server stop generating.

    Args:
        base_url: The server's address, with or without `/v1`.
        server: A preset name ("vllm", "lmstudio", "llama.cpp", ... see `PRESETS`), a
            `ServerPreset`, or "auto" to detect it on first use.
        server_options: Preset fields to override (e.g. `{"tools": False}`).
        kind: The transport's declaration (default: the preset's).
        **options: Connection settings, as `HttpTransport` takes them.
    """

    supports_grammar: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = True

    def __init__(
        self,
        base_url: str,
        *,
        server: str | ServerPreset = "auto",
        server_options: Mapping[str, Any] | None = None,
        kind: ServerKind | None = None,
        **options: Unpack[TransportOptions],
    ) -> None:
        given = server if isinstance(server, ServerPreset) else None
        if isinstance(server, str) and server.strip().lower() != "auto":
            given = preset(server)
        self.given = given
        self.server_options = dict(server_options or {})
        if given is not None:
            given.replace(**self.server_options)  # unknown options fail here, before any I/O
        self._kind = kind
        self.transport = HttpTransport(
            split_base_url(base_url), kind or server_kind(given), **options
        )
        self._facts: ServerFacts | None = None
        self._info: ServerInfo | None = None
        self.no_format = False
        """Set when the server refused `response_format` for its model (chat faces then
        constrain structured output with a grammar)."""

    @property
    def base_url(self) -> str:
        """The server's root address (no trailing `/v1`)."""
        return self.transport.base_url

    @property
    def client(self) -> httpx.Client:
        """The shared synchronous httpx client (created on first use)."""
        return self.transport.client

    def close(self) -> None:
        """Close the synchronous client (async clients close with `aclose`)."""
        self.transport.close()

    async def aclose(self) -> None:
        """Close the async client of the running loop, and the synchronous one."""
        await self.transport.aclose()

    def facts(self, *, refresh: bool = False) -> ServerFacts:
        """What the server is and serves (asked once, then kept; `refresh=True` asks again)."""
        return self.transport.run(self._facts_flow(refresh))

    async def afacts(self, *, refresh: bool = False) -> ServerFacts:
        """The async `facts`."""
        return await self.transport.arun(self._facts_flow(refresh))

    def stream_chat(self, body: Mapping[str, Any]) -> Generator[dict[str, Any], None, None]:
        """Stream `POST /v1/chat/completions`: the chunks as dicts."""
        return self._chunks(CHAT_PATH, body)

    def astream_chat(self, body: Mapping[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """The async `stream_chat`."""
        return self._achunks(CHAT_PATH, body)

    def stream_text(self, body: Mapping[str, Any]) -> Generator[dict[str, Any], None, None]:
        """Stream `POST /v1/completions`: the chunks as dicts."""
        return self._chunks(COMPLETIONS_PATH, body)

    def astream_text(self, body: Mapping[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """The async `stream_text`."""
        return self._achunks(COMPLETIONS_PATH, body)

    def chat(
        self, body: Mapping[str, Any], model_name: str | None = None
    ) -> Generator[ChatItem, None, None]:
        """Stream a chat reply: text, reasoning and tool-call deltas, then its `GenerationInfo`.

        Args:
            body: The request (`engines.http.openai.chat_request`).
            model_name: The name to report; None takes the one the server sends.
        """
        return self._read(self.stream_chat(body), lambda: self._chat_reader(model_name))

    def achat(
        self, body: Mapping[str, Any], model_name: str | None = None
    ) -> AsyncGenerator[ChatItem, None]:
        """The async `chat`."""
        return self._aread(self.astream_chat(body), lambda: self._chat_reader(model_name))

    def text(
        self, body: Mapping[str, Any], model_name: str | None = None
    ) -> Generator[str | GenerationInfo, None, None]:
        """Stream `POST /v1/completions`: text deltas, then one `GenerationInfo`."""
        return self._read(self.stream_text(body), lambda: _text_reader(model_name))

    def atext(
        self, body: Mapping[str, Any], model_name: str | None = None
    ) -> AsyncGenerator[str | GenerationInfo, None]:
        """The async `text`."""
        return self._aread(self.astream_text(body), lambda: _text_reader(model_name))

    def _chunks(self, path: str, body: Mapping[str, Any]) -> Generator[dict[str, Any], None, None]:
        for event in self.transport.stream_events(path, body):
            yield from chat_chunks(event)

    async def _achunks(
        self, path: str, body: Mapping[str, Any]
    ) -> AsyncGenerator[dict[str, Any], None]:
        async for event in self.transport.astream_events(path, body):
            for chunk in chat_chunks(event):
                yield chunk

    def _read(
        self, chunks: Generator[dict[str, Any], None, None], reader: Callable[[], _Reader]
    ) -> Generator[Any, None, None]:
        """What a reader makes of a stream's chunks, then its `GenerationInfo`."""
        read = reader()  # its clock starts as the request goes out
        with contextlib.closing(chunks):
            for chunk in chunks:
                yield from read.feed(chunk)
        yield self._finished(read)

    async def _aread(
        self, chunks: AsyncGenerator[dict[str, Any], None], reader: Callable[[], _Reader]
    ) -> AsyncGenerator[Any, None]:
        """The async `_read`."""
        read = reader()
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                for item in read.feed(chunk):
                    yield item
        yield self._finished(read)

    def _finished(self, read: _Reader) -> GenerationInfo:
        """How the reply ended; a stream that stopped without saying so was cut off.

        Every OpenAI-compatible server ends a reply with a `finish_reason`; a stream that
        ends without one (a crash behind a proxy, a server that closed it cleanly while
        dying, something else on the port) is not a whole reply.

        Raises:
            ServerDisconnectedError: The stream ended without a `finish_reason`.
        """
        if read.finish_reason is None:
            got = f"after {read.deltas} pieces of text" if read.deltas else "before any text"
            raise ServerDisconnectedError(
                f"The stream from {self.base_url} ended {got}, with no finish reason, so the "
                "reply was cut off: the server may have crashed or been stopped mid-reply (or "
                "a proxy cut the stream); check its log and restart it."
            )
        return read.finish()

    def _chat_reader(self, model_name: str | None) -> ChatStreamReader:
        fields = self._facts.preset.reasoning_fields if self._facts else REASONING_FIELDS
        return ChatStreamReader(
            started=time.perf_counter(), model_name=model_name, reasoning_fields=fields
        )

    def embed(self, texts: Sequence[str], model: str | None = None) -> list[list[float]]:
        """One vector per text, as the server computes it (`POST /v1/embeddings`)."""
        return self.transport.run(self._embed_flow(texts, model))

    async def aembed(self, texts: Sequence[str], model: str | None = None) -> list[list[float]]:
        """The async `embed`."""
        return await self.transport.arun(self._embed_flow(texts, model))

    def tokenize(self, text: str, model: str | None = None) -> list[int]:
        """Token ids of `text` in the server's vocabulary (llama.cpp's and vLLM's `/tokenize`).

        Raises:
            NotImplementedError: The server has no tokenizer endpoint.
        """
        return self.transport.run(self._tokenize_flow(text, model))

    async def atokenize(self, text: str, model: str | None = None) -> list[int]:
        """The async `tokenize`."""
        return await self.transport.arun(self._tokenize_flow(text, model))

    def _facts_flow(self, refresh: bool) -> Flow[ServerFacts]:
        if self._facts is not None and not refresh:
            return self._facts
        response = yield from self._optional(Call("GET", "/v1/models"))
        models = body_of(response) if response is not None else {}
        detected_by = "given"
        name = self.given.name if self.given is not None else None
        if name is None:
            name, detected_by = classify(models), "owned_by"
        if name is None:
            headers = dict(response.headers) if response is not None else {}
            name = classify(None, headers)
            detected_by = "Server header" if name else "default"
        if name is None:
            for path, key, kind in PROBES:
                answer = yield from self._optional(Call("GET", path))
                data = body_of(answer) if answer is not None else None
                if isinstance(data, Mapping) and key in data:
                    name, detected_by = kind, path
                    break
        props = None
        if name in ("llama.cpp", "llamafile"):
            props = yield from self._props_flow(refresh)
            if self.given is None and props is not None and props.legacy:
                name, detected_by = "llamafile", "/props"
        base = self.given or PRESETS[name or "generic"]
        caps = props.raw.get("chat_template_caps") if props is not None else None
        if isinstance(caps, Mapping) and "supports_tool_calls" in caps:
            # llama-server ignores `tools` when the model's template has no tool format
            base = base.replace(tools=base.tools and bool(caps["supports_tool_calls"]))
        chosen = base.replace(**self.server_options) if self.server_options else base
        ids = model_ids(models)
        n_ctx = props.n_ctx if props is not None and props.n_ctx else context_length(models)
        self.transport.kind = self._kind or server_kind(chosen)
        self._facts = ServerFacts(chosen, ids, n_ctx, detected_by, props)
        return self._facts

    def _props_flow(self, refresh: bool) -> Flow[ServerInfo | None]:
        """llama.cpp's `/props` (None where the server has none), asked once."""
        if self._info is None or refresh:
            answer = yield from self._optional(Call("GET", "/props"))
            data = body_of(answer) if answer is not None else None
            if isinstance(data, Mapping):
                self._info = ServerInfo.from_props(data)
        return self._info

    def _llama_tokenize_flow(self, text: str, add_special: bool = False) -> Flow[list[int]]:
        body = tokenize_request(text, add_special=add_special)
        return token_ids((yield from self.transport.fetch("POST", "/tokenize", body)))

    def _optional(self, call: Call) -> Flow[httpx.Response | None]:
        """The response to `call`, or None where the server has no such endpoint."""
        try:
            response: httpx.Response = yield from self.transport.exchange(call)
        except ServerError as e:
            if e.status_code is not None and (400 <= e.status_code < 500 or e.status_code == 501):
                return None
            raise
        return response

    def _embed_flow(self, texts: Sequence[str], model: str | None) -> Flow[list[list[float]]]:
        facts = yield from self._facts_flow(False)
        if not facts.preset.embeddings:
            raise ValueError(
                f"{facts.preset.title} has no /v1/embeddings; serve an embedding model with "
                "another server, or pass `server_options={'embeddings': True}` if yours has it."
            )
        native = facts.preset.name in ("llama.cpp", "llamafile")
        return (
            yield from embeddings_flow(
                self.transport.fetch, texts, model=facts.model_for(model), native_fallback=native
            )
        )

    def _tokenize_flow(self, text: str, model: str | None) -> Flow[list[int]]:
        facts = yield from self._facts_flow(False)
        dialect = facts.preset.tokenize
        if dialect == "llama.cpp":
            return (yield from self._llama_tokenize_flow(text))
        if dialect != "vllm":
            raise NotImplementedError(
                f"{facts.preset.title} has no tokenizer endpoint; count tokens with the "
                "model's own tokenizer, or read `usage_metadata` after a call."
            )
        body = {"model": facts.model_for(model), "prompt": text, "add_special_tokens": False}
        return token_ids((yield from self.transport.fetch("POST", "/tokenize", body)))


__all__ = [
    "AUTO_HINT",
    "ChatItem",
    "OpenAICompatEngine",
    "ServerFacts",
    "server_kind",
    "split_base_url",
]
