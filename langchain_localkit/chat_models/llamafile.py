"""`ChatLlamafile`: a chat model on a llamafile or llama.cpp server.

Tools and structured output are grammar-constrained, as in `ChatLlamaCpp`.

How a call runs (the default `endpoint="completion"`): the messages are rendered with the
model's prompt format by the prompt pack (the GGUF's own template when the server runs on this
machine, else the template the server reports in `/props`, with the model family detected
from it or from the model's name), and sent to the native `POST /completion`. Tool calls and
structured output are constrained by the server's grammar engine from the JSON schemas, as
`ChatLlamaCpp` does in-process: `tool_choice="auto"` streams free text with `<tool_call>` as a
stop string and, if the model opens a call, continues under the call's schema; "any" or a
named tool constrain from the start. This works on every server version (llamafile's older
server has `grammar` on `/completion` but no `tools` and no `json_schema`), keeps the KV cache
across the steps (`cache_prompt`), and reports the server's `timings`, `stop_type` and token
counts for every step.

`endpoint="chat"` sends the messages to the OpenAI-compatible `POST /v1/chat/completions`
instead, where the server renders its own chat template and handles `tools` and
`response_format` itself: the better path for models whose template carries a native tool
format (Qwen 2.5, Llama 3.1, Hermes, ...) or that reason (`reasoning_content`), when the
server's template support is trusted. On llamafile's older server, calls with tools or a
response format fall back to the `/completion` path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import (
    AIMessageChunk,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from langchain_localkit._core.chat import (
    ToolsAndStructuredOutputMixin,
    response_format_schema,
    with_system,
)
from langchain_localkit._core.generation import GenerationInfo
from langchain_localkit._core.langchain import usage_metadata
from langchain_localkit._core.timings import Timings
from langchain_localkit._core.tools import (
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    UNTERMINATED,
    ToolChoice,
    normalize_tool_choice,
    parse_tool_calls,
    tool_call_schema,
    tools_system_prompt,
)
from langchain_localkit.engines.llamafile import ServerInfo, display_model_name
from langchain_localkit._llamafile import LlamafileParams

logger = logging.getLogger(__name__)


MORE_CALLS_GRAMMAR = f'root ::= ("\\n" "{TOOL_CALL_OPEN}")?'
"""After a call (parallel calls on): either end, or open another call. The model decides."""

_MORE_CALLS_TOKENS = 8

LLAMA_CPP_DEFAULT_TEMPLATE = (
    "{%- for message in messages -%}\n"
    "  {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '<|im_start|>assistant\n' -}}\n"
    "{%- endif -%}"
)
"""The ChatML template llama.cpp's server reports for a GGUF that has none (e.g. a base model).

