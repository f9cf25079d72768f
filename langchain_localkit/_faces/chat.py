"""`LocalChatModel`: the chat skeleton every runtime's `BaseChatModel` face stands on.

The skeleton parses a call's options into a `ChatCall` (tools, tool choice, response format,
the instructions they add to the system message), asks the face for the call's step events
(`_events`: text deltas, a tool-call block, a checked reply, then `Done`), and turns the events
into LangChain chunks: text, tool-call chunks parsed against the bound tools, and one last chunk
with usage, finish reason and timings. `invoke` is the joined stream, sync or async.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.tool import ToolCallChunk, tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from langchain_localkit._core.generation import (
    Done,
    Event,
    GenerationInfo,
    ReasoningDelta,
    Reply,
    TextDelta,
    ToolCallDelta,
    ToolCallsText,
)
from langchain_localkit._core.langchain import usage_metadata
from langchain_localkit._core.reasoning import Reasoning
from langchain_localkit._core.streaming import iterate_in_thread
from langchain_localkit._core.tools import (
    UNTERMINATED,
    ToolChoice,
    normalize_tool_choice,
    parse_tool_calls,
    tools_system_prompt,
)
from langchain_localkit._faces.message_checks import check_messages
from langchain_localkit._faces.profile import ModelProfiles
from langchain_localkit._faces.structured import (
    ToolsAndStructuredOutputMixin,
    response_format_schema,
    with_system,
)

logger = logging.getLogger("langchain_localkit.chat")


@dataclass
class ChatCall:
    """One chat call, its options parsed.

    Attributes:
        messages: The conversation as given.
        stop: The call's stop strings.
        options: The sampling options left for the runtime (checked by its parameters).
        tools: The bound tools (OpenAI-style dicts); empty when `tool_choice` is "none".
        choice: The normalized tool choice.
        parallel: Whether several calls may come in one reply.
        response_format: The bound `response_format`, if any.
        schema: Its JSON schema (None: any JSON object, or no response format).
        instructions: What the tools and the response format add to the system message.
        model: The `model` call option (a label; the OpenAI-compatible endpoint sends it).
        stream: Read the runtime's stream (False: one answer per generation step).
        dropped_calls: Tool calls cut off by `max_tokens` (set while the reply is converted).
        reasoning: The call's `reasoning` switch (the call option, else the face's field).
    """

    messages: list[BaseMessage]
    stop: list[str] | None
    options: dict[str, Any]
    tools: list[dict[str, Any]] = field(default_factory=list)
    choice: ToolChoice = field(default_factory=lambda: ToolChoice("none"))
    parallel: bool = False
    response_format: dict[str, Any] | None = None
    schema: dict[str, Any] | None = None
    instructions: list[str] = field(default_factory=list)
    model: str | None = None
    stream: bool = True
    dropped_calls: int = 0
    reasoning: Reasoning = None

    @property
    def constrained(self) -> bool:
        """Whether the reply is tool calls or a response format (parsed, so thought-free)."""
        return bool(self.tools) or self.response_format is not None

    def prompt_messages(self) -> list[BaseMessage]:
        """The messages with the instructions added to the system message."""
        if not self.instructions:
            return list(self.messages)
        return with_system(self.messages, "\n\n".join(self.instructions))


def prompt_target(
    chat_template: str | None, chat_format: str | None, model_path: str, *, fallback: str = "chatml"
) -> Any:
    """What to render a chat with, for a model file.

    A template override, else a family override, else what `detect` finds for the model file
    (its GGUF template, its family), else `fallback` with a warning.
    """
    from langchain_localkit.prompts import detect, get_family

    if chat_template:
        return chat_template
    if chat_format:
        return get_family(chat_format)
    detection = detect(model_path, fallback=fallback)
    if detection.source == "fallback":
        logger.warning(
            "No chat template in %s and no known model family; using %s. Pass "
            "`chat_format=` (a family name) or `chat_template=` to choose.",
            model_path,
            fallback,
        )
    return detection


def _invalid_args(call: Any) -> str:
    """What an invalid call's chunk carries as `args`.

    LangChain parses chunk args when it merges them: a call written as
    `{"name": ..., "arguments": ...}` keeps only its arguments, so a call to an unknown tool
    becomes a call to that name (an agent's tool node then tells the model the tool does not
    exist, as with any OpenAI-compatible server), and arguments that are not an object stay
    an invalid call.
    """
    try:
        data = json.loads(call["args"])
    except (TypeError, json.JSONDecodeError):
        return str(call["args"])
    value = data.get("arguments", data.get("parameters")) if isinstance(data, dict) else None
    return json.dumps(value) if call.get("name") and value is not None else str(call["args"])


def tool_call_chunks(calls: Iterable[Any], invalid: Iterable[Any] = ()) -> list[ToolCallChunk]:
    """LangChain tool-call chunks: the parsed calls (args as JSON), then the invalid ones."""
    chunks = [
        tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
        for i, c in enumerate(calls)
    ]
    chunks += [
        tool_call_chunk(name=c["name"], args=_invalid_args(c), id=c["id"], index=len(chunks) + j)
        for j, c in enumerate(invalid)
    ]
    return chunks


def reply_events(items: Iterable[Any]) -> Generator[Event, None, None]:
    """A server's streamed reply (deltas, then its `GenerationInfo`) as events ending in `Done`."""
    info = None
    for item in items:
        if isinstance(item, GenerationInfo):
            info = item
        else:
            yield item
    if info is not None:
        yield Done((info,))


