"""`ChatOllama`: langchain-ollama's chat model, with the package's timings and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_ollama import ChatOllama as _ChatOllama
from pydantic import field_validator

from langchain_localkit._core.reasoning import Reasoning, check_reasoning
from langchain_localkit._ollama import OllamaExtras, reasoning_usage, thoughts_in_content


class ChatOllama(OllamaExtras, _ChatOllama):
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
        return self._timed(lambda: parent(messages, stop, **kwargs), kwargs, aio=False)

    def _acreate_chat_stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> AsyncIterator[Mapping[str, Any] | str]:
        kwargs = self._call_kwargs(kwargs)
        parent = super()._acreate_chat_stream
        return self._timed(lambda: parent(messages, stop, **kwargs), kwargs, aio=True)


__all__ = ["ChatOllama"]
