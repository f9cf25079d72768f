"""`ChatOllama`: langchain-ollama's chat model, with the package's timings and errors."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_ollama import ChatOllama as _ChatOllama
from pydantic import field_validator

from langchain_localkit._core.reasoning import Reasoning, check_reasoning
from langchain_localkit._faces.profile import ModelProfiles, cached_facts
from langchain_localkit._faces.profile_build import modelfile_num_ctx, ollama_profile
from langchain_localkit._ollama import (
    CLIENT_ERRORS,
    DEFAULT_HOST,
    OllamaExtras,
    reasoning_usage,
    thoughts_in_content,
    translate,
)


def full_tag(model: str) -> str:
    """A model tag as Ollama lists it (`llama3.1` is `llama3.1:latest`)."""
    return model if ":" in model else f"{model}:latest"


@dataclass(frozen=True)
class OllamaModelFacts:
    """What Ollama says about one model (`/api/show`, and `/api/ps` once it is loaded).

    Attributes:
        show: The `/api/show` answer as Ollama sends it (`capabilities`, `model_info`,
            `parameters`, `details`).
        loaded_context: The context the server loaded the model with, if it is loaded.
    """

    show: Mapping[str, Any]
    loaded_context: int | None = None


_SHOW_KEYS = ("capabilities", "model_info", "parameters", "details")


def _shown(show: Any) -> dict[str, Any]:
    data = show.model_dump(by_alias=True) if hasattr(show, "model_dump") else dict(show)
    return {k: data.get(k) for k in _SHOW_KEYS}


def _needs_ps(shown: Mapping[str, Any]) -> bool:
    """Whether the loaded context (`/api/ps`) is worth asking: no `num_ctx` in the Modelfile."""
    return modelfile_num_ctx(shown.get("parameters")) is None


def _loaded_context(ps: Any, model: str) -> int | None:
    for entry in getattr(ps, "models", None) or ():
        if full_tag(str(entry.model or entry.name or "")) == full_tag(model):
            return entry.context_length if isinstance(entry.context_length, int) else None
    return None


class ChatOllama(ModelProfiles, OllamaExtras, _ChatOllama):
    """langchain-ollama's `ChatOllama`, unchanged, plus what every model of this package has.

    Everything `langchain_ollama.ChatOllama` does works the same (same parameters, tools,
    structured output, reasoning, images). Added:

    - `response_metadata["timings"]`: a `Timings` dict from Ollama's nanosecond durations (load,
      prompt eval, eval, total) and the time to first token measured here, so
      `TimingCallbackHandler` reports Ollama like llama.cpp; `response_metadata["usage"]` too.
    - Clear errors: `ModelNotPulledError` ("run `ollama pull llama3.1:8b`") when the server does
      not have the model, `ServerUnavailableError` when nothing answers at the host,
      `ServerDisconnectedError` when the connection drops mid-reply, `ServerError` for an
      error inside the stream.
    - `pull=True`: pull a missing model on first use, with a progress bar on stderr.
    - Reasoning, as on every face of the package (`reasoning=` field or call option): True or
      an effort level (`"low"`, `"medium"`, `"high"`: gpt-oss) sends `think` and keeps the
      thoughts in `additional_kwargs["reasoning_content"]` (`reasoning` content blocks with
      `output_version="v1"`), never in the text; False sends `think: false`; None sends no
      `think` and leaves the output as Ollama gives it. Other values are refused.
      `usage_metadata["output_token_details"]["reasoning"]` counts the thought tokens
      Ollama streamed. Earlier assistant turns send their thoughts back as Ollama's
      `thinking`, from `reasoning_content` or from `reasoning` content blocks.

    Setup:
        `pip install 'langchain-localkit[ollama]'`, and a running Ollama (`ollama serve`).
        The host is `base_url`, else `$OLLAMA_HOST`, else `http://127.0.0.1:11434`.

    Example:
        .. code-block:: python

            from langchain_localkit import ChatOllama

            chat = ChatOllama(model="llama3.1:8b", temperature=0)
            msg = chat.invoke("Who was the first man on the moon?")
            msg.usage_metadata  # {'input_tokens': 19, 'output_tokens': 12, 'total_tokens': 31}
            msg.response_metadata["timings"]["eval_tokens_per_second"]

    Profile (langchain-ollama resolves none): built without I/O from what the class can do
    (`structured_output` True: a response format is Ollama's `format`; `tool_choice` False:
    langchain-ollama ignores it) and `num_ctx` when set. After the first successful call (or
    on `resolve_profile()`) Ollama's `/api/show` fills in the rest: `tool_calling`,
    `reasoning_output` and `image_inputs` from its `capabilities`, effort levels for
    gpt-oss, and `max_input_tokens` from `num_ctx`, else the Modelfile's `num_ctx`, else the
    context the server loaded the model with (`/api/ps`); an embedding model gets
    `text_outputs` False.

    .. code-block:: python

        chat.resolve_profile()  # {'name': 'llama3.1:8b', 'tool_calling': True, ...}
    """

    reasoning: Reasoning = None
    """Thinking models: None leaves the output as Ollama gives it (no `think` sent); True keeps
    the thoughts apart (`additional_kwargs["reasoning_content"]`, `reasoning` content blocks
    with `output_version="v1"`); False sends `think: false`; "low", "medium" or "high" is the
    effort of models with levels (gpt-oss), thoughts kept apart. Also a call option:
    `invoke(..., reasoning="high")`."""

    @field_validator("reasoning", mode="before")
    @classmethod
    def _check_reasoning(cls, value: Any) -> Reasoning:
        return check_reasoning(value)

    def _profile_key(self) -> tuple[str, ...]:
        host = self.base_url or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
        return ("ollama", host.rstrip("/"), full_tag(self.model))

    def _profile_facts(self) -> OllamaModelFacts:
        client = self._client
        try:
            shown = _shown(client.show(self.model))
            ps = client.ps() if _needs_ps(shown) else None
        except CLIENT_ERRORS as e:
            raise translate(e, self.model, self._host(client)) from e
        return OllamaModelFacts(shown, _loaded_context(ps, self.model))

    async def _aprofile_facts(self) -> OllamaModelFacts:
        client = self._async_client
        try:
            shown = _shown(await client.show(self.model))
            ps = await client.ps() if _needs_ps(shown) else None
        except CLIENT_ERRORS as e:
            raise translate(e, self.model, self._host(client)) from e
        return OllamaModelFacts(shown, _loaded_context(ps, self.model))

    def _build_profile(self, facts: OllamaModelFacts | None) -> ModelProfile:
        return ollama_profile(
            facts.show if facts is not None else None,
            name=self.model,
            num_ctx=self.num_ctx,
            loaded_context=facts.loaded_context if facts is not None else None,
        )

    def _first_use_facts(self) -> OllamaModelFacts:
        return cached_facts(self._profile_key()) or self._profile_facts()

    async def _afirst_use_facts(self) -> OllamaModelFacts:
        return cached_facts(self._profile_key()) or await self._aprofile_facts()

    def _profiled(self, parts: Iterator[Any], kwargs: Mapping[str, Any]) -> Iterator[Any]:
        """The stream; after its last part, the first call resolves the profile."""
        yield from parts
        if kwargs.get("model") in (None, self.model):
            self._learn_profile(self._first_use_facts)

    async def _aprofiled(
        self, parts: AsyncIterator[Any], kwargs: Mapping[str, Any]
    ) -> AsyncIterator[Any]:
        """The async `_profiled`."""
        async with contextlib.aclosing(parts):  # type: ignore[type-var]
            async for part in parts:
                yield part
        if kwargs.get("model") in (None, self.model):
            await self._alearn_profile(self._afirst_use_facts)

    def _convert_messages_to_ollama_messages(self, messages: list[BaseMessage]) -> Sequence[Any]:
        """langchain-ollama's conversion, after moving `reasoning` blocks to `reasoning_content`.

        langchain-ollama sends `reasoning_content` back as the message's `thinking`, but drops
        (v1) or refuses (otherwise) `reasoning` content blocks; an assistant message written
        with blocks alone (stored v1 content, a message built by hand) lost its thoughts.
        """
        return super()._convert_messages_to_ollama_messages(
            [thoughts_in_content(m) if isinstance(m, AIMessage) else m for m in messages]
        )

    def _iterate_over_stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in super()._iterate_over_stream(messages, stop, **kwargs):
            yield reasoning_usage(chunk)

    async def _aiterate_over_stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in super()._aiterate_over_stream(messages, stop, **kwargs):
            yield reasoning_usage(chunk)

    def _create_chat_stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> Iterator[Mapping[str, Any] | str]:
        kwargs = self._call_kwargs(kwargs)
        parent = super()._create_chat_stream
        parts = self._timed(lambda: parent(messages, stop, **kwargs), kwargs, aio=False)
        return self._profiled(parts, kwargs)

    def _acreate_chat_stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> AsyncIterator[Mapping[str, Any] | str]:
        kwargs = self._call_kwargs(kwargs)
        parent = super()._acreate_chat_stream
        parts = self._timed(lambda: parent(messages, stop, **kwargs), kwargs, aio=True)
        return self._aprofiled(parts, kwargs)


__all__ = ["ChatOllama", "OllamaModelFacts", "full_tag"]