async def areply_events(items: AsyncGenerator[Any, None]) -> AsyncGenerator[Event, None]:
    """The async `reply_events`."""
    info = None
    async with contextlib.aclosing(items) as stream:
        async for item in stream:
            if isinstance(item, GenerationInfo):
                info = item
            else:
                yield item
    if info is not None:
        yield Done((info,))


class LocalChatModel(ModelProfiles, ToolsAndStructuredOutputMixin, BaseChatModel):
    """The skeleton of a chat face: options, events → chunks, usage, callbacks, sync and async.

    Hooks:
        `_events(call, cancel)`: the call's step events, ending with `Done` (required).
        `_aevents(call)`: their native async twin (default: `_events` in a worker thread that
            stops decoding when the consumer stops).
        `_streams_on_invoke()`: whether `invoke` reads the runtime's stream (default True).
        The `profile` hooks of `ModelProfiles` (`_profile_key`, `_profile_facts`,
            `_build_profile`).
    """

    _json_hint_suffix: ClassVar[str] = ""
    """Said after the response format's instruction (for runtimes that only prompt for it)."""
    _text_only: ClassVar[bool] = False
    """The model reads text only: an image (or other non-text) content block is refused."""

    def _events(
        self, call: ChatCall, cancel: threading.Event | None = None
    ) -> Generator[Event, None, None]:
        raise NotImplementedError

    def _aevents(self, call: ChatCall) -> AsyncGenerator[Event, None]:
        return iterate_in_thread(lambda cancel: self._events(call, cancel))

    def _streams_on_invoke(self) -> bool:
        return True

    def _parse_call(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> ChatCall:
        options = dict(kwargs)
        tools: list[dict[str, Any]] = options.pop("tools", None) or []
        raw_choice = options.pop("tool_choice", None)
        parallel = bool(options.pop("parallel_tool_calls", False))
        response_format = options.pop("response_format", None)
        model = options.pop("model", None)
        reasoning = self._reasoning_of(options)  # type: ignore[attr-defined]
        options.pop("ls_structured_output_format", None)
        choice = normalize_tool_choice(raw_choice, tools) if tools else ToolChoice("none")
        call = ChatCall(
            messages=messages,
            stop=stop,
            options=options,
            tools=tools if choice.mode != "none" else [],
            choice=choice,
            parallel=parallel,
            response_format=response_format,
            model=model,
            reasoning=reasoning,
        )
        if call.tools:
            call.instructions.append(tools_system_prompt(tools, choice))
        if response_format is not None:
            call.schema, hint = response_format_schema(response_format)
            call.instructions.append(hint + self._json_hint_suffix)
        return call

    def _chunks(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[ChatCall, _Converter]:
        check_messages(messages, type(self).__name__, text_only=self._text_only)
        call = self._parse_call(messages, stop, kwargs)
        return call, _Converter(self, call)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call, convert = self._chunks(messages, stop, kwargs)
        with contextlib.closing(self._events(call)) as events:
            for event in events:
                chunk, token = convert(event)
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
        call, convert = self._chunks(messages, stop, kwargs)
        async with contextlib.aclosing(self._aevents(call)) as events:
            async for event in events:
                chunk, token = convert(event)
                if run_manager and token:
                    await run_manager.on_llm_new_token(token, chunk=chunk)
                yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._streams_on_invoke():
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        call, convert = self._chunks(messages, stop, kwargs)
        call.stream = False
        with contextlib.closing(self._events(call)) as events:
            return generate_from_stream(convert(event)[0] for event in events)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._streams_on_invoke():
            stream = self._astream(messages, stop, run_manager, **kwargs)
            return await agenerate_from_stream(stream)
        call, convert = self._chunks(messages, stop, kwargs)
        call.stream = False
        async with contextlib.aclosing(self._aevents(call)) as events:
            return await agenerate_from_stream(_converted(events, convert))

    def _final_chunk(self, call: ChatCall, done: Done, made_calls: bool) -> ChatGenerationChunk:
        infos = done.infos
        if call.dropped_calls:
            finish = "length"  # a call was cut off: the reply is incomplete
        else:
            finish = "tool_calls" if made_calls else infos[-1].finish_reason
        metadata: dict[str, Any] = {
            "finish_reason": finish,
            "stop_reason": infos[-1].stop_reason,
            "model_name": infos[0].model_name or self._model_label(),  # type: ignore[attr-defined]
            "model_provider": self._localkit_runtime,  # type: ignore[attr-defined]
            "timings": done.timings.to_dict(),
            **done.metadata,
        }
        if call.dropped_calls:
            metadata["dropped_tool_calls"] = call.dropped_calls
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=usage_metadata(
                    done.input_tokens,
                    done.output_tokens,
                    done.reasoning_tokens,
                    done.cache_read_tokens,
                ),
                response_metadata=metadata,
                chunk_position="last",
            ),
            generation_info={"finish_reason": finish},
        )


