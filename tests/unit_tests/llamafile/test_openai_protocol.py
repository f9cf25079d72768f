"""The OpenAI-compatible chat protocol without I/O: stream chunks in, deltas and one info out."""

from __future__ import annotations

import time
from typing import Any

import pytest

from langchain_localkit._core.generation import TextDelta, ToolCallDelta
from langchain_localkit.engines.http.openai import ChatStreamReader, chat_chunks, chat_request

MODEL = "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
ENVELOPE = {
    "created": 1796185696,
    "id": "chatcmpl-h3wu8kTK6v06GFgUi7Ak1K5J2zCJGbJ5",
    "model": MODEL,
    "system_fingerprint": "b1-0c1e570",
    "object": "chat.completion.chunk",
}


def llama_chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> dict[str, Any]:
    return {"choices": [{"finish_reason": finish, "index": 0, "delta": delta}], **ENVELOPE, **more}


# recorded from llama-server (build b1-0c1e570, SmolLM2-135M, `--jinja`, max_tokens=4,
# stream_options.include_usage): usage and timings come in a last chunk without choices
LLAMA_SERVER_TEXT = [
    llama_chunk({"role": "assistant", "content": None}),
    llama_chunk({"content": "I"}),
    llama_chunk({"content": "'m"}),
    llama_chunk({"content": " glad"}),
    llama_chunk({"content": " you"}),
    llama_chunk({}, "length"),
    {
        "choices": [],
        **ENVELOPE,
        "usage": {
            "completion_tokens": 4,
            "prompt_tokens": 32,
            "total_tokens": 36,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
        "timings": {
            "cache_n": 0,
            "prompt_n": 32,
            "prompt_ms": 3744.984,
            "prompt_per_token_ms": 117.03075,
            "prompt_per_second": 8.544762808065402,
            "predicted_n": 4,
            "predicted_ms": 1502.783,
            "predicted_per_token_ms": 500.92766666666665,
            "predicted_per_second": 1.9962962051074573,
        },
    },
]

# recorded likewise without include_usage: no usage at all, timings on the finishing chunk
LLAMA_SERVER_NO_USAGE = [
    llama_chunk({"role": "assistant", "content": None}),
    llama_chunk({"content": "Hello"}),
    llama_chunk({"content": "!"}),
    llama_chunk(
        {},
        "length",
        timings={
            "cache_n": 24,
            "prompt_n": 7,
            "prompt_ms": 636.135,
            "predicted_n": 2,
            "predicted_ms": 383.963,
        },
    ),
]

# llama.cpp's streamed tool calls: a header fragment with id and name, then argument fragments
LLAMA_SERVER_TOOL_CALL = [
    llama_chunk({"role": "assistant", "content": None}),
    llama_chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        }
    ),
    llama_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
    llama_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
    llama_chunk({}, "tool_calls"),
    {
        "choices": [],
        **ENVELOPE,
        "usage": {"completion_tokens": 12, "prompt_tokens": 80, "total_tokens": 92},
        "timings": {"cache_n": 70, "prompt_n": 10, "predicted_n": 12, "predicted_ms": 90.0},
    },
]

# vLLM's shape: `usage: null` on every chunk, then usage in a last chunk; no timings
VLLM = [
    {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "Qwen/Qwen2.5-0.5B-Instruct",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
            }
        ],
        "usage": None,
    },
    {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "Qwen/Qwen2.5-0.5B-Instruct",
        "choices": [{"index": 0, "delta": {"content": "Hi there"}, "finish_reason": None}],
        "usage": None,
    },
    {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "Qwen/Qwen2.5-0.5B-Instruct",
        "choices": [
            {"index": 0, "delta": {"content": ""}, "finish_reason": "stop", "stop_reason": None}
        ],
        "usage": None,
    },
    {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "Qwen/Qwen2.5-0.5B-Instruct",
        "choices": [],
        "usage": {"prompt_tokens": 12, "total_tokens": 15, "completion_tokens": 3},
    },
]


def read(chunks: list[dict[str, Any]], **kwargs: Any) -> tuple[list[Any], ChatStreamReader]:
    reader = ChatStreamReader(started=time.perf_counter(), **kwargs)
    deltas = [d for c in chunks for d in reader.feed(c)]
    return deltas, reader


