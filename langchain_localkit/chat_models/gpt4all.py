"""`ChatGPT4All`: a GGUF chat model in the gpt4all bindings, with best-effort tools and JSON.

gpt4all 2.8.2 ignores a GGUF's chat template (it falls back to an Alpaca format) and has no
grammar engine. Here the prompt pack renders the messages (the GGUF's own template in a Jinja
sandbox, else the detected family's format) and the bindings get the rendered text with
special-token parsing on. Tool calls and structured output are asked for in the prompt and
then parsed and checked against their JSON schemas; a reply that does not pass is retried
(`max_retries`, with the error told to the model). This is best effort: for guaranteed
schema-valid output use `ChatLlamaCpp`, whose grammar constrains decoding.

Thinking models (`reasoning=`): the switch reaches the template (`enable_thinking`), a prompt
that opens a thought gets it closed empty with `reasoning=False`, and thoughts are split out of
the reply as it streams (also out of every checked attempt, so they are never parsed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Iterator, Sequence
from typing import Any, ClassVar, Literal

from langchain_core.messages import BaseMessage
from pydantic import Field

from langchain_localkit._core.generation import (
    Done,
    Event,
    GenerationInfo,
    ReasoningDelta,
    TextDelta,
)
from langchain_localkit._core.reasoning import Reasoning, split_items
from langchain_localkit._faces.chat import ChatCall, LocalChatModel, prompt_target
from langchain_localkit._faces.checked import checked_events
from langchain_localkit._faces.profile import GGUFProfiles
from langchain_localkit._faces.profile_build import Faculties
from langchain_localkit._gpt4all import GPT4AllParams
from langchain_localkit.engines.gpt4all import GPT4AllSampling

logger = logging.getLogger(__name__)


class ChatGPT4All(GPT4AllParams, GGUFProfiles, LocalChatModel):
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

    Profile:
        `chat.profile` is read from the GGUF header while the model is built (no load):
        `max_input_tokens` is `n_ctx`, `reasoning_output` the template's thought markers.
        `tool_calling` and `tool_choice` are True: calls are asked for in the prompt, parsed,
        checked against the schemas and retried, and a forced or named choice is checked
        too. `structured_output` is False: nothing constrains decoding, so agents should
        (and, reading False, do) ask for a tool call rather than a native response format.

        .. code-block:: python

            chat.profile["max_input_tokens"], chat.profile["tool_calling"]  # (2048, True)
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
    _profile_faculties: ClassVar[Faculties] = Faculties(structured_output=False)

    _text_only: ClassVar[bool] = True
    _llm_type_name: ClassVar[str] = "gpt4all-chat"
    _identifying_fields: ClassVar[str] = "model chat_format max_tokens temp top_k top_p"

    def _profile_path(self) -> str:
        return self.model

    def _profile_context(self, trained: int | None) -> int | None:
        return self.n_ctx  # the bindings load what is asked, past the trained context too

    def render(self, messages: Sequence[BaseMessage], *, reasoning: Reasoning = None) -> Any:
        """Render `messages` in this model's prompt format (a `RenderedPrompt`).

        `reasoning` (True, False or an effort level) reaches the template as the variables
        thinking templates read (`enable_thinking`, `reasoning_effort`).
        """
        from langchain_localkit.prompts import render_chat
        from langchain_localkit.prompts.thinking import thinking_variables

        target = prompt_target(self.chat_template, self.chat_format, self.model)
        return render_chat(
            list(messages),
            target,
            guard=self.guard,
            template_kwargs=thinking_variables(reasoning),
        )

    def _prompt(
        self, messages: Sequence[BaseMessage], reasoning: Reasoning = None
    ) -> tuple[str, tuple[str, ...]]:
        """The text for the bindings (which add BOS themselves) and the format's stops."""
        from langchain_localkit.prompts import get_family

        rendered = self.render(messages, reasoning=reasoning)
        text = rendered.prompt
        if rendered.bos_included and rendered.family:
            bos = get_family(rendered.family).bos
            if bos and text.startswith(bos):
                text = text[len(bos) :]
        return text, tuple(rendered.stop)

    def _thinking(self, prompt: str, reasoning: Reasoning, *, constrained: bool) -> Any:
        """How the reply to `prompt` treats thoughts (a `ThinkingPlan`)."""
        from langchain_localkit.prompts.thinking import plan_thinking, thought_format_of

        fmt = None
        if reasoning is not None or constrained:  # else nothing is split: no lookup
            fmt = thought_format_of(prompt_target(self.chat_template, self.chat_format, self.model))
        return plan_thinking(prompt, fmt, reasoning, constrained=constrained)

    def _decode(
        self,
        messages: Sequence[BaseMessage],
        params: GPT4AllSampling,
        cancel: Any,
        *,
        reasoning: Reasoning = None,
        constrained: bool = False,
    ) -> Iterator[TextDelta | ReasoningDelta | GenerationInfo]:
        """One reply, its thoughts split out as the call's `reasoning` says."""
        text, stops = self._prompt(messages, reasoning)
        thinking = self._thinking(text, reasoning, constrained=constrained)
        merged = (*params.stop, *(s for s in stops if s not in params.stop))
        params = GPT4AllSampling(**{**params.__dict__, "stop": merged})
        items = self.engine.stream(thinking.prompt, params, special=True, cancel=cancel)
        yield from split_items(items, thinking.splitter())

    def _events(
        self, call: ChatCall, cancel: threading.Event | None = None
    ) -> Generator[Event, None, None]:
        """Free text; or, with tools or a response format, one checked `Reply` (retried).

        A reply that does not parse or does not match its schema is asked for again, with
        the problem told to the model, up to `max_retries` times. A thinking model's thoughts
        are split out of every attempt (shown as they come, never parsed as the reply).
        """
        params = self._sampling(call.stop, call.options)
        if not call.constrained:
            decoded = self._decode(call.prompt_messages(), params, cancel, reasoning=call.reasoning)
            for item in decoded:
                yield Done((item,)) if isinstance(item, GenerationInfo) else item
            return

        def attempt(
            messages: Sequence[BaseMessage], _: int
        ) -> Iterator[str | ReasoningDelta | GenerationInfo]:
            decoded = self._decode(
                messages, params, cancel, reasoning=call.reasoning, constrained=True
            )
            for item in decoded:
                yield item.text if isinstance(item, TextDelta) else item

        yield from checked_events(call, attempt, max_retries=self.max_retries, label=self.model)


__all__ = ["ChatGPT4All"]
