"""`reasoning` is a field and a call option of every generating face; checked replies."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import ValidationError

from langchain_localkit._core.generation import (
    Done,
    GenerationInfo,
    ReasoningDelta,
    Reply,
)
from langchain_localkit._core.timings import Timings
from langchain_localkit._core.tools import ToolChoice
from langchain_localkit._exports import faces
from langchain_localkit._faces.chat import ChatCall
from langchain_localkit._faces.checked import checked_events
from langchain_localkit._faces.params import GenerationParams


def _generating_faces() -> list[tuple[str, type[GenerationParams]]]:
    found = []
    for name, module in sorted(faces().items()):
        cls = getattr(importlib.import_module(module), name)
        if issubclass(cls, GenerationParams):
            found.append((name, cls))
    return found


FACES = _generating_faces()


def _build(cls: type[GenerationParams], path: Path, **fields: Any) -> GenerationParams:
    runtime = cls._localkit_runtime
    if runtime == "llamacpp":
        return cls(model_path=str(path), **fields)
    if runtime == "gpt4all":
        return cls(model=str(path), **fields)
    if runtime == "ollama":
        return cls(model="qwen3:0.6b", **fields)
    return cls(base_url="http://127.0.0.1:9", **fields)


def test_every_generating_face_is_covered() -> None:
    names = {name for name, _ in FACES}
    assert {"LlamaCpp", "ChatLlamaCpp", "GPT4All", "ChatGPT4All"} <= names


@pytest.mark.parametrize(("name", "cls"), FACES, ids=[n for n, _ in FACES])
def test_reasoning_is_a_field(name: str, cls: type[GenerationParams], tiny_gguf_path: Path) -> None:
    assert _build(cls, tiny_gguf_path).reasoning is None
    for value in (True, False, "low", "medium", "high"):
        assert _build(cls, tiny_gguf_path, reasoning=value).reasoning == value
    assert _build(cls, tiny_gguf_path, reasoning="HIGH").reasoning == "high"
    with pytest.raises(ValidationError, match="reasoning="):
        _build(cls, tiny_gguf_path, reasoning="max")


@pytest.mark.parametrize(("name", "cls"), FACES, ids=[n for n, _ in FACES])
def test_reasoning_is_a_call_option(
    name: str, cls: type[GenerationParams], tiny_gguf_path: Path
) -> None:
    assert "reasoning" in cls.call_options()
    face = _build(cls, tiny_gguf_path, reasoning=True)
    face._check_call_options({"reasoning": False})  # not refused as unknown
    options: dict[str, Any] = {"reasoning": "low", "other": 1}
    assert face._reasoning_of(options) == "low" and options == {"other": 1}
    assert face._reasoning_of({}) is True  # the field, without the option
    assert face._reasoning_of({"reasoning": None}) is None  # None as an option still counts
    with pytest.raises(ValueError, match="reasoning="):
        face._reasoning_of({"reasoning": "max"})


# ---- checked replies with thoughts -----------------------------------------------------------


def _info(tokens: int = 4) -> GenerationInfo:
    return GenerationInfo("stop", "eos", 3, tokens, Timings(), "m.gguf", reasoning_tokens=2)


def _call() -> ChatCall:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    return ChatCall(
        messages=[],
        stop=None,
        options={},
        tools=[],
        choice=ToolChoice("none"),
        response_format={"type": "json_object"},
        schema=schema,
    )


def test_thoughts_are_shown_at_once_and_never_parsed() -> None:
    seen: list[Sequence[BaseMessage]] = []
    replies = iter(['{"a": "not an int"}', '{"a": 7}'])

    def attempt(messages: Sequence[BaseMessage], number: int) -> Iterator[Any]:
        seen.append(list(messages))
        yield ReasoningDelta(f"thought {number} {{")  # a brace in a thought: not JSON
        yield next(replies)
        yield _info()

    events = list(checked_events(_call(), attempt, max_retries=2, label="m"))
    assert events[0] == ReasoningDelta("thought 1 {")
    assert events[1] == ReasoningDelta("thought 2 {")
    reply = events[2]
    assert isinstance(reply, Reply) and json.loads(reply.text) == {"a": 7}
    done = events[3]
    assert isinstance(done, Done) and done.attempts == 2 and done.reasoning_tokens == 4
    retry = seen[1][-2]  # the first reply, told back to the model with its thought
    assert isinstance(retry, AIMessage) and retry.content == '{"a": "not an int"}'
    assert retry.additional_kwargs == {"reasoning_content": "thought 1 {"}


def test_attempts_of_text_only_still_work() -> None:
    def attempt(messages: Sequence[BaseMessage], number: int) -> Iterator[Any]:
        yield '{"a":'
        yield " 1}"
        yield _info()

    events = list(checked_events(_call(), attempt, max_retries=0, label="m"))
    assert [type(e) for e in events] == [Reply, Done]
    assert json.loads(events[0].text) == {"a": 1}  # type: ignore[union-attr]
