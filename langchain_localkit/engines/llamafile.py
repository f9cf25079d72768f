"""The llamafile / llama.cpp server engine: HTTP with httpx, sync and async, SSE streaming.

A llamafile is one executable holding a model and llama.cpp's HTTP server
(`./model.llamafile --server --nobrowser` listens on `http://localhost:8080`); llama.cpp's own
`llama-server` speaks the same API. This module talks to either. Nothing LangChain-specific
lives here: the faces (`Llamafile`, `ChatLlamafile`, `LlamafileEmbeddings`) build request
bodies in the server's own field names and turn what comes back into LangChain objects.

`LlamafileEngine` composes the pieces of `engines.http`: the transport (connections, retries,
the wait while the model loads, typed errors, Server-Sent Events) and the protocols.

Endpoints used:
    - `POST /completion` (native): text deltas over Server-Sent Events, then one final event
      with `timings`, `stop_type`, `stopping_word`, `tokens_predicted`, `tokens_evaluated`,
      `tokens_cached`. Accepts `grammar` (GBNF) on every server version and `json_schema` on
      llama.cpp servers (llamafile's older server has only `grammar`).
    - `POST /v1/chat/completions` (OpenAI-compatible): the server renders its own chat
      template; `tools` and `response_format` on llama.cpp servers only.
    - `GET /health`, `GET /props` (chat template, context size, model path), `POST /tokenize`,
      `POST /v1/embeddings` with a fallback to `POST /embedding`.

Example:
    >>> engine = LlamafileEngine("http://127.0.0.1:8080")
    >>> for item in engine.stream_completion({"prompt": "Hi", "n_predict": 8}):  # doctest: +SKIP
    ...     print(item)
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from typing import Any, Unpack

from langchain_localkit._core.errors import ServerDisconnectedError, ServerTimeoutError
from langchain_localkit._core.generation import GenerationInfo
from langchain_localkit.engines.http.completion import (
    CompletionStreamReader,
    completion_result,
    for_server,
    generation_from_final,
)
from langchain_localkit.engines.http.embeddings import embeddings_flow
from langchain_localkit.engines.http.server import (
    ServerInfo,
    display_model_name,
)
from langchain_localkit.engines.http.transport import (
    Flow,
    ServerKind,
    TransportOptions,
)
from langchain_localkit.engines.openai_compat import OpenAICompatEngine

DEFAULT_BASE_URL = "http://localhost:8080"
"""Where a llamafile listens by default (`./model.llamafile --server --nobrowser`)."""

START_HINT = (
    "start one with `./model.llamafile --server --nobrowser` "
    "(or `llama-server -m model.gguf --port 8080`)"
)

LLAMAFILE_SERVER = ServerKind("llamafile / llama.cpp server", START_HINT)


class LlamafileEngine(OpenAICompatEngine):
    """A client of one llamafile / llama.cpp server, with pooled sync and async connections.

    The OpenAI-compatible engine with the llama.cpp preset (its `/v1` endpoints: `chat`,
    `text`, `facts`), plus the server's native endpoints. Construction does no I/O. Each call
    exists once as a sans-IO flow (see `engines.http.transport`); a sync method drives it with
    blocking I/O, its `a` twin with asyncio. Streams are closed when their consumer stops,
    which makes the server stop generating.

    Args:
        base_url: The server's address.
        **options: Connection settings, as `HttpTransport` takes them: `timeout`,
            `connect_timeout`, `load_timeout` (how long to wait while the model loads),
            `api_key` (the server's `--api-key`), `headers`, `client_kwargs`,
            `async_client_kwargs`.

    Example:
        >>> engine = LlamafileEngine()  # no I/O yet
        >>> engine.base_url
        'http://localhost:8080'
    """

    def __init__(
        self, base_url: str = DEFAULT_BASE_URL, **options: Unpack[TransportOptions]
    ) -> None:
        super().__init__(base_url, server="llama.cpp", kind=LLAMAFILE_SERVER, **options)
        self._bos_id: int | bool | None = False  # False: not looked up yet

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One JSON request; waits while the model loads; maps errors to typed ones.

        Args:
            method: "GET" or "POST".
            path: The endpoint, e.g. "/props".
            body: The JSON body (POST).

        Returns:
            The decoded JSON answer.
        """
        return self.transport.run(self.transport.fetch(method, path, body))

    async def arequest(self, method: str, path: str, body: Any = None) -> Any:
        """The async `request`."""
        return await self.transport.arun(self.transport.fetch(method, path, body))

    def stream_events(self, path: str, body: Mapping[str, Any]) -> Generator[Any, None, None]:
        """POST `body` and yield the JSON of each Server-Sent Event until the stream ends."""
        return self.transport.stream_events(path, body)

    def astream_events(self, path: str, body: Mapping[str, Any]) -> AsyncGenerator[Any, None]:
        """The async `stream_events`; cancelling the consuming task closes the connection."""
        return self.transport.astream_events(path, body)

    def health(self) -> dict[str, Any]:
        """`GET /health` (waits while the model loads)."""
        return dict(self.request("GET", "/health") or {})

    def info(self, *, refresh: bool = False) -> ServerInfo:
        """What `/props` says (fetched once, then cached; `refresh=True` asks again)."""
        return self.transport.run(self._info_flow(refresh))

    async def ainfo(self, *, refresh: bool = False) -> ServerInfo:
        """The async `info`."""
        return await self.transport.arun(self._info_flow(refresh))

    def tokenize(
        self, text: str, model: str | None = None, *, add_special: bool = False
    ) -> list[int]:
        """Token ids of `text` in the server's vocabulary (`POST /tokenize`).

        Args:
            text: The text; special tokens written as text (e.g. `<|im_start|>`) are parsed.
            model: Unused (the server has one model).
            add_special: Add BOS (and other special tokens) as for a prompt.
        """
        return self.transport.run(self._llama_tokenize_flow(text, add_special))

    async def atokenize(
        self, text: str, model: str | None = None, *, add_special: bool = False
    ) -> list[int]:
        """The async `tokenize`."""
        return await self.transport.arun(self._llama_tokenize_flow(text, add_special))

    def bos_token_id(self) -> int | None:
        """The BOS token's id (from `/props` and `/tokenize`, looked up once), or None."""
        return self.transport.run(self._bos_flow())

    async def abos_token_id(self) -> int | None:
        """The async `bos_token_id`."""
        return await self.transport.arun(self._bos_flow())

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
        reader = CompletionStreamReader(self.base_url, model_name=model_name)
        body = self.transport.run(self._completion_body(body, stream=True))
        for event in self.transport.stream_events("/completion", body):
            yield from reader.feed(event)
        yield reader.finish()

    async def astream_completion(
        self, body: Mapping[str, Any], *, model_name: str = ""
    ) -> AsyncGenerator[str | GenerationInfo, None]:
        """The async `stream_completion`."""
        reader = CompletionStreamReader(self.base_url, model_name=model_name)
        body = await self.transport.arun(self._completion_body(body, stream=True))
        async for event in self.transport.astream_events("/completion", body):
            for text in reader.feed(event):
                yield text
        yield reader.finish()

    def complete(
        self, body: Mapping[str, Any], *, model_name: str = ""
    ) -> tuple[str, GenerationInfo]:
        """`POST /completion` without streaming: the text and its `GenerationInfo`."""
        return self.transport.run(self._complete_flow(body, model_name))

    async def acomplete(
        self, body: Mapping[str, Any], *, model_name: str = ""
    ) -> tuple[str, GenerationInfo]:
        """The async `complete`."""
        return await self.transport.arun(self._complete_flow(body, model_name))

    def embed(self, texts: Sequence[str], model: str | None = None) -> list[list[float]]:
        """One vector per text, as the server computes it (not normalised here).

        Uses `POST /v1/embeddings` (one request for all texts); falls back to
        `POST /embedding` where that is missing or refused (llamafile's older server, or a
        server started with `--pooling none`, whose token vectors are then mean-pooled).
        """
        return self.transport.run(embeddings_flow(self.transport.fetch, texts))

    async def aembed(self, texts: Sequence[str], model: str | None = None) -> list[list[float]]:
        """The async `embed`."""
        return await self.transport.arun(embeddings_flow(self.transport.fetch, texts))

    def _info_flow(self, refresh: bool) -> Flow[ServerInfo]:
        # the `/props` cache `facts()` shares; here the server must have the endpoint
        if self._info is None or refresh:
            props = yield from self.transport.fetch("GET", "/props")
            self._info = ServerInfo.from_props(props or {})
        return self._info

    def _bos_flow(self) -> Flow[int | None]:
        if self._bos_id is False:
            info = yield from self._info_flow(False)
            bos = info.bos_token
            ids = (yield from self._llama_tokenize_flow(bos, False)) if bos else []
            self._bos_id = ids[0] if len(ids) == 1 else None
        return self._bos_id if isinstance(self._bos_id, int) else None

    def _completion_body(self, body: Mapping[str, Any], *, stream: bool) -> Flow[dict[str, Any]]:
        if "json_schema" in body:
            body = for_server(body, (yield from self._info_flow(False)))
        return {**body, "stream": stream}

    def _complete_flow(
        self, body: Mapping[str, Any], model_name: str
    ) -> Flow[tuple[str, GenerationInfo]]:
        body = yield from self._completion_body(body, stream=False)
        started = time.perf_counter()
        result = yield from self.transport.fetch("POST", "/completion", body)
        return completion_result(result, url=self.base_url, model_name=model_name, started=started)


__all__ = [
    "DEFAULT_BASE_URL",
    "LLAMAFILE_SERVER",
    "LlamafileEngine",
    "START_HINT",
    "ServerDisconnectedError",
    "ServerInfo",
    "ServerTimeoutError",
    "display_model_name",
    "for_server",
    "generation_from_final",
]
