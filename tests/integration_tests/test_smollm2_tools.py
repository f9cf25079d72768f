"""Tools and structured output on a real instruct model (SmolLM2-135M-Instruct), in process.

The grammar guarantee: every tool call and every structured object is valid JSON that matches
its schema, on every prompt. `tool_choice="auto"` lets the model answer in words when it does
not call; how often it calls is measured on a fixed set of prompts and reported, not asserted
(a 135M model's judgement is not the package's).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from langchain_localkit import ChatLlamaCpp

pytestmark = pytest.mark.smollm2


class GetWeather(BaseModel):
    """Get the current weather in a city."""

    city: str = Field(description="the city", max_length=40)
    unit: Literal["celsius", "fahrenheit"] = "celsius"


class Add(BaseModel):
    """Add two integers."""

    a: int
    b: int


class City(BaseModel):
    """A city and its country."""

    name: str = Field(max_length=40)
    country: str = Field(max_length=40)
    capital: bool


TOOL_PROMPTS = [
    "What is the weather in Paris?",
    "How warm is it in Tokyo right now, in fahrenheit?",
    "Add 17 and 25.",
    "What is 3 plus 4?",
    "Is it raining in London?",
]
"""Prompts a tool fits."""

CHAT_PROMPTS = [
    "Hello! How are you?",
    "Write a haiku about the sea.",
    "Who wrote Romeo and Juliet?",
    "Thank you for your help.",
    "What is your name?",
]
"""Prompts no tool fits."""


@pytest.fixture(scope="module")
def chat(smollm2_path: Path) -> ChatLlamaCpp:
    return ChatLlamaCpp(
        model_path=str(smollm2_path), temperature=0, repeat_penalty=1.1, max_tokens=96
    )


def _check_call(call: dict[str, object]) -> None:
    schema = {"GetWeather": GetWeather, "Add": Add}[str(call["name"])]
    schema.model_validate(call["args"])


@pytest.mark.parametrize("prompt", TOOL_PROMPTS + CHAT_PROMPTS)
def test_forced_calls_are_always_valid(chat: ChatLlamaCpp, prompt: str) -> None:
    msg = chat.bind_tools([GetWeather, Add], tool_choice="any").invoke(prompt)
    assert msg.tool_calls, msg
    for call in msg.tool_calls:
        _check_call(dict(call))
    assert msg.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    "prompt", ["Paris is the capital of France.", "Lyon is a city in France.", "Osaka, Japan."]
)
def test_structured_output_is_always_valid(chat: ChatLlamaCpp, prompt: str) -> None:
    for method in ("json_schema", "function_calling"):
        city = chat.with_structured_output(City, method=method).invoke(prompt)
        assert isinstance(city, City)


def test_auto_answers_in_words_or_calls_validly_and_the_rate_is_measured(
    chat: ChatLlamaCpp, record_property: pytest.RecordProperty, tmp_path: Path
) -> None:
    bound = chat.bind_tools([GetWeather, Add], tool_choice="auto")
    called = {}
    for prompt in TOOL_PROMPTS + CHAT_PROMPTS:
        msg = bound.invoke(prompt)
        for call in msg.tool_calls:
            _check_call(dict(call))
        assert msg.tool_calls or str(msg.content).strip(), prompt  # a call, or an answer
        assert not msg.invalid_tool_calls
        called[prompt] = bool(msg.tool_calls)
    fits = sum(called[p] for p in TOOL_PROMPTS)
    misfits = sum(called[p] for p in CHAT_PROMPTS)
    figure = {"tool_prompts_called": fits, "chat_prompts_called": misfits, "per_prompt": called}
    record_property("auto_tool_choice", json.dumps(figure))
    print(f"\ntool_choice='auto' on SmolLM2-135M-Instruct: {json.dumps(figure)}")
