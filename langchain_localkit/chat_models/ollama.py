"""`ChatOllama`: langchain-ollama's chat model, with the package's timings and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_ollama import ChatOllama as _ChatOllama

from langchain_localkit._ollama import OllamaExtras


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

    def _create_chat_stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> Iterator[Mapping[str, Any] | str]:
        parent = super()._create_chat_stream
        return self._timed(lambda: parent(messages, stop, **kwargs), kwargs, aio=False)

    def _acreate_chat_stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> AsyncIterator[Mapping[str, Any] | str]:
        parent = super()._acreate_chat_stream
        return self._timed(lambda: parent(messages, stop, **kwargs), kwargs, aio=True)


__all__ = ["ChatOllama"]