async def _converted(
    events: AsyncIterator[Event], convert: _Converter
) -> AsyncIterator[ChatGenerationChunk]:
    async for event in events:
        yield convert(event)[0]


class _Converter:
    """Turns one call's events into chunks, and says which text goes to `on_llm_new_token`."""

    def __init__(self, model: LocalChatModel, call: ChatCall) -> None:
        self.model = model
        self.call = call
        self.made_calls = False

    def __call__(self, event: Event) -> tuple[ChatGenerationChunk, str | None]:
        if isinstance(event, TextDelta):
            return ChatGenerationChunk(message=AIMessageChunk(content=event.text)), event.text
        if isinstance(event, ReasoningDelta):
            kwargs = {"reasoning_content": event.text}
            return ChatGenerationChunk(
                message=AIMessageChunk(content="", additional_kwargs=kwargs)
            ), None
        if isinstance(event, Done):
            return self.model._final_chunk(self.call, event, self.made_calls), None
        if isinstance(event, ToolCallsText):
            chunks = self._parse(event.text)
            text = ""
        elif isinstance(event, ToolCallDelta):
            chunks = [
                tool_call_chunk(name=event.name, args=event.args, id=event.id, index=event.index)
            ]
            text = ""
        else:
            chunks = tool_call_chunks(event.tool_calls, event.invalid)
            text = event.text
        self.made_calls = self.made_calls or bool(chunks) or not isinstance(event, Reply)
        message = AIMessageChunk(content=text, tool_call_chunks=chunks)
        return ChatGenerationChunk(message=message), text or None

    def _parse(self, text: str) -> list[ToolCallChunk]:
        _, calls, invalid = parse_tool_calls(text, self.call.tools)
        cut = [c for c in invalid if (c.get("error") or "").startswith(UNTERMINATED)]
        if cut:
            self.call.dropped_calls += len(cut)
            logger.warning("Dropped %d tool call(s) cut off by max_tokens", len(cut))
            invalid = [c for c in invalid if c not in cut]
        return tool_call_chunks(calls, invalid)


__all__ = [
    "ChatCall",
    "LocalChatModel",
    "areply_events",
    "prompt_target",
    "reply_events",
    "tool_call_chunks",
]
