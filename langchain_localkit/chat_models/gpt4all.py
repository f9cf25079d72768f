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

import json
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field

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
    ToolChoice,
    first_json_value,
    normalize_tool_choice,
    parse_tool_calls,
    schema_errors,
    tools_system_prompt,
)
from langchain_localkit._gpt4all import GPT4AllParams
from langchain_localkit.engines.gpt4all import GPT4AllSampling

logger = logging.getLogger(__name__)


@dataclass
class _Plan:
    messages: list[BaseMessage]
    params: GPT4AllSampling
    tools: list[dict[str, Any]] = field(default_factory=list)
    choice: ToolChoice = field(default_factory=lambda: ToolChoice("none"))
    parallel: bool = False
    schema: dict[str, Any] | None = None
    json_only: bool = False

    @property
    def checked(self) -> bool:
        """Whether the reply is parsed and checked (and retried) before it is returned."""
        return bool(self.tools) or self.json_only


class ChatGPT4All(GPT4AllParams, ToolsAndStructuredOutputMixin, BaseChatModel):
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

    _ls_model_type: ClassVar[Literal["llm", "chat"]] = "chat"

    @property
    def _llm_type(self) -> str:
        return "gpt4all-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "chat_format": self.chat_format,
            "max_tokens": self.max_tokens,
            "temp": self.temp,
            "top_k": self.top_k,
            "top_p": self.top_p,
        }

    # --- rendering ------------------------------------------------------------------------------
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

    def _plan(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> _Plan:
        kwargs = dict(kwargs)
        tools: list[dict[str, Any]] = kwargs.pop("tools", None) or []
        raw_choice = kwargs.pop("tool_choice", None)
        parallel = bool(kwargs.pop("parallel_tool_calls", False))
        response_format = kwargs.pop("response_format", None)
        kwargs.pop("model", None)
        kwargs.pop("ls_structured_output_format", None)
        choice = normalize_tool_choice(raw_choice, tools) if tools else ToolChoice("none")
        instructions: list[str] = []
        schema: dict[str, Any] | None = None
        if tools and choice.mode != "none":
            instructions.append(tools_system_prompt(tools, choice))
        if response_format is not None:
            schema, hint = response_format_schema(response_format)
            instructions.append(hint + " Reply with the JSON only.")
        if instructions:
            messages = with_system(messages, "\n\n".join(instructions))
        return _Plan(
            messages=messages,
            params=self._sampling(stop, kwargs),
            tools=tools if choice.mode != "none" else [],
            choice=choice,
            parallel=parallel,
            schema=schema,
            json_only=response_format is not None,
        )

    # --- decoding -------------------------------------------------------------------------------
    def _decode(
        self, messages: Sequence[BaseMessage], params: GPT4AllSampling, cancel: Any
    ) -> Iterator[str | GenerationInfo]:
        text, stops = self._prompt(messages)
        merged = (*params.stop, *(s for s in stops if s not in params.stop))
        params = GPT4AllSampling(**{**params.__dict__, "stop": merged})
        yield from self.engine.stream(text, params, special=True, cancel=cancel)

    def _events(self, plan: _Plan, cancel: Any = None) -> Iterator[tuple[str, Any]]:
        """Run the plan: ("text", delta) or one checked ("reply", chunk), then ("done", ...).

        The "done" value is the `GenerationInfo`s of every attempt and the attempt count.
        """
        if not plan.checked:
            infos: list[GenerationInfo] = []
            for item in self._decode(plan.messages, plan.params, cancel):
                if isinstance(item, str):
                    yield ("text", item)
                else:
                    infos.append(item)
            yield ("done", (infos, 1))
            return
        messages = list(plan.messages)
        infos = []
        chunk = AIMessageChunk(content="")
        for attempt in range(1, self.max_retries + 2):
            parts: list[str] = []
            for item in self._decode(messages, plan.params, cancel):
                if isinstance(item, str):
                    parts.append(item)
                else:
                    infos.append(item)
            reply = "".join(parts)
            chunk, problem = self._check(plan, reply)
            if problem is None or attempt > self.max_retries:
                if problem is not None:
                    logger.warning(
                        "%s: no valid reply after %d attempts (%s)", self.model, attempt, problem
                    )
                yield ("reply", chunk)
                yield ("done", (infos, attempt))
                return
            messages = [
                *messages,
                AIMessage(content=reply),
                HumanMessage(content=f"That reply is not valid: {problem}. Try again."),
            ]

    def _check(self, plan: _Plan, reply: str) -> tuple[AIMessageChunk, str | None]:
        """The reply as a chunk, and what is wrong with it (None when it is valid)."""
        if plan.tools:
            text, calls, invalid = parse_tool_calls(reply, plan.tools)
            if not plan.parallel:
                calls = calls[:1]
            schemas = {
                t["function"]["name"]: t["function"].get("parameters") or {} for t in plan.tools
            }
            problems = [
                e for c in calls for e in schema_errors(c["args"], schemas[c["name"]] or {})
            ]
            problems += [str(c.get("error")) for c in invalid]
            if plan.choice.name and any(c["name"] != plan.choice.name for c in calls):
                problems.append(f"call the tool {plan.choice.name}")
            if plan.choice.forced and not calls:
                problems.append("no tool call in the required format")
            chunks = [
                tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
                for i, c in enumerate(calls)
            ]
            chunks += [
                tool_call_chunk(name=c["name"], args=c["args"], id=c["id"], index=len(chunks) + j)
                for j, c in enumerate(invalid)
            ]
            message = AIMessageChunk(content=text if not calls else "", tool_call_chunks=chunks)
            return message, "; ".join(problems) or None
        try:
            value = first_json_value(reply)
        except ValueError as e:
            return AIMessageChunk(content=reply), str(e)
        errors = schema_errors(value, plan.schema) if plan.schema else []
        if not isinstance(value, dict) and plan.schema is None:
            errors.append("expected a JSON object")
        return AIMessageChunk(content=json.dumps(value)), "; ".join(errors) or None

    def _last(self, plan: _Plan, infos: list[GenerationInfo], attempts: int, calls: bool) -> Any:
        timings = Timings.combine([i.timings for i in infos])
        finish = "tool_calls" if calls else infos[-1].finish_reason
        metadata: dict[str, Any] = {
            "finish_reason": finish,
            "stop_reason": infos[-1].stop_reason,
            "model_name": infos[0].model_name,
            "model_provider": "gpt4all",
            "timings": timings.to_dict(),
        }
        if plan.checked:
            metadata["attempts"] = attempts
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=usage_metadata(
                    sum(i.prompt_tokens for i in infos), sum(i.completion_tokens for i in infos)
                ),
                response_metadata=metadata,
                chunk_position="last",
            ),
            generation_info={"finish_reason": finish},
        )

    def _chunks(
        self, plan: _Plan, events: Iterator[tuple[str, Any]]
    ) -> Iterator[tuple[ChatGenerationChunk, str | None]]:
        calls = False
        for kind, value in events:
            if kind == "text":
                yield ChatGenerationChunk(message=AIMessageChunk(content=value)), value
            elif kind == "reply":
                calls = bool(value.tool_call_chunks)
                text = value.content if isinstance(value.content, str) else None
                yield ChatGenerationChunk(message=value), text or None
            else:
                infos, attempts = value
                yield self._last(plan, infos, attempts, calls), None

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        plan = self._plan(messages, stop, kwargs)
        for chunk, token in self._chunks(plan, self._events(plan)):
            if run_manager and token:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        plan = self._plan(messages, stop, kwargs)
        async for chunk, token in iterate_in_thread(
            lambda cancel: self._chunks(plan, self._events(plan, cancel))
        ):
            if run_manager and token:
                await run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk


__all__ = ["ChatGPT4All"]