When `/props` shows exactly this, the model's real format is looked up by its name instead.
"""


def _is_llama_cpp_default(template: str) -> bool:
    return "".join(template.split()) == "".join(LLAMA_CPP_DEFAULT_TEMPLATE.split())


# --------------------------------------------------------------------------------------------
# The plan of one call, and the steps that run it
# --------------------------------------------------------------------------------------------
@dataclass
class _Plan:
    """What one chat call will do: the prompt, the request fields, how tools are handled."""

    prompt: str
    body: dict[str, Any]
    tools: list[dict[str, Any]] = field(default_factory=list)
    choice: ToolChoice = field(default_factory=lambda: ToolChoice("none"))
    parallel: bool = False
    bos: str | None = None
    bos_id: int | None = None
    dropped_calls: int = 0

    def wire(self, prompt: str) -> str | list[Any]:
        """The prompt as sent: a BOS written as text becomes its token id.

        The server adds BOS itself to a prompt that starts with text; starting with the id
        instead keeps it from adding a second one.
        """
        if self.bos and self.bos_id is not None and prompt.startswith(self.bos):
            rest = prompt[len(self.bos) :]
            return [self.bos_id, rest] if rest else [self.bos_id]
        return prompt


@dataclass
class _Step:
    body: dict[str, Any]
    emit: bool


class _Script:
    """The requests of one call, step by step (the same for the sync and async drivers).

    Text: free text (with `<tool_call>` as a stop string when tools are bound and the choice
    is "auto"). Call: one call, constrained by the JSON schema of `{"name", "arguments"}`.
    More (parallel calls only): a tiny grammar lets the model end or open another call.
    """

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.prompt = plan.prompt
        self.infos: list[GenerationInfo] = []
        self.calls: list[str] = []
        self.phase = "text"

    def _budget(self) -> int:
        limit = int(self.plan.body.get("n_predict", -1))
        if limit <= 0:
            return -1
        return max(limit - sum(i.completion_tokens for i in self.infos), 16)

    def _base(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in self.plan.body.items()
            if k not in ("stop", "grammar", "json_schema", "n_predict")
        }

    def _call_step(self) -> _Step:
        self.phase = "call"
        self.prompt += TOOL_CALL_OPEN
        schema = tool_call_schema(self.plan.tools, self.plan.choice.name)
        return _Step({**self._base(), "json_schema": schema, "n_predict": self._budget()}, False)

    def first(self) -> _Step:
        plan = self.plan
        if plan.tools and plan.choice.forced:
            return self._call_step()
        body = dict(plan.body)
        if plan.tools:
            body["stop"] = [*body.get("stop", []), TOOL_CALL_OPEN]
        return _Step(body, True)

    def advance(self, text: str, info: GenerationInfo) -> _Step | None:
        self.infos.append(info)
        if self.phase == "text":
            if self.plan.tools and info.stop_reason == TOOL_CALL_OPEN:
                self.prompt += text
                return self._call_step()
            return None
        if self.phase == "call":
            if info.finish_reason == "length":
                self.calls.append(TOOL_CALL_OPEN + text)  # cut off: reported as dropped
                return None
            self.calls.append(TOOL_CALL_OPEN + text + TOOL_CALL_CLOSE)
            self.prompt += text + TOOL_CALL_CLOSE
            budget = self._budget()
            if not self.plan.parallel or 0 <= budget <= 16:
                return None
            self.phase = "more"
            body = {**self._base(), "grammar": MORE_CALLS_GRAMMAR, "n_predict": _MORE_CALLS_TOKENS}
            return _Step(body, False)
        # phase "more": the model opened another call, or ended
        if text.startswith("\n" + TOOL_CALL_OPEN):
            self.prompt += "\n"
            return self._call_step()
        return None

    def tool_text(self) -> str:
        return "\n".join(self.calls)


class ChatLlamafile(LlamafileParams, ToolsAndStructuredOutputMixin, BaseChatModel):
    """A chat model served by a llamafile or by llama.cpp's `llama-server`, over HTTP.

    Messages are rendered in the model's prompt format by the prompt pack and sent to the
    server's native `/completion` endpoint; tool calls and structured output are constrained
    by the server's grammar engine, so even small models return valid, schema-conforming JSON
    (the same behaviour as `ChatLlamaCpp`, on any server version). Usage metadata and the
    server's timings come with every reply, streamed or not. `endpoint="chat"` uses the
    server's OpenAI-compatible endpoint and its own chat template instead.

    Setup:
        Run `./model.llamafile --server --nobrowser` or `llama-server -m model.gguf`.

    Key init args:
        base_url: the server (default `http://localhost:8080`). chat_format: a family name
        ("llama3", "gemma", ...) overriding detection. chat_template: a Jinja template
        overriding the server's. endpoint: "completion" (default) or "chat".
        max_tokens, temperature, top_p, top_k, repeat_penalty, seed, stop: sampling.

    Instantiate:
        .. code-block:: python

            from langchain_localkit import ChatLlamafile

            chat = ChatLlamafile()  # http://localhost:8080

    Invoke:
        .. code-block:: python

            msg = chat.invoke([("system", "Be brief."), ("human", "Who was first on the moon?")])
            msg.usage_metadata  # {'input_tokens': 24, 'output_tokens': 9, 'total_tokens': 33}
            msg.response_metadata["timings"]["eval_tokens_per_second"]

    Tool calling:
        .. code-block:: python

            def get_weather(city: str) -> str:
                '''Get the weather in a city.'''
                ...


            msg = chat.bind_tools([get_weather], tool_choice="any").invoke("Weather in Paris?")
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
    """A model family ("llama2", "llama3", "chatml", "gemma", "mistral", ...) whose prompt
    format to use instead of the detected one."""
    chat_template: str | None = None
    """A Jinja chat template to use instead of the server's."""
    guard: Literal["escape", "strip", "allow"] = "escape"
    """What to do with a format's control strings inside message text: escape them (default),
    strip them, or allow them (trusted input only)."""
    endpoint: Literal["completion", "chat"] = "completion"
    """"completion": the prompt pack renders the chat, `/completion` generates (grammar-
    constrained tools and output on every server). "chat": `/v1/chat/completions` with the
    server's own template, tools and response format."""
    streaming: bool = True
    """Read the server's stream on `invoke` too, so callbacks see every token. False sends one
    non-streaming request per generation step to `/completion` (`endpoint="chat"` always
    streams): less client work per token, which counts when the client and the server share a
    few cores. LangChain then answers `stream()` with one chunk too (its rule for an explicit
    `streaming=False`)."""

    _ls_model_type: ClassVar[Literal["llm", "chat"]] = "chat"

    @property
    def _llm_type(self) -> str:
        return "llamafile-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "model": self.model,
            "endpoint": self.endpoint,
            "chat_format": self.chat_format,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "seed": self.seed,
        }

    # --- rendering -----------------------------------------------------------------------------
    def prompt_target(self, info: ServerInfo) -> Any:
        """The prompt format for the server's model: a template, a family or a `Detection`.

        In order: `chat_template`; `chat_format`; the GGUF file itself when the server runs on
        this machine (its own template, else its architecture); the template the server
        reports, unless it is llama.cpp's ChatML default (reported for a GGUF without a
        template, e.g. a base Gemma) and the model's name names a family; the model's name;
        else ChatML, with a warning.
        """
        from langchain_localkit.prompts import detect, get_family, recognize_template
        from langchain_localkit.prompts.detection import Detection

        if self.chat_template:
            return self.chat_template
        if self.chat_format:
            return get_family(self.chat_format)
        if info.model_path and Path(info.model_path).is_file():
            found = detect(Path(info.model_path))
            if found.known or found.chat_template:
                return found
        by_name = detect(info.model_name) if info.model_name else None
        if info.chat_template:
            if _is_llama_cpp_default(info.chat_template) and by_name is not None and by_name.known:
                return by_name
            family, exact = recognize_template(info.chat_template)
            return Detection(
                family,
                "chat_template",
                "the chat template the server reports in /props",
                chat_template=info.chat_template,
                template_exact=exact,
            )
        if by_name is not None and by_name.known:
            return by_name
        logger.warning(
            "The server at %s reports no chat template and its model name (%s) names no known "
            "family; using ChatML. Pass `chat_format=` (a family name) or `chat_template=`.",
            self.base_url,
            info.model_name,
        )
        return get_family("chatml")

    def render(self, messages: Sequence[BaseMessage], info: ServerInfo | None = None) -> Any:
        """Render `messages` in the server model's prompt format (a `RenderedPrompt`).

        Args:
            messages: The conversation.
            info: The server's `/props` (fetched when not given).
        """
        from langchain_localkit.prompts import render_chat

        target = self.prompt_target(info if info is not None else self.engine.info())
        return render_chat(list(messages), target, guard=self.guard)

    def _plan(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        info: ServerInfo,
    ) -> _Plan:
        kwargs = dict(kwargs)
        tools: list[dict[str, Any]] = kwargs.pop("tools", None) or []
        raw_choice = kwargs.pop("tool_choice", None)
        parallel = kwargs.pop("parallel_tool_calls", None)
        response_format = kwargs.pop("response_format", None)
        kwargs.pop("model", None)
        choice = normalize_tool_choice(raw_choice, tools) if tools else ToolChoice("none")
        instructions: list[str] = []
        schema: dict[str, Any] | None = None
        if tools and choice.mode != "none":
            instructions.append(tools_system_prompt(tools, choice))
        if response_format is not None:
            schema, hint = response_format_schema(response_format)
            schema = schema if schema is not None else {"type": "object"}
            instructions.append(hint)
        if instructions:
            messages = with_system(messages, "\n\n".join(instructions))
        rendered = self.render(messages, info)
        body = self._body(stop, kwargs)
        stops = list(body.get("stop", []))
        stops += [s for s in rendered.stop if s not in stops]
        if stops:
            body["stop"] = stops
        if schema is not None:
            body.pop("grammar", None)
            body["json_schema"] = schema
        return _Plan(
            prompt=rendered.prompt,
            body=body,
            tools=tools if choice.mode != "none" else [],
            choice=choice,
            parallel=bool(parallel),
            bos=info.bos_token,
        )

    def _needs_bos_id(self, plan: _Plan) -> bool:
        return bool(plan.bos) and plan.prompt.startswith(plan.bos or "")

    def _use_chat_endpoint(self, kwargs: Mapping[str, Any], info: Callable[[], ServerInfo]) -> bool:
        if self.endpoint != "chat":
            return False
        structured = kwargs.get("tools") or kwargs.get("response_format") is not None
        if structured and info().legacy:
            logger.info(
                "llamafile's older server has no tools or response_format on "
                "/v1/chat/completions; using /completion with a grammar instead."
            )
            return False
        return True

    # --- decoding (/completion) ------------------------------------------------------------------
    def _events(
        self, plan: _Plan, *, stream: bool = True
    ) -> Generator[tuple[str, Any], None, None]:
        """Run the plan: ("text", str) deltas, then ("tools", text) and ("done", infos).

        With `stream=False` each step is one non-streaming request, its text one delta.
        """
        engine = self.engine
        script = _Script(plan)
        step: _Step | None = script.first()
        while step is not None:
            parts: list[str] = []
            info: GenerationInfo | None = None
            body = {"prompt": plan.wire(script.prompt), **step.body}
            if not stream:
                text, info = engine.complete(body, model_name=self.model or "")
                parts.append(text)
                if step.emit and text:
                    yield ("text", text)
            else:
                items = engine.stream_completion(body, model_name=self.model or "")
                with contextlib.closing(items):
                    for item in items:
                        if isinstance(item, str):
                            parts.append(item)
                            if step.emit:
                                yield ("text", item)
                        else:
                            info = item
            assert info is not None
            step = script.advance("".join(parts), info)
        if script.calls:
            yield ("tools", script.tool_text())
        yield ("done", script.infos)

    async def _aevents(
        self, plan: _Plan, *, stream: bool = True
    ) -> AsyncGenerator[tuple[str, Any], None]:
        """The async `_events`."""
        engine = self.engine
        script = _Script(plan)
        step: _Step | None = script.first()
        while step is not None:
            parts: list[str] = []
            info: GenerationInfo | None = None
            body = {"prompt": plan.wire(script.prompt), **step.body}
            if not stream:
                text, info = await engine.acomplete(body, model_name=self.model or "")
                parts.append(text)
                if step.emit and text:
                    yield ("text", text)
            else:
                items = engine.astream_completion(body, model_name=self.model or "")
                async with contextlib.aclosing(items):
                    async for item in items:
                        if isinstance(item, str):
                            parts.append(item)
                            if step.emit:
                                yield ("text", item)
                        else:
                            info = item
            assert info is not None
            step = script.advance("".join(parts), info)
        if script.calls:
            yield ("tools", script.tool_text())
        yield ("done", script.infos)

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
            "model_name": infos[0].model_name or self.model or "llamafile",
            "model_provider": "llamafile",
            "timings": timings.to_dict(),
        }
        for key in ("stop_type", "tokens_cached"):
            if key in infos[-1].extra:
                metadata[key] = infos[-1].extra[key]
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
        engine = self.engine
        if self._use_chat_endpoint(kwargs, engine.info):
            yield from self._stream_chat_endpoint(messages, stop, run_manager, kwargs)
            return
        yield from self._completion_chunks(messages, stop, run_manager, kwargs, stream=True)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming or self.endpoint == "chat":
            return super()._generate(messages, stop, run_manager, **kwargs)
        chunks = self._completion_chunks(messages, stop, None, kwargs, stream=False)
        return generate_from_stream(chunks)

    def _completion_chunks(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
        *,
        stream: bool,
    ) -> Generator[ChatGenerationChunk, None, None]:
        engine = self.engine
        plan = self._plan(messages, stop, kwargs, engine.info())
        if self._needs_bos_id(plan):
            plan.bos_id = engine.bos_token_id()
        made_calls = False
        events = self._events(plan, stream=stream)
        with contextlib.closing(events):
            for kind, value in events:
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
        engine = self.engine
        info = await engine.ainfo()
        if self._use_chat_endpoint(kwargs, lambda: info):
            endpoint = self._astream_chat_endpoint(messages, stop, run_manager, kwargs)
            async with contextlib.aclosing(endpoint):
                async for chunk in endpoint:
                    yield chunk
            return
        chunks = self._acompletion_chunks(messages, stop, run_manager, kwargs, info, stream=True)
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                yield chunk

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming or self.endpoint == "chat":
            return await super()._agenerate(messages, stop, run_manager, **kwargs)
        info = await self.engine.ainfo()
        chunks = self._acompletion_chunks(messages, stop, None, kwargs, info, stream=False)
        return await agenerate_from_stream(chunks)

    async def _acompletion_chunks(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: AsyncCallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
        info: ServerInfo,
        *,
        stream: bool,
    ) -> AsyncGenerator[ChatGenerationChunk, None]:
        engine = self.engine
        plan = self._plan(messages, stop, kwargs, info)
        if self._needs_bos_id(plan):
            plan.bos_id = await engine.abos_token_id()
        made_calls = False
        events = self._aevents(plan, stream=stream)
        async with contextlib.aclosing(events):
            async for kind, value in events:
                made_calls = made_calls or kind == "tools"
                chunk = self._to_chunk(plan, kind, value, made_calls)
                if run_manager and kind == "text":
                    await run_manager.on_llm_new_token(value, chunk=chunk)
                yield chunk

    # --- decoding (/v1/chat/completions) ---------------------------------------------------------
    def _chat_body(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        kwargs = dict(kwargs)
        tools: list[dict[str, Any]] = kwargs.pop("tools", None) or []
        raw_choice = kwargs.pop("tool_choice", None)
        parallel = kwargs.pop("parallel_tool_calls", None)
        response_format = kwargs.pop("response_format", None)
        model = kwargs.pop("model", None) or self.model
        body = self._body(stop, kwargs)
        n_predict = body.pop("n_predict", -1)
        if n_predict > 0:
            body["max_tokens"] = n_predict
        body["messages"] = convert_to_openai_messages(messages)
        body["stream_options"] = {"include_usage": True}
        if model:
            body["model"] = model
        if tools:
            choice = normalize_tool_choice(raw_choice, tools)
            body["tools"] = tools
            if choice.mode == "required" and choice.name:
                body["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
            else:
                body["tool_choice"] = choice.mode
            body["parallel_tool_calls"] = bool(parallel)
        if response_format is not None:
            schema, _ = response_format_schema(response_format)
            if response_format.get("type") == "json_object" and "schema" not in response_format:
                body["response_format"] = {"type": "json_object"}
            else:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "response", "schema": schema},
                }
        return body

    def _chat_chunk(self, raw: Mapping[str, Any], state: dict[str, Any]) -> ChatGenerationChunk:
        """One OpenAI-style stream chunk as a LangChain chunk (state collects the totals)."""
        if "model" in raw:
            state["model"] = raw["model"]
        if isinstance(raw.get("usage"), Mapping):
            state["usage"] = raw["usage"]
        if isinstance(raw.get("timings"), Mapping):
            state["timings"] = raw["timings"]
        content = ""
        tool_chunks = []
        for choice in raw.get("choices") or []:
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                content += delta["content"]
            for call in delta.get("tool_calls") or []:
                fn = call.get("function") or {}
                state["calls"] = True
                tool_chunks.append(
                    tool_call_chunk(
                        name=fn.get("name"),
                        args=fn.get("arguments"),
                        id=call.get("id"),
                        index=call.get("index"),
                    )
                )
            if choice.get("finish_reason"):
                state["finish"] = choice["finish_reason"]
        if content and state.get("first") is None:
            state["first"] = time.perf_counter()
        return ChatGenerationChunk(
            message=AIMessageChunk(content=content, tool_call_chunks=tool_chunks)
        )

    def _chat_last(self, state: dict[str, Any]) -> ChatGenerationChunk:
        raw_t = state.get("timings") or {}
        start = state["start"]
        first = state.get("first")
        timings = Timings.from_llama_server(
            raw_t,
            ttft_ms=(first - start) * 1e3 if first is not None else None,
            total_ms=(time.perf_counter() - start) * 1e3,
        )
        usage = state.get("usage") or {}
        input_tokens = int(
            usage.get("prompt_tokens", timings.prompt_tokens + timings.cached_tokens) or 0
        )
        output_tokens = int(usage.get("completion_tokens", timings.eval_tokens) or 0)
        finish = "tool_calls" if state.get("calls") else state.get("finish", "stop")
        metadata: dict[str, Any] = {
            "finish_reason": finish,
            "stop_reason": None,
            "model_name": self.model or display_model_name(state.get("model")) or "llamafile",
            "model_provider": "llamafile",
            "timings": timings.to_dict(),
        }
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=usage_metadata(input_tokens, output_tokens),
                response_metadata=metadata,
                chunk_position="last",
            ),
            generation_info={"finish_reason": finish},
        )

    def _stream_chat_endpoint(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
    ) -> Iterator[ChatGenerationChunk]:
        body = self._chat_body(messages, stop, kwargs)
        state: dict[str, Any] = {"start": time.perf_counter()}
        stream = self.engine.stream_chat(body)
        with contextlib.closing(stream):
            for raw in stream:
                chunk = self._chat_chunk(raw, state)
                text = chunk.message.content
                if not text and not chunk.message.tool_call_chunks:  # type: ignore[attr-defined]
                    continue
                if run_manager and isinstance(text, str) and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        yield self._chat_last(state)

    async def _astream_chat_endpoint(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: AsyncCallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
    ) -> AsyncGenerator[ChatGenerationChunk, None]:
        body = self._chat_body(messages, stop, kwargs)
        state: dict[str, Any] = {"start": time.perf_counter()}
        stream = self.engine.astream_chat(body)
        async with contextlib.aclosing(stream):
            async for raw in stream:
                chunk = self._chat_chunk(raw, state)
                text = chunk.message.content
                if not text and not chunk.message.tool_call_chunks:  # type: ignore[attr-defined]
                    continue
                if run_manager and isinstance(text, str) and text:
                    await run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        yield self._chat_last(state)


__all__ = ["ChatLlamafile"]
