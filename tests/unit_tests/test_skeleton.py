"""The face skeleton on its own: a made-up runtime that is only declarations and one hook.

What a new runtime gets from `LocalLLM`, `LocalChatModel` and `GenerationParams` without
writing it: invoke as the joined stream, async, batch, callbacks, usage, timings, tool calls
parsed and checked, cut-off calls reported, call options checked, tracing parameters.
"""

import asyncio
from collections.abc import Iterator
from threading import Event
from typing import Any, ClassVar

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage

from langchain_localkit._core.generation import (
    Done,
    GenerationInfo,
    Reply,
    TextDelta,
    ToolCallDelta,
    ToolCallsText,
)
from langchain_localkit._core.timings import Timings
from langchain_localkit._faces.chat import ChatCall, LocalChatModel
from langchain_localkit._faces.llm import LocalLLM, TextCall
from langchain_localkit._faces.params import GenerationParams

WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def info(prompt: int = 5, completion: int = 3, finish: Any = "stop") -> GenerationInfo:
    timings = Timings(prompt_tokens=prompt, prompt_ms=5.0, eval_tokens=completion, eval_ms=9.0)
    return GenerationInfo(finish, "eos", prompt, completion, timings, "echo.gguf")


class EchoParams(GenerationParams):
    """A runtime that answers with a script: only declarations and one option check."""

    _localkit_runtime: ClassVar[str] = "echo"
    _call_options: ClassVar[frozenset[str]] = frozenset({"temperature", "max_tokens"})
    _identifying_fields: ClassVar[str] = "temperature"

    temperature: float = 0.0
    max_tokens: int = 16
    script: list[Any] = []

    def _model_label(self) -> str:
        return "echo"


class Echo(EchoParams, LocalLLM):
    _llm_type_name: ClassVar[str] = "echo"

    def _generation(self, call: TextCall, cancel: Event | None = None) -> Iterator[Any]:
        self._check_call_options(call.options)
        yield from call.prompt.split()
        yield info(completion=len(call.prompt.split()))


class ChatEcho(EchoParams, LocalChatModel):
    _llm_type_name: ClassVar[str] = "echo-chat"

    def _events(self, call: ChatCall, cancel: Event | None = None) -> Iterator[Any]:
        self._check_call_options(call.options)
        yield from self.script


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def test_llm_invoke_is_the_joined_stream_with_usage_and_timings() -> None:
    llm = Echo()
    handler = Tokens()
    assert llm.invoke("a b c", config={"callbacks": [handler]}) == "abc"
    assert handler.tokens == ["a", "b", "c"]
    assert [c for c in llm.stream("a b")] == ["a", "b", ""]
    result = llm.generate(["a b", "c"])
    generation_info = result.generations[0][0].generation_info or {}
    assert generation_info["usage"] == {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
    assert generation_info["timings"]["eval_tokens"] == 2
    assert result.llm_output == {
        "token_usage": {"input_tokens": 10, "output_tokens": 3, "total_tokens": 13},
        "model_name": "echo.gguf",
    }
    assert asyncio.run(llm.ainvoke("x y")) == "xy"
    assert asyncio.run(llm.abatch(["a", "b c"])) == ["a", "bc"]


def test_declarations_give_tracing_identity_and_option_checks() -> None:
    llm = Echo(temperature=0.5)
    assert llm._llm_type == "echo"
    assert llm._identifying_params == {"temperature": 0.5}
    params = llm._get_ls_params(stop=["."], max_tokens=4)
    assert params["ls_provider"] == "echo" and params["ls_model_type"] == "llm"
    assert params["ls_max_tokens"] == 4 and params["ls_stop"] == ["."]
    assert ChatEcho()._get_ls_params()["ls_model_type"] == "chat"
    assert "tools" in ChatEcho.call_options() and "tools" not in Echo.call_options()
    with pytest.raises(TypeError, match="did you mean `temperature`"):
        llm.invoke("a", temprature=0.1)


def test_chat_text_and_the_last_chunk() -> None:
    chat = ChatEcho(script=[TextDelta("Hel"), TextDelta("lo"), Done((info(),))])
    handler = Tokens()
    message = chat.invoke("hi", config={"callbacks": [handler]})
    assert message.content == "Hello" and handler.tokens == ["Hel", "lo"]
    assert message.usage_metadata == {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}
    metadata = message.response_metadata
    assert metadata["finish_reason"] == "stop" and metadata["model_provider"] == "echo"
    assert metadata["timings"]["prompt_tokens"] == 5
    chunks = asyncio.run(_achunks(chat))
    assert [c.content for c in chunks] == ["Hel", "lo", ""]
    assert chunks[-1].chunk_position == "last"


async def _achunks(chat: ChatEcho) -> list[Any]:
    return [c async for c in chat.astream("hi")]


def test_tool_call_text_is_parsed_against_the_bound_tools() -> None:
    call = '<tool_call>{"name": "weather", "arguments": {"city": "Paris"}}</tool_call>'
    chat = ChatEcho(script=[ToolCallsText(call), Done((info(), info(prompt=9)))])
    message = chat.bind_tools([WEATHER], tool_choice="any").invoke("Weather in Paris?")
    assert isinstance(message, AIMessage)
    assert message.tool_calls[0]["name"] == "weather"
    assert message.tool_calls[0]["args"] == {"city": "Paris"}
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == 5  # steps share the prompt's KV cache
    assert message.usage_metadata["output_tokens"] == 6


def test_a_call_cut_off_by_max_tokens_is_dropped_and_reported() -> None:
    cut = '<tool_call>{"name": "weather", "arguments": {"ci'
    chat = ChatEcho(script=[ToolCallsText(cut), Done((info(finish="length"),))])
    message = chat.bind_tools([WEATHER]).invoke("Weather?")
    assert isinstance(message, AIMessage)
    assert message.tool_calls == [] and message.invalid_tool_calls == []
    assert message.response_metadata["finish_reason"] == "length"
    assert message.response_metadata["dropped_tool_calls"] == 1


def test_server_parsed_deltas_and_checked_replies() -> None:
    deltas = [
        ToolCallDelta("weather", '{"city": ', "call_1", 0),
        ToolCallDelta(None, '"Oslo"}', None, 0),
        Done((info(),)),
    ]
    message = ChatEcho(script=deltas).bind_tools([WEATHER]).invoke("Weather in Oslo?")
    assert isinstance(message, AIMessage)
    assert message.tool_calls[0]["args"] == {"city": "Oslo"}
    assert message.response_metadata["finish_reason"] == "tool_calls"
    retried = [Reply('{"a": 1}'), Done((info(), info()), attempts=2, metadata={"attempts": 2})]
    reply = ChatEcho(script=retried).invoke("JSON please", response_format={"type": "json_object"})
    assert reply.content == '{"a": 1}'
    assert reply.response_metadata["attempts"] == 2
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == 10  # a retry evaluates the prompt again


def test_the_call_is_parsed_once_with_its_instructions() -> None:
    chat = ChatEcho()
    call = chat._parse_call(
        [],
        None,
        {"tools": [WEATHER], "tool_choice": "weather", "response_format": {"type": "json_object"}},
    )
    assert call.choice.forced and call.choice.name == "weather"
    assert call.schema is None and len(call.instructions) == 2
    assert "weather" in str(call.prompt_messages()[0].content)
    none = chat._parse_call([], None, {"tools": [WEATHER], "tool_choice": "none"})
    assert none.tools == [] and none.instructions == []
