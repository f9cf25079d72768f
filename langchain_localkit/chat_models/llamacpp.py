"""`ChatLlamaCpp`: a GGUF chat model in llama.cpp, with grammar-constrained tools and output."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, ClassVar, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

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
    to_openai_tools,
    tool_calls_gbnf,
    tools_system_prompt,
)
from langchain_localkit._llamacpp import LlamaCppParams
from langchain_localkit.engines.llamacpp import GenerationInfo, SamplingParams

logger = logging.getLogger(__name__)

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]


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


class ChatLlamaCpp(LlamaCppParams, BaseChatModel):
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
        from langchain_localkit.prompts import detect, get_family

        if self.chat_template:
            return self.chat_template
        if self.chat_format:
            return get_family(self.chat_format)
        detection = detect(self.model_path, fallback="chatml")
        if detection.source == "fallback":
            logger.warning(
                "No chat template in %s and no known model family; using ChatML. Pass "
                "`chat_format=` (a family name) or `chat_template=` to choose.",
                self.model_path,
            )
        return detection

    def render(
        self, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]] | None = None
    ) -> Any:
        """Render `messages` into this model's prompt format (a `RenderedPrompt`)."""
        from langchain_localkit.prompts import render_chat

        return render_chat(list(messages), self._prompt_target(), guard=self.guard)

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
            messages = _with_system(messages, "\n\n".join(instructions))
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

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))

    # --- tools and structured output ------------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; calls are grammar-constrained to the tools' JSON schemas.

        Args:
            tools: Pydantic models, functions, `BaseTool`s or OpenAI-style dicts.
            tool_choice: "auto" (default: answer or call), "none", "any"/"required" (must
                call one), or a tool name (must call that one).
            parallel_tool_calls: Allow several calls in one reply. Off by default: small local
                models tend to repeat a call until `max_tokens` when allowed to go on.
            **kwargs: Further call options bound with the tools.
        """
        formatted = to_openai_tools(tools)
        normalize_tool_choice(tool_choice, formatted)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: StructuredMethod = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Output that follows `schema`, guaranteed by a grammar.

        Args:
            schema: A Pydantic model, a TypedDict, or a JSON schema dict (an OpenAI tool dict
                works with "function_calling"). Optional for "json_mode".
            method: "json_schema" (a grammar from the schema; default), "function_calling"
                (a forced tool call), or "json_mode" (any JSON object; describe the shape in
                the prompt).
            include_raw: Return `{"raw", "parsed", "parsing_error"}` instead of raising.
            strict: Accepted for compatibility; output is always grammar-constrained.
            **kwargs: Unsupported; raises.
        """
        if kwargs:
            raise ValueError(f"Unexpected arguments: {', '.join(sorted(kwargs))}")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        if method == "function_calling":
            if schema is None:
                raise ValueError("method='function_calling' needs a schema")
            name = convert_to_openai_tool(schema)["function"]["name"]
            llm = self.bind_tools(
                [schema],
                tool_choice=name,
                parallel_tool_calls=False,
                ls_structured_output_format={
                    "kwargs": {"method": method},
                    "schema": convert_to_openai_tool(schema),
                },
            )
            parser: Runnable[Any, Any] = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            if method == "json_schema" and schema is None:
                raise ValueError("method='json_schema' needs a schema")
            json_schema = convert_to_json_schema(schema) if schema is not None else None
            response_format: dict[str, Any] = (
                {"type": "json_schema", "schema": json_schema}
                if method == "json_schema"
                else {"type": "json_object"}
            )
            llm = self.bind(
                response_format=response_format,
                ls_structured_output_format={"kwargs": {"method": method}, "schema": json_schema},
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema)
                if is_pydantic and isinstance(schema, type)
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"Unknown method {method!r}: use 'json_schema', 'function_calling' or 'json_mode'."
            )
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parsed.with_fallbacks(
            [fallback], exception_key="parsing_error"
        )


def _with_system(messages: Sequence[BaseMessage], text: str) -> list[BaseMessage]:
    """Add `text` to the system message (or start the conversation with one)."""
    out = list(messages)
    if out and isinstance(out[0], SystemMessage) and isinstance(out[0].content, str):
        out[0] = SystemMessage(content=f"{out[0].content}\n\n{text}")
    else:
        out.insert(0, SystemMessage(content=text))
    return out


def _response_format_grammar(response_format: Any) -> tuple[str, str]:
    """A GBNF grammar for an OpenAI-style `response_format`, and a hint for the prompt."""
    if not isinstance(response_format, dict):
        raise ValueError(f"response_format must be a dict, not {response_format!r}")
    kind = response_format.get("type")
    schema = response_format.get("schema")
    if kind == "json_schema":
        schema = schema or (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise ValueError("response_format type 'json_schema' needs a 'schema'")
    elif kind == "json_object":
        if schema is None:
            from langchain_localkit.engines.llamacpp import import_llama_cpp

            import_llama_cpp()
            from llama_cpp.llama_grammar import JSON_GBNF

            return str(JSON_GBNF), "Respond with a JSON object."
    else:
        raise ValueError(f"Unsupported response_format type {kind!r}")
    compact = json.dumps(schema, separators=(",", ":"))
    return json_schema_to_gbnf(
        schema
    ), f"Respond with a JSON object matching this schema: {compact}"


__all__ = ["ChatLlamaCpp"]
