"""ChatGPT4All on the real bindings: rendering, usage, best-effort tools and JSON with retries."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel

from langchain_localkit import ChatGPT4All, Timings
from langchain_localkit._faces.checked import check_reply
from tests.integration_tests.gpt4all._faces import greedy

pytest.importorskip("gpt4all")

_chat = functools.partial(greedy, ChatGPT4All)


def test_messages_use_the_gguf_template_not_the_bindings_alpaca(tiny_gguf_path: Path) -> None:
    chat = _chat(tiny_gguf_path)
    text, stops = chat._prompt([("system", "Be brief."), ("human", "Hi")])  # type: ignore[list-item]
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>")
    assert text.endswith("<|im_start|>assistant\n") and "### Human" not in text
    assert "<|im_end|>" in stops


def test_invoke_usage_and_timings(tiny_gguf_path: Path) -> None:
    msg = _chat(tiny_gguf_path).invoke([("system", "Be brief."), ("human", "Hi")])
    assert isinstance(msg, AIMessage) and msg.content
    assert msg.usage_metadata is not None and msg.usage_metadata["output_tokens"] == 8
    t = Timings.from_dict(msg.response_metadata["timings"])
    assert t.eval_tokens == 8 and t.prompt_tokens == msg.usage_metadata["input_tokens"]
    assert msg.response_metadata["model_provider"] == "gpt4all"
    assert msg.response_metadata["finish_reason"] == "length"


def test_multi_turn_renders_the_whole_history(tiny_gguf_path: Path) -> None:
    chat = _chat(tiny_gguf_path)
    first = chat.invoke("Hi")
    history = [("human", "Hi"), ("ai", str(first.content)), ("human", "And then?")]
    longer = chat.invoke(history)  # type: ignore[arg-type]
    assert longer.usage_metadata is not None and first.usage_metadata is not None
    assert longer.usage_metadata["input_tokens"] > first.usage_metadata["input_tokens"] + 8


def test_stream_matches_invoke(tiny_gguf_path: Path) -> None:
    chat = _chat(tiny_gguf_path)
    chunks = list(chat.stream("Hi"))
    assert "".join(str(c.content) for c in chunks) == chat.invoke("Hi").content
    assert chunks[-1].usage_metadata is not None or chunks[-2].usage_metadata is not None


class SetAlarm(BaseModel):
    """Set an alarm."""

    hour: int


def test_forced_tool_calls_are_retried_then_reported(tiny_gguf_path: Path) -> None:
    # The tiny model cannot write a tool call: every attempt fails the check, and the last
    # reply comes back with the attempt count, never a made-up call.
    chat = _chat(tiny_gguf_path, max_retries=2)
    msg = chat.bind_tools([SetAlarm], tool_choice="SetAlarm").invoke("Wake me at 7")
    assert msg.tool_calls == []
    assert msg.response_metadata["attempts"] == 3
    timings = Timings.from_dict(msg.response_metadata["timings"])
    assert timings.eval_tokens == 3 * 8  # three generations, all counted
    assert msg.usage_metadata is not None and msg.usage_metadata["output_tokens"] == 24


def test_structured_output_failure_is_reported_with_include_raw(tiny_gguf_path: Path) -> None:
    chat = _chat(tiny_gguf_path, max_retries=0)
    out = chat.with_structured_output(SetAlarm, include_raw=True).invoke("Wake me at 7")
    assert out["parsed"] is None and out["parsing_error"] is not None
    assert out["raw"].response_metadata["attempts"] == 1


def test_check_accepts_a_valid_call_and_rejects_bad_arguments(tiny_gguf_path: Path) -> None:
    chat = _chat(tiny_gguf_path)
    plan = chat._parse_call([], None, {"tools": [_tool()], "tool_choice": "any"})
    good, problem = check_reply(plan, '<tool_call>{"name": "SetAlarm", "arguments": {"hour": 7}}')
    assert problem is None and good.tool_calls[0]["name"] == "SetAlarm"
    _, problem = check_reply(
        plan, '<tool_call>{"name": "SetAlarm", "arguments": {"hour": "7"}}</tool_call>'
    )
    assert problem is not None and "expected integer" in problem
    _, problem = check_reply(plan, "I will not call it.")
    assert problem == "no tool call in the required format"
    json_plan = chat._parse_call(
        [],
        None,
        {"response_format": {"type": "json_schema", "schema": _tool()["function"]["parameters"]}},
    )
    value, problem = check_reply(json_plan, 'Here: {"hour": 7} done')
    assert problem is None and value.text == '{"hour": 7}'


def _tool() -> dict[str, object]:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    return convert_to_openai_tool(SetAlarm)
