"""`ChatLlamaCpp`: a GGUF chat model in llama.cpp, with grammar-constrained tools and output."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from langchain_core.messages import BaseMessage

from langchain_localkit._core.generation import (
    Done,
    Event,
    GenerationInfo,
    ReasoningDelta,
    ToolCallsText,
)
from langchain_localkit._core.reasoning import split_items
from langchain_localkit._core.tools import TOOL_CALL_OPEN
from langchain_localkit._faces.chat import ChatCall, LocalChatModel, prompt_target
from langchain_localkit._faces.profile import GGUFProfiles
from langchain_localkit._faces.profile_build import Faculties
from langchain_localkit._llamacpp import LlamaCppParams
from langchain_localkit.engines.gbnf import (
    any_json_gbnf,
    json_schema_to_gbnf,
    schema_grammar,
    thought_step_gbnf,
    tool_calls_gbnf,
)
from langchain_localkit.engines.llamacpp import SamplingParams
from langchain_localkit.prompts.thinking import ThinkingPlan


@dataclass
class _Plan:
    """What one chat call will run: the prompt, the sampling (grammar included), thoughts."""

    prompt: str
    params: SamplingParams
    thinking: ThinkingPlan


class ChatLlamaCpp(LlamaCppParams, GGUFProfiles, LocalChatModel):
    """A GGUF chat model run in-process by llama.cpp (through llama-cpp-python).

    Messages are rendered with the model's own chat template from its GGUF file (in a Jinja
    sandbox), or, when the file has none, with the prompt format of the detected model family
    (Gemma, Llama 2/3, ChatML, Mistral, ...). Tool calls and structured output are constrained
    by a llama.cpp grammar built from the JSON schemas, so even small models return valid,
    schema-conforming JSON. Shares the loaded model with `LlamaCpp` on the same file.

    Setup:
        `pip install 'langchain-localkit[llamacpp]'`

    Key init args:
        model_path: the `.gguf` file. chat_format: a family name ("llama3", "gemma", ...)
        overriding detection. chat_template: a Jinja template overriding the file's.
        max_tokens, temperature, top_p, top_k, repeat_penalty, seed, stop: sampling.

    Instantiate:
        .. code-block:: python

            from langchain_localkit import ChatLlamaCpp

            chat = ChatLlamaCpp(model_path="models/qwen2.5-1.5b-instruct-q4_k_m.gguf")

    Invoke:
        .. code-block:: python

            msg = chat.invoke([("system", "Be brief."), ("human", "Who was first on the moon?")])
            msg.usage_metadata  # {'input_tokens': 31, 'output_tokens': 12, 'total_tokens': 43}
            msg.response_metadata["timings"]["eval_tokens_per_second"]

    Tool calling:
        .. code-block:: python

            def get_weather(city: str) -> str:
                '''Get the weather in a city.'''
                ...


            msg = chat.bind_tools([get_weather], tool_choice="auto").invoke("Weather in Paris?")
            msg.tool_calls  # [{'name': 'get_weather', 'args': {'city': 'Paris'}, 'id': ...}]

    Structured output:
        .. code-block:: python

            from pydantic import BaseModel


            class Person(BaseModel):
                name: str
                age: int


            chat.with_structured_output(Person).invoke("Ada Lovelace was born in 1815 ...")

    Profile:
        `chat.profile` is read from the GGUF header while the model is built (no load):
        `max_input_tokens` is the context it will load with (`n_ctx`; None: the trained
        context capped at 4096; 0: the trained context), `reasoning_output` the template's
        thought markers (effort levels for Harmony), `name` the file's `general.name`. Tool
        calls and any `tool_choice` are grammar-constrained on every chat model.
        `structured_output` is False although `with_structured_output` is grammar-constrained:
        LangChain's agents read it to send `response_format` with tools bound in the same
        call, where this model answers one or the other; with False they force a
        (grammar-constrained) tool call instead. An embedding model (BERT) gets
        `text_outputs` and `tool_calling` False.

        .. code-block:: python

            chat.profile["max_input_tokens"], chat.profile["reasoning_output"]  # (4096, False)
    """

    chat_format: str | None = None
    """A model family ("llama2", "llama3", "chatml", "gemma", "mistral", "phi3", "zephyr", ...)
    whose prompt format to use instead of the detected one."""
    chat_template: str | None = None
    """A Jinja chat template to use instead of the GGUF file's own."""
    guard: Literal["escape", "strip", "allow"] = "escape"
    """What to do with a format's control strings (e.g. `<|im_end|>`) inside message text:
    escape them (default), strip them, or allow them (trusted input only)."""
    streaming: bool = False
    """Accepted for compatibility; `invoke` always decodes through the streaming path."""

    _community_name: ClassVar[str] = "ChatLlamaCpp"

    _text_only: ClassVar[bool] = True
    _llm_type_name: ClassVar[str] = "llamacpp-chat"
    _identifying_fields: ClassVar[str] = (
        "model_path chat_format max_tokens temperature top_p top_k seed"
    )

    _profile_faculties: ClassVar[Faculties] = Faculties(structured_output=False)

    def _profile_path(self) -> str:
        return self.model_path

    def _profile_context(self, trained: int | None) -> int | None:
        from langchain_localkit.engines.llamacpp_load import DEFAULT_N_CTX

        if self.n_ctx is None:  # as the engine loads it
            return min(trained or DEFAULT_N_CTX, DEFAULT_N_CTX)
        return self.n_ctx or trained

    def _check_tool_schemas(self, tools: list[dict[str, Any]]) -> None:
        """Refuse, at `bind_tools`, tools whose schemas no grammar can follow.

        Raises:
            GrammarError: A schema cannot be converted, uses keywords a grammar would drop,
                or makes a grammar llama.cpp does not parse.
        """
        _tools_grammar(tools, None, parallel=False)

    def _check_response_schema(self, schema: dict[str, Any]) -> None:
        """Refuse, at `with_structured_output`, a schema no grammar can follow.

        Raises:
            GrammarError: As for tools.
        """
        _response_format_grammar(schema)

    def render(
        self,
        messages: Sequence[BaseMessage],
        tools: Sequence[dict[str, Any]] | None = None,
        *,
        reasoning: Any = None,
    ) -> Any:
        """Render `messages` into this model's prompt format (a `RenderedPrompt`).

        `reasoning` (True, False or an effort level) reaches the template as the variables
        thinking templates read (`enable_thinking`, `reasoning_effort`).
        """
        from langchain_localkit.prompts.thinking import render_planned

        return render_planned(messages, self._target(), reasoning, guard=self.guard)[0]

    def _target(self) -> Any:
        return prompt_target(self.chat_template, self.chat_format, self.model_path)

    def _plan(self, call: ChatCall) -> _Plan:
        from langchain_localkit.prompts.thinking import render_planned

        rendered, thinking = render_planned(
            call.prompt_messages(),
            self._target(),
            call.reasoning,
            guard=self.guard,
            constrained=call.constrained,
        )
        params = self._sampling(call.stop, call.options)
        grammar = params.grammar
        if call.response_format is not None:
            grammar = _response_format_grammar(call.schema)
        params = dataclasses.replace(
            params,
            stop=(*params.stop, *(s for s in rendered.stop if s not in params.stop)),
            grammar=grammar,
            render_special=params.render_special or _marks_with_control_tokens(thinking),
        )
        return _Plan(prompt=thinking.prompt, params=params, thinking=thinking)

    def _events(
        self, call: ChatCall, cancel: threading.Event | None = None
    ) -> Generator[Event, None, None]:
        """Free text, then the tool calls under their grammar (the steps share the KV cache).

        With tools bound and the choice "auto", the text stops where a tool call opens. A
        thinking model asked for a constrained reply (forced tool calls, a response format)
        first thinks in a step of its own, within half of `max_tokens` (past it the thought
        is closed for it), then answers under the grammar.
        """
        plan = self._plan(call)
        engine = self.engine
        thinking = plan.thinking
        infos: list[GenerationInfo] = []
        prompt = plan.prompt
        budget = plan.params.max_tokens

        def rest() -> int | None:
            if not budget or budget <= 0:
                return budget
            return max(budget - sum(i.completion_tokens for i in infos), 16)

        forced = call.response_format is not None or (call.tools and call.choice.forced)
        if forced and thinking.think_first and thinking.fmt is not None:
            fmt = thinking.fmt
            grammar = None if thinking.opened else thought_step_gbnf(fmt)
            half = budget // 2 if budget and budget > 0 else budget
            params = dataclasses.replace(
                plan.params, grammar=grammar, stop=(fmt.close,), max_tokens=half
            )
            produced: list[str] = []
            raw = _recorded(engine.stream(prompt, params, cancel=cancel), produced)
            for event in split_items(raw, thinking.splitter()):
                if isinstance(event, GenerationInfo):
                    infos.append(event)
                    event.reasoning_tokens = event.completion_tokens
                elif isinstance(event, ReasoningDelta):
                    yield event
            thought = "".join(produced)
            if thinking.opened or thought.strip():
                prompt += thought + ("" if thought.endswith("\n") else "\n") + fmt.close + "\n\n"
        if call.tools and not call.choice.forced:
            params = dataclasses.replace(plan.params, stop=(*plan.params.stop, TOOL_CALL_OPEN))
            produced = []
            raw = _recorded(engine.stream(prompt, params, cancel=cancel), produced)
            for event in split_items(raw, thinking.splitter()):
                if isinstance(event, GenerationInfo):
                    infos.append(event)
                else:
                    yield event
            if infos[-1].stop_reason != TOOL_CALL_OPEN:
                yield Done(tuple(infos))
                return
            prompt = prompt + "".join(produced)
        if not call.tools:
            params = plan.params
            splitter = thinking.splitter()
            if infos:  # after the thought step: the answer only
                params, splitter = dataclasses.replace(params, max_tokens=rest()), None
            for event in split_items(engine.stream(prompt, params, cancel=cancel), splitter):
                if isinstance(event, GenerationInfo):
                    yield Done((*infos, event))
                else:
                    yield event
            return
        grammar = _tools_grammar(call.tools, call.choice.name, parallel=call.parallel)
        params = dataclasses.replace(plan.params, grammar=grammar, max_tokens=rest(), stop=())
        parts: list[str] = []
        for item in engine.stream(prompt + TOOL_CALL_OPEN, params, cancel=cancel):
            if isinstance(item, str):
                parts.append(item)
            else:
                infos.append(item)
        yield ToolCallsText(TOOL_CALL_OPEN + "".join(parts))
        yield Done(tuple(infos))


