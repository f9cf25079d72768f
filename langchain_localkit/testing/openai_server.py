"""A vLLM or LM Studio stand-in on loopback, for tests of OpenAI-compatible clients without one.

`OpenAICompatServer` is a real HTTP server (127.0.0.1, a free port, one thread per connection)
that answers the OpenAI-compatible API the way vLLM or LM Studio does, field for field, so the
real `openai` client (and anything built on it) runs unmodified against it.

The shapes, and where they come from, are in `openai_transcript`; `openai_routes` answers each
request.

Endpoints (both flavours unless said):

- `GET /v1/models`: vLLM's model cards (`owned_by: "vllm"`, `root`, `max_model_len`,
  `permission`), LM Studio's short entries (`owned_by: "organization_owner"`). vLLM also has
  `GET /health` (200, empty) and `GET /version`; LM Studio `GET /api/v0/models` (`type`,
  `arch`, `state`, `max_context_length`, ...).
- `POST /v1/chat/completions`: one `chat.completion`, or SSE `chat.completion.chunk`s (vLLM: a
  first `{"role": "assistant", "content": ""}` delta; LM Studio: `role` in every delta and
  `system_fingerprint`), one chunk per token, reasoning first (vLLM `reasoning`, LM Studio
  `reasoning_content`), tool-call deltas (the call's head, then argument pieces), a chunk
  with `finish_reason`, with `stream_options.include_usage` a `choices: []` chunk with
  `usage`, then `data: [DONE]`. Honours `max_tokens` / `max_completion_tokens` (`length`),
  `stop` (cut, not returned; vLLM reports it in `stop_reason`), `response_format`
  (`json_schema`: a small instance of the schema; `json_object`: vLLM answers a JSON object,
  LM Studio refuses with its 400), `tools` and `tool_choice` (`required` or a named tool
  without a scripted call: a call with example arguments; `none`: no calls).
- `POST /v1/completions` (`text_completion`, streamed or not) and `POST /v1/embeddings`
  (deterministic hashed-word vectors; LM Studio reports zero usage, as its docs show).
- Errors in each flavour's shape: an unknown model (vLLM 404 `NotFoundError`, LM Studio 400
  `model_not_found`), a prompt over `max_model_len` (vLLM's `_validate_input` messages, LM
  Studio's context message), and scripted ones (`Reply.error`, `error_after`, `drop_after`).

Every request is recorded in `requests` (method, path, JSON body, headers) for assertions.

Example:
    >>> from langchain_localkit.testing.openai_server import OpenAICompatServer, Reply
    >>> with OpenAICompatServer("vllm") as server:  # doctest: +SKIP
    ...     import openai
    ...
    ...     server.reply(Reply(text="Neil Armstrong."))
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="x")
    ...     out = client.chat.completions.create(
    ...         model=server.model, messages=[{"role": "user", "content": "Who?"}]
    ...     )
    ...     out.choices[0].message.content
    'Neil Armstrong.'
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from http.server import ThreadingHTTPServer
from typing import Self

from langchain_localkit.testing.loopback import HOST, LoopbackServer
from langchain_localkit.testing.ollama_transcript import embedding
from langchain_localkit.testing.openai_routes import make_handler
from langchain_localkit.testing.openai_transcript import (
    DEFAULT_ANSWER,
    DEFAULT_MODEL,
    FLAVORS,
    REASONING_FIELD,
    VLLM_VERSION,
    Flavor,
    Reply,
    Request,
)

REPLY_PATHS = ("/v1/chat/completions", "/v1/completions")
"""The endpoints whose answers are scripted `Reply`s."""


class OpenAICompatServer(LoopbackServer):
    """A loopback HTTP server that answers like vLLM or LM Studio (see the module docstring).

    Args:
        flavor: `"vllm"` or `"lmstudio"`: whose shapes, errors and extra endpoints to serve.
        models: The models the server has (the first is the default of a request without one).
        max_model_len: The context length: longer prompts get the flavour's context error.
        embedding_dim: Length of the `/v1/embeddings` vectors.
        reasoning_field: Where reasoning goes (None: the flavour's, `reasoning` for vLLM,
            `reasoning_content` for LM Studio; older vLLM used `reasoning_content`, LM Studio
            uses `reasoning` for gpt-oss).
        host: The address to listen on (loopback).
        port: The port (0: a free one).

    Attributes:
        requests: Every request received, in order.
        loaded: The models used since the start (LM Studio's `state: "loaded"`).
    """

    def __init__(
        self,
        flavor: Flavor = "vllm",
        models: Iterable[str] = (DEFAULT_MODEL,),
        *,
        max_model_len: int = 4096,
        embedding_dim: int = 32,
        reasoning_field: str | None = None,
        host: str = HOST,
        port: int = 0,
    ) -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {', '.join(FLAVORS)}, not {flavor!r}")
        self.flavor: Flavor = flavor
        self.models: list[str] = list(models)
        if not self.models:
            raise ValueError("the server needs at least one model")
        self.max_model_len = max_model_len
        self.embedding_dim = embedding_dim
        self.reasoning_field = reasoning_field or REASONING_FIELD[flavor]
        self.requests: list[Request] = []
        self.loaded: set[str] = set()
        self._replies: list[tuple[str | None, str | None, Reply]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def model(self) -> str:
        """The first model (the one tests use by default)."""
        return self.models[0]

    @property
    def url(self) -> str:
        """The root URL, e.g. `http://127.0.0.1:40123`."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL: `url` + `/v1`."""
        return self.url + "/v1"

    def reply(
        self, *replies: Reply | str, model: str | None = None, path: str | None = None
    ) -> Self:
        """Queue answers for the next chat/completions requests (a string is `Reply(text=...)`).

        Args:
            *replies: The answers, used once each, in order.
            model: Only for requests to this model.
            path: Only for this endpoint (`"/v1/chat/completions"` or `"/v1/completions"`).

        Returns:
            The server, so calls chain.
        """
        if path is not None and path not in REPLY_PATHS:
            raise ValueError(f"replies are for {' or '.join(REPLY_PATHS)}, not {path!r}")
        with self._lock:
            self._replies.extend(
                (model, path, Reply(text=r) if isinstance(r, str) else r) for r in replies
            )
        return self

    def pending(self) -> int:
        """How many queued replies have not been used yet."""
        with self._lock:
            return len(self._replies)

    def requests_to(self, path: str) -> list[Request]:
        """Every request to `path` (e.g. `"/v1/chat/completions"`), in order."""
        return [request for request in self.requests if request.path == path]

    def last(self, path: str) -> Request:
        """The last request to `path`."""
        for request in reversed(self.requests):
            if request.path == path:
                return request
        raise LookupError(f"no request to {path} yet")

    def start(self) -> Self:
        """Serve in a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def next_reply(self, path: str, model: str) -> Reply:
        """The first queued reply for this model and path, else `Reply()` (the default answer)."""
        with self._lock:
            for i, (only_model, only_path, reply) in enumerate(self._replies):
                if only_model in (None, model) and only_path in (None, path):
                    del self._replies[i]
                    return reply
        return Reply()

    def embed(self, text: str) -> list[float]:
        """The stand-in's embedding: hashed words, L2-normalised (texts sharing words are close)."""
        return embedding(text, self.embedding_dim)


__all__ = [
    "DEFAULT_ANSWER",
    "DEFAULT_MODEL",
    "REPLY_PATHS",
    "VLLM_VERSION",
    "OpenAICompatServer",
    "Reply",
    "Request",
]