def test_llama_server_text_stream() -> None:
    deltas, reader = read(LLAMA_SERVER_TEXT)
    assert deltas == [TextDelta("I"), TextDelta("'m"), TextDelta(" glad"), TextDelta(" you")]
    info = reader.finish()
    assert (info.finish_reason, info.stop_reason) == ("length", None)
    assert (info.prompt_tokens, info.completion_tokens) == (32, 4)
    assert info.model_name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert info.extra == {}
    t = info.timings
    assert (t.prompt_tokens, t.eval_tokens, t.cached_tokens) == (32, 4, 0)
    assert (t.prompt_ms, t.eval_ms) == (3744.984, 1502.783)
    assert t.source == "llama.cpp server"
    assert t.ttft_ms is not None and t.total_ms is not None and t.ttft_ms <= t.total_ms


def test_counts_fall_back_to_timings_without_usage() -> None:
    _, reader = read(LLAMA_SERVER_NO_USAGE)
    info = reader.finish()
    assert (info.prompt_tokens, info.completion_tokens) == (31, 2)  # prompt_n + cache_n
    assert info.timings.cached_tokens == 24


def test_tool_call_stream() -> None:
    deltas, reader = read(LLAMA_SERVER_TOOL_CALL)
    assert deltas == [
        ToolCallDelta(name="get_weather", args="", id="call_abc", index=0),
        ToolCallDelta(name=None, args='{"city": ', id=None, index=0),
        ToolCallDelta(name=None, args='"Paris"}', id=None, index=0),
    ]
    info = reader.finish()
    assert info.finish_reason == "stop"
    assert info.extra == {"server_finish_reason": "tool_calls"}
    assert (info.prompt_tokens, info.completion_tokens) == (80, 12)
    assert info.timings.ttft_ms is not None  # a tool call's first fragment counts


def test_vllm_like_stream_without_timings() -> None:
    deltas, reader = read(VLLM)
    assert deltas == [TextDelta("Hi there")]
    info = reader.finish()
    assert (info.finish_reason, info.prompt_tokens, info.completion_tokens) == ("stop", 12, 3)
    assert info.model_name == "Qwen/Qwen2.5-0.5B-Instruct"
    t = info.timings
    assert (t.prompt_tokens, t.eval_tokens, t.source) == (12, 3, "measured")
    # no server figures: the client's clock, prompt time up to the first delta, eval after it
    assert t.ttft_ms is not None and t.total_ms is not None
    assert t.prompt_ms == t.ttft_ms and t.eval_ms == t.total_ms - t.ttft_ms


def test_the_given_model_name_wins() -> None:
    # llama-server reports its model file even when the request named another model
    _, reader = read(LLAMA_SERVER_TEXT, model_name="mine")
    assert reader.finish().model_name == "mine"
    _, nameless = read([{"choices": [{"delta": {"content": "x"}}]}])
    info = nameless.finish()
    assert (info.model_name, info.finish_reason, info.prompt_tokens) == ("", "stop", 0)
    assert info.timings.ttft_ms is not None


def test_an_empty_stream() -> None:
    info = ChatStreamReader(started=time.perf_counter()).finish()
    assert (info.finish_reason, info.completion_tokens, info.timings.ttft_ms) == ("stop", 0, None)


def test_chat_chunks_of_an_event() -> None:
    one = {"choices": []}
    assert chat_chunks(one) == [one]
    assert chat_chunks([one, "junk", one]) == [one, one]
    assert chat_chunks(None) == []


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, {"stream": True, "stream_options": {"include_usage": True}}),
        ({"stream": False, "max_tokens": 0}, {"stream": False}),
        ({"max_tokens": 8, "model": "m"}, {"max_tokens": 8, "model": "m"}),
        ({"json_object": True}, {"response_format": {"type": "json_object"}}),
        (
            {"response_schema": {"type": "object"}, "json_object": True},
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "response", "schema": {"type": "object"}},
                }
            },
        ),
    ],
)
def test_chat_request(kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    messages = [{"role": "user", "content": "Hi"}]
    body = chat_request(messages, params={"temperature": 0.2}, **kwargs)
    assert body["messages"] == messages and body["temperature"] == 0.2
    assert {k: body[k] for k in expected} == expected
    assert "tools" not in body


def test_chat_request_tools() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    auto = chat_request([], tools=tools)
    assert (auto["tool_choice"], auto["parallel_tool_calls"]) == ("auto", False)
    named = chat_request([], tools=tools, tool_choice="required", tool_name="f")
    assert named["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    many = chat_request([], tools=tools, tool_choice="required", parallel_tool_calls=True)
    assert (many["tool_choice"], many["parallel_tool_calls"]) == ("required", True)
    assert "tool_choice" not in chat_request([], tool_choice="required")
