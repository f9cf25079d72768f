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

from collections.abc import Iterable
from typing import Self

from langchain_localkit.testing.loopback import HOST, ScriptedServer
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


class OpenAICompatServer(ScriptedServer[Reply]):
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
        self.loaded: set[str] = set()
        super().__init__(make_handler, host, port)
        self.requests: list[Request] = []

    @property
    def model(self) -> str:
        """The first model (the one tests use by default)."""
        return self.models[0]

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
        self._queue(model, path, (Reply(text=r) if isinstance(r, str) else r for r in replies))
        return self

    def next_reply(self, path: str, model: str) -> Reply:
        """The first queued reply for this model and path, else `Reply()` (the default answer)."""
        return self._take(model, path) or Reply()

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
