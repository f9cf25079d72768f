"""An Ollama stand-in on loopback that replays API transcripts, for tests without Ollama.

`OllamaTranscriptServer` is a real HTTP server (127.0.0.1, a free port, one thread per
connection) that answers the Ollama REST API the way Ollama does, field for field, so the real
`ollama` client and langchain-ollama code run unmodified against it.

The shapes, and where they come from, are in `ollama_transcript`; `ollama_routes` answers each
request.

Endpoints:

- `POST /api/generate` and `POST /api/chat`: NDJSON streams (`application/x-ndjson`), one
  object per token (`response` / `message.content`), reasoning first, one token per object
  in `thinking` (unless `think: false` turns it off), tool calls in a
  `done: false` object, a final `done: true` object with `done_reason` and the metrics in
  nanoseconds (`total_duration`, `load_duration`, `prompt_eval_count`,
  `prompt_eval_duration`, `eval_count`, `eval_duration`; `/api/generate` adds `context`
  unless `raw`); `"stream": false` gives one `application/json` object. An empty prompt (or
  empty `messages`) loads the model (`done_reason: "load"`), with `keep_alive: 0` unloads it.
- `POST /api/embed`, `GET /api/tags`, `POST /api/show`, `POST /api/pull` (progress objects
  ending in `{"status": "success"}`), `GET /api/ps` (the models used and not unloaded),
  `GET /api/version`, `GET /` and `HEAD /`.

What the model "says" is scripted: queue `Reply`s with `reply()`, for any request or only for
one model and/or endpoint; without one, a fixed answer (or, for a `format` JSON schema, a
small instance of the schema). Stop strings (`options.stop`) and `options.num_predict` are
honoured as Ollama does. Token counts are whitespace-led words; durations are fixed per token,
so figures are deterministic. Faults are scripted too: `Reply(error_after=n)` sends an
`{"error": ...}` line after `n` tokens (`n=0`: an HTTP error status instead, as Ollama does
before any output), `Reply(drop_after=n)` closes the connection mid-reply. Every request is
recorded in `requests` (method, path, JSON body) for assertions.

Example:
    >>> from langchain_localkit.testing.ollama_server import OllamaTranscriptServer
    >>> with OllamaTranscriptServer() as server:  # doctest: +SKIP
    ...     from langchain_localkit import ChatOllama
    ...
    ...     server.reply("Neil Armstrong.")
    ...     ChatOllama(model=server.model, base_url=server.url).invoke("Who?").content
    'Neil Armstrong.'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Self

from langchain_localkit.testing.loopback import HOST, ScriptedServer
from langchain_localkit.testing.ollama_routes import make_handler
from langchain_localkit.testing.ollama_transcript import (
    DEFAULT_ANSWER,
    DEFAULT_MODEL,
    EVAL_NS_PER_TOKEN,
    LOAD_NS,
    MODEL_PATHS,
    PROMPT_NS_PER_TOKEN,
    VERSION,
    Reply,
    Request,
    embedding,
    example_of,
    full_name,
    pieces,
)


class OllamaTranscriptServer(ScriptedServer[Reply]):
    """A loopback HTTP server that answers like Ollama (see the module docstring).

    Args:
        models: The models the server "has" (`/api/tags`); others get Ollama's 404.
        pullable: Models `/api/pull` can fetch (None: any name).
        embedding_dim: Length of the `/api/embed` vectors.
        host: The address to listen on (loopback).
        port: The port (0: a free one).

    Attributes:
        requests: Every request received, in order.
        loaded: The models "in memory" (`/api/ps`): used since the start and not unloaded.
        shown: Fields to change in a model's `/api/show` answer, by full name, e.g.
            `{"llama3.1:8b": {"parameters": "num_ctx 8192"}}` (a Modelfile's `num_ctx`).
    """

    def __init__(
        self,
        models: Iterable[str] = (DEFAULT_MODEL, "nomic-embed-text:latest"),
        *,
        pullable: Iterable[str] | None = None,
        embedding_dim: int = 32,
        host: str = HOST,
        port: int = 0,
    ) -> None:
        self.models: list[str] = [full_name(m) for m in models]
        self.pullable = None if pullable is None else {full_name(m) for m in pullable}
        self.embedding_dim = embedding_dim
        self.loaded: dict[str, int] = {}
        self.shown: dict[str, dict[str, Any]] = {}
        super().__init__(make_handler, host, port)
        self.requests: list[Request] = []

    @property
    def model(self) -> str:
        """The first model (the one tests use by default)."""
        return self.models[0]

    def reply(
        self, *replies: Reply | str, model: str | None = None, path: str | None = None
    ) -> Self:
        """Queue answers for the next generate/chat requests (a string is `Reply(text=...)`).

        Args:
            *replies: The answers, used once each, in order.
            model: Only for requests to this model (`"llama3.1:8b"`; no tag means `latest`).
            path: Only for this endpoint (`"/api/chat"` or `"/api/generate"`).

        Returns:
            The server, so calls chain.
        """
        if path is not None and path not in MODEL_PATHS:
            raise ValueError(f"replies are for {' or '.join(MODEL_PATHS)}, not {path!r}")
        name = full_name(model) if model is not None else None
        self._queue(name, path, (Reply(text=r) if isinstance(r, str) else r for r in replies))
        return self

    def next_reply(self, body: Mapping[str, Any], path: str) -> Reply:
        """The answer to a generate/chat request: the first queued reply for its model and path.

        Without one, the default: a small instance of a `format` JSON schema, a JSON object for
        `format: "json"`, else `DEFAULT_ANSWER`.
        """
        queued = self._take(full_name(str(body.get("model") or "")), path)
        if queued is not None:
            return queued
        fmt = body.get("format")
        if isinstance(fmt, dict):
            return Reply(text=json.dumps(example_of(fmt)))
        if fmt == "json":
            return Reply(text='{"answer": "Neil Armstrong"}')
        return Reply(text=DEFAULT_ANSWER)

    def embed(self, text: str) -> list[float]:
        """The stand-in's embedding: hashed words, L2-normalised (texts sharing words are close)."""
        return embedding(text, self.embedding_dim)


__all__ = [
    "DEFAULT_ANSWER",
    "DEFAULT_MODEL",
    "EVAL_NS_PER_TOKEN",
    "LOAD_NS",
    "PROMPT_NS_PER_TOKEN",
    "VERSION",
    "OllamaTranscriptServer",
    "Reply",
    "Request",
    "example_of",
    "pieces",
]
