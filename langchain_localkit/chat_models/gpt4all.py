"""`ChatGPT4All`: a GGUF chat model in the gpt4all bindings, with best-effort tools and JSON.

gpt4all 2.8.2 ignores a GGUF's chat template (it falls back to an Alpaca format) and has no
grammar engine. Here the prompt pack renders the messages (the GGUF's own template in a Jinja
sandbox, else the detected family's format) and the bindings get the rendered text with
special-token parsing on. Tool calls and structured output are asked for in the prompt and
then parsed and checked against their JSON schemas; a reply that does not pass is retried
(`max_retries`, with the error told to the model). This is best effort: for guaranteed
schema-valid output use `ChatLlamaCpp`, whose grammar constrains decoding.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Iterator, Sequence
from typing import Any, ClassVar, Literal

from langchain_core.messages import BaseMessage
from pydantic import Field

from langchain_localkit._core.generation import Done, Event, GenerationInfo, TextDelta
from langchain_localkit._faces.chat import ChatCall, LocalChatModel, prompt_target
from langchain_localkit._faces.checked import checked_events
from langchain_localkit._gpt4all import GPT4AllParams
from langchain_localkit.engines.gpt4all import GPT4AllSampling

logger = logging.getLogger(__name__)


class ChatGPT4All(GPT4AllParams, LocalChatModel):
    """A GGUF chat model run in-process by the gpt4all bindings (2.8.2), offline.

    Messages are rendered by the prompt pack (the bindings would ignore the GGUF's template).
    `usage_metadata` comes from the tokens the bindings count, `response_metadata["timings"]`
    from the clock around them (load, time to first token, prompt and eval). Tool calling and
    structured output are best effort, by prompt, parsing, schema check and retries; see the
    module docstring.

    Setup:
        `pip install 'langchain-localkit[gpt4all]'`

    Example:
        .. code-block:: python

            from langchain_localkit import ChatGPT4All

            chat = ChatGPT4All(model="models/qwen2-1_5b-instruct-q4_0.gguf", max_tokens=128)
            msg = chat.invoke([("system", "Be brief."), ("human", "Who was first on the moon?")])
            msg.usage_metadata, msg.response_metadata["timings"]["eval_tokens_per_second"]
    """

    chat_format: str | None = None
    """A model family ("llama3", "chatml", "gemma", "phi3", ...) instead of the detected one."""
    chat_template: str | None = None
    """A Jinja chat template to use instead of the GGUF file's own."""
    guard: Literal["escape", "strip", "allow"] = "escape"
    """What to do with a format's control strings inside message text (see `render_chat`)."""
    max_retries: int = Field(default=2, ge=0)
    """Tool calls and structured output: how often to ask again after a reply that does not
    parse or does not match the schema."""

    _json_hint_suffix: ClassVar[str] = " Reply with the JSON only."

    _llm_type_name: ClassVar[str] = "gpt4all-chat"
    _identifying_fields: ClassVar[str] = "model chat_format max_tokens temp top_k top_p"

    def render(self, messages: Sequence[BaseMessage]) -> Any:
        """Render `messages` in this model's prompt format (a `RenderedPrompt`)."""
        from langchain_localkit.prompts import render_chat

        target = prompt_target(self.chat_template, self.chat_format, self.model)
        return render_chat(list(messages), target, guard=self.guard)

    def _prompt(self, messages: Sequence[BaseMessage]) -> tuple[str, tuple[str, ...]]:
        """The text for the bindings (which add BOS themselves) and the format's stops."""
        from langchain_localkit.prompts import get_family

        rendered = self.render(messages)
        text = rendered.prompt
        if rendered.bos_included and rendered.family:
            bos = get_family(rendered.family).bos
            if bos and text.startswith(bos):
                text = text[len(bos) :]
        return text, tuple(rendered.stop)

    def _decode(
        self, messages: Sequence[BaseMessage], params: GPT4AllSampling, cancel: Any
    ) -> Iterator[str | GenerationInfo]:
        text, stops = self._prompt(messages)
        merged = (*params.stop, *(s for s in stops if s not in params.stop))
        params = GPT4AllSampling(**{**params.__dict__, "stop": merged})
        yield from self.engine.stream(text, params, special=True, cancel=cancel)

    def _events(
        self, call: ChatCall, cancel: threading.Event | None = None
    ) -> Generator[Event, None, None]:
        """Free text; or, with tools or a response format, one checked `Reply` (retried).

        A reply that does not parse or does not match its schema is asked for again, with
        the problem told to the model, up to `max_retries` times.
        """
        params = self._sampling(call.stop, call.options)
        if not (call.tools or call.response_format is not None):
            for item in self._decode(call.prompt_messages(), params, cancel):
                yield TextDelta(item) if isinstance(item, str) else Done((item,))
            return
        yield from checked_events(
            call,
            lambda messages, _: self._decode(messages, params, cancel),
            max_retries=self.max_retries,
            label=self.model,
        )


__all__ = ["ChatGPT4All"]
