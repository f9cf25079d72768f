"""`ChatLlamaCpp`: a GGUF chat model in llama.cpp, with grammar-constrained tools and output."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk

from langchain_localkit._core.chat import (
    ToolsAndStructuredOutputMixin,
    prompt_target,
    response_format_schema,
    with_system,
)
from langchain_localkit._core.generation import GenerationInfo
from langchain_localkit._core.langchain import usage_metadata
from langchain_localkit._core.streaming import iterate_in_thread
from langchain_localkit._core.timings import Timings
from langchain_localkit._core.tools import (
    TOOL_CALL_OPEN,
    UNTERMINATED,
    ToolChoice,
    json_schema_to_gbnf,
    normalize_tool_choice,
    parse_tool_calls,
    tool_calls_gbnf,
    tools_system_prompt,
)
from langchain_localkit._llamacpp import LlamaCppParams
from langchain_localkit.engines.llamacpp import SamplingParams

logger = logging.getLogger(__name__)


@dataclass
class _Plan:
    """What one chat call will do: the prompt, the sampling, and how tools are handled."""

    prompt: str
    params: SamplingParams
    tools: list[dict[str, Any]] = field(default_factory=list)
    choice: ToolChoice = field(default_factory=lambda: ToolChoice("none"))
    parallel: bool = False
    dropped_calls: int = 0


@dataclass
class _Outcome:
    text: str = ""
    tool_text: str = ""
    infos: list[GenerationInfo] = field(default_factory=list)


_CHAT_OPTIONS = frozenset(
    {"tools", "tool_choice", "parallel_tool_calls", "response_format", "model"}
)


class ChatLlamaCpp(LlamaCppParams, ToolsAndStructuredOutputMixin, BaseChatModel):
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

    _ls_model_type: ClassVar[Literal["llm", "chat"]] = "chat"
    _community_name: ClassVar[str] = "ChatLlamaCpp"

    @property
    def _llm_type(self) -> str:
        return "llamacpp-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "chat_format": self.chat_format,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "seed": self.seed,
        }

    # --- rendering -----------------------------------------------------------------------------
    def _prompt_target(self) -> Any:
        return prompt_target(self.chat_template, self.chat_format, self.model_path)

    def render(
        self, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]] | None = None
    ) -> Any:
        """Render `messages` into this model's prompt format (a `RenderedPrompt`)."""
        from langchain_localkit.prompts import render_chat

        return render_chat(list(messages), self._prompt_target(), guard=self.guard)

    @classmethod
    def call_options(cls) -> frozenset[str]:
        """The per-call options (`invoke(..., **options)`), besides `stop`."""
        return super().call_options() | _CHAT_OPTIONS

    def _plan(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> _Plan:
        kwargs = dict(kwargs)
        tools: list[dict[str, Any]] = kwargs.pop("tools", None) or []
        raw_choice = kwargs.pop("tool_choice", None)
        parallel = kwargs.pop("parallel_tool_calls", None)
        response_format = kwargs.pop("response_format", None)
        kwargs.pop("model", None)
        choice = normalize_tool_choice(raw_choice, tools) if tools else ToolChoice("none")
        instructions: list[str] = []
        grammar: str | None = None
        if tools and choice.mode != "none":
            instructions.append(tools_system_prompt(tools, choice))
        if response_format is not None:
            grammar, hint = _response_format_grammar(response_format)
            if hint:
                instructions.append(hint)
        if instructions:
            messages = with_system(messages, "\n\n".join(instructions))
        rendered = self.render(messages)
        params = self._sampling(stop, kwargs)
        params = dataclasses.replace(
            params,
            stop=(*params.stop, *(s for s in rendered.stop if s not in params.stop)),
            grammar=grammar or params.grammar,
        )
        return _Plan(
            prompt=rendered.prompt,
            params=params,
            tools=tools if choice.mode != "none" else [],
            choice=choice,
            parallel=bool(parallel),
        )

    # --- decoding -------------------------------------------------------------------------------
    def _events(self, plan: _Plan, cancel: Any = None) -> Iterator[tuple[str, Any]]:
        """Run the plan: ("text", str) deltas, then ("tools", text) and ("done", infos)."""
        engine = self.engine
        infos: list[GenerationInfo] = []
        prompt = plan.prompt
        if plan.tools and not plan.choice.forced:
            params = dataclasses.replace(plan.params, stop=(*plan.params.stop, TOOL_CALL_OPEN))
            produced: list[str] = []
            for item in engine.stream(prompt, params, cancel=cancel):
                if isinstance(item, str):
                    produced.append(item)
                    yield ("text", item)
                else:
                    infos.append(item)
            if infos[-1].stop_reason != TOOL_CALL_OPEN:
                yield ("done", infos)
                return
            prompt = prompt + "".join(produced)
        if plan.tools:
            budget = plan.params.max_tokens
            if budget and budget > 0:
                budget = max(budget - sum(i.completion_tokens for i in infos), 16)
            grammar = tool_calls_gbnf(plan.tools, plan.choice.name, parallel=plan.parallel)
            params = dataclasses.replace(plan.params, grammar=grammar, max_tokens=budget, stop=())
            parts: list[str] = []
            for item in engine.stream(prompt + TOOL_CALL_OPEN, params, cancel=cancel):
                if isinstance(item, str):
                    parts.append(item)
                else:
                    infos.append(item)
            yield ("tools", TOOL_CALL_OPEN + "".join(parts))
            yield ("done", infos)
            return
        for item in engine.stream(prompt, plan.params, cancel=cancel):
            if isinstance(item, str):
                yield ("text", item)
            else:
                infos.append(item)
        yield ("done", infos)

    def _to_chunk(
        self, plan: _Plan, kind: str, value: Any, made_calls: bool
    ) -> ChatGenerationChunk:
        if kind == "text":
            return ChatGenerationChunk(message=AIMessageChunk(content=value))
        if kind == "tools":
            _, calls, invalid = parse_tool_calls(value, plan.tools)
            cut = [c for c in invalid if (c.get("error") or "").startswith(UNTERMINATED)]
            if cut:
                plan.dropped_calls += len(cut)
                logger.warning("Dropped %d tool call(s) cut off by max_tokens", len(cut))
                invalid = [c for c in invalid if c not in cut]
            chunks = [
                tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
                for i, c in enumerate(calls)
            ]
            chunks += [
                tool_call_chunk(name=c["name"], args=c["args"], id=c["id"], index=len(chunks) + j)
                for j, c in enumerate(invalid)
            ]
            return ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=chunks))
        infos: list[GenerationInfo] = value
        timings = Timings.combine([i.timings for i in infos])
        input_tokens = infos[0].prompt_tokens
        output_tokens = sum(i.completion_tokens for i in infos)
        if plan.dropped_calls:
            finish = "length"  # a call was cut off: the reply is incomplete
        else:
            finish = "tool_calls" if made_calls else infos[-1].finish_reason
        metadata: dict[str, Any] = {
            "finish_reason": finish,
            "stop_reason": infos[-1].stop_reason,
            "model_name": infos[0].model_name,
            "model_provider": "llamacpp",
            "timings": timings.to_dict(),
        }
        if plan.dropped_calls:
            metadata["dropped_tool_calls"] = plan.dropped_calls
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=usage_metadata(input_tokens, output_tokens),
                response_metadata=metadata,
                chunk_position="last",
            ),
            generation_info={"finish_reason": finish},
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        plan = self._plan(messages, stop, kwargs)
        made_calls = False
        for kind, value in self._events(plan):
            made_calls = made_calls or kind == "tools"
            chunk = self._to_chunk(plan, kind, value, made_calls)
            if run_manager and kind == "text":
                run_manager.on_llm_new_token(value, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        plan = self._plan(messages, stop, kwargs)
        made_calls = False
        async for kind, value in iterate_in_thread(lambda cancel: self._events(plan, cancel)):
            made_calls = made_calls or kind == "tools"
            chunk = self._to_chunk(plan, kind, value, made_calls)
            if run_manager and kind == "text":
                await run_manager.on_llm_new_token(value, chunk=chunk)
            yield chunk


def _response_format_grammar(response_format: Any) -> tuple[str, str]:
    """A GBNF grammar for an OpenAI-style `response_format`, and a hint for the prompt."""
    schema, hint = response_format_schema(response_format)
    if schema is not None:
        return json_schema_to_gbnf(schema), hint
    from langchain_localkit.engines.llamacpp import import_llama_cpp

    import_llama_cpp()
    from llama_cpp.llama_grammar import JSON_GBNF

    return str(JSON_GBNF), hint


__all__ = ["ChatLlamaCpp"]