def _marks_with_control_tokens(thinking: ThinkingPlan) -> bool:
    """Whether the thought markers are special tokens the splitter must see as text (Harmony)."""
    return thinking.split and thinking.fmt is not None and not thinking.fmt.tagged


def _recorded(items: Iterator[Any], produced: list[str]) -> Iterator[Any]:
    """`items`, with their text pieces kept in `produced` (the prompt continues from them)."""
    for item in items:
        if isinstance(item, str):
            produced.append(item)
        yield item


def _response_format_grammar(schema: dict[str, Any] | None) -> str:
    """The GBNF grammar of a response format's schema (any JSON value without one).

    Raises:
        GrammarError: No grammar can follow the schema (`schema_grammar`).
    """
    if schema is None:
        return any_json_gbnf()
    return schema_grammar(lambda: json_schema_to_gbnf(schema), [schema], "the response format")


def _tools_grammar(tools: Sequence[dict[str, Any]], only: str | None, *, parallel: bool) -> str:
    """The grammar of the tool calls, checked (`schema_grammar`).

    Raises:
        GrammarError: No grammar can follow a tool's schema; the message names the tools.
    """
    names = ", ".join(repr(t.get("function", {}).get("name")) for t in tools)
    schemas = [t.get("function", {}).get("parameters") for t in tools]
    return schema_grammar(
        lambda: tool_calls_gbnf(tools, only, parallel=parallel),
        schemas,
        f"calls to the tool(s) {names}",
    )


__all__ = ["ChatLlamaCpp"]
