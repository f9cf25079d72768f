"""The checks in front of llama.cpp's grammar sampler, and of a chat call's messages and options.

`check_grammar` and `schema_grammar` call llama.cpp's real parser (`llama_sampler_init_grammar`)
without a model: a grammar made from a schema names no tokens, so no vocabulary is needed.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage, ToolMessage
from pydantic import BaseModel, Field

from langchain_localkit import GrammarError, InvalidRequestError
from langchain_localkit._core.grammar_check import grammar_problem
from langchain_localkit._faces.message_checks import check_messages
from langchain_localkit._faces.params import _check_option_value
from langchain_localkit._faces.structured import checked_tools
from langchain_localkit.engines.gbnf import (
    check_grammar,
    json_schema_to_gbnf,
    schema_grammar,
    unsupported_keywords,
)

# --- grammar_problem: what would break llama.cpp's parser ------------------------------------


@pytest.mark.parametrize(
    ("grammar", "found"),
    [
        ('root ::= "a"{3,1}', "{3,1}"),
        ("root ::= x\nx ::= [a-z]{ 10 , 2 }", "line 2"),
        ('root ::= "a"{3}', None),
        ('root ::= "a"{1,}', None),
        ('root ::= "a"{2,5}', None),
        ('root ::= "{3,1}"', None),  # inside a string literal
        ('root ::= "\\"{3,1}"', None),  # after an escaped quote, still inside
        ("root ::= [{3,1}]", None),  # inside a character class
        ('root ::= "a" # {3,1} in a comment', None),
        ("root ::= ( unclosed", None),  # llama.cpp reports this one itself
    ],
)
def test_grammar_problem(grammar: str, found: str | None) -> None:
    problem = grammar_problem(grammar)
    if found is None:
        assert problem is None, problem
    else:
        assert problem is not None and found in problem


# --- check_grammar: llama.cpp's own parser, verdict cached ------------------------------------


class _NoVocabulary:
    """What `check_grammar` reads of a `llama_cpp.Llama`: its model's vocabulary (none here)."""

    vocab = None


@pytest.mark.parametrize(
    ("grammar", "says"),
    [
        ("root ::= ( unclosed", "expecting ')' at the end of the grammar"),
        ('start ::= "a"', "root"),
        ("root ::= nothing", "Undefined rule identifier 'nothing'"),
        ('root ::= root "a" | "a"', "left recursion"),
        ('root ::= "a"{4,2}', "{2,4}"),
    ],
)
def test_check_grammar_refuses_with_llama_cpps_reason(grammar: str, says: str) -> None:
    pytest.importorskip("llama_cpp")
    llm = _NoVocabulary()
    with pytest.raises(GrammarError) as info:
        check_grammar(llm, grammar)
    assert says in str(info.value) and "grammars/README.md" in str(info.value)
    assert info.value.grammar == grammar and info.value.reason
    with pytest.raises(GrammarError):  # the cached verdict
        check_grammar(llm, grammar)


def test_check_grammar_passes_a_valid_grammar(capfd: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("llama_cpp")
    check_grammar(_NoVocabulary(), 'root ::= "yes" | "no"')
    with pytest.raises(GrammarError):
        check_grammar(_NoVocabulary(), "root ::= ( bad")
    assert "error parsing grammar" not in capfd.readouterr().err  # the parser's print is kept


# --- schemas no grammar can follow ------------------------------------------------------------


def test_unsupported_keywords_are_found_where_they_are_keywords() -> None:
    schema = {
        "type": "object",
        "properties": {
            "not": {"type": "string"},  # a property named like a keyword
            "a": {"anyOf": [{"type": "string"}, {"not": {"type": "null"}}]},
        },
        "$defs": {"D": {"type": "object", "patternProperties": {"x": {}}}},
        "items": {"if": {"type": "string"}},
    }
    assert sorted(unsupported_keywords(schema)) == [
        "#/$defs/D: patternProperties",
        "#/items: if",
        "#/properties/a/anyOf/1: not",
    ]
    assert unsupported_keywords({"type": "array", "items": {"type": "string"}}) == []


def test_schema_grammar() -> None:
    pytest.importorskip("llama_cpp")
    good = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert "root ::=" in schema_grammar(lambda: json_schema_to_gbnf(good), [good], "it")
    nowhere = {"type": "object", "properties": {"a": {"$ref": "#/$defs/X"}}}
    with pytest.raises(GrammarError, match=r"cannot be converted \(AssertionError"):
        schema_grammar(lambda: json_schema_to_gbnf(nowhere), [nowhere], "the thing")
    dropped = {"type": "object", "patternProperties": {"x": {}}}
    with pytest.raises(GrammarError, match="patternProperties"):
        schema_grammar(lambda: pytest.fail("not built"), [dropped], "the thing")
    with pytest.raises(GrammarError, match="does not parse"):
        schema_grammar(lambda: "root ::= ( x", [good], "the thing")


def test_checked_tools() -> None:
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    assert checked_tools([add], "Chat")[0]["function"]["name"] == "add"
    no_name = {"type": "function", "function": {"parameters": {"type": "object"}}}
    with pytest.raises(InvalidRequestError, match="no 'name'"):
        checked_tools([no_name], "Chat")
    listed = {"type": "function", "function": {"name": "f", "parameters": []}}
    with pytest.raises(InvalidRequestError, match="not a JSON-schema object"):
        checked_tools([listed], "Chat")


# --- messages ---------------------------------------------------------------------------------


def _call(call_id: str | None) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": "f", "args": {}, "id": call_id}])


@pytest.mark.parametrize(
    ("messages", "says"),
    [
        ([], "no messages"),
        ([HumanMessage("q"), ToolMessage("r", tool_call_id="1")], "no earlier AIMessage"),
        ([_call("1"), ToolMessage("r", tool_call_id="2")], "their ids: 1"),
        ([HumanMessage("q"), RemoveMessage(id="x")], "RemoveMessage"),
        ([HumanMessage([{"type": "image", "url": "u"}])], "'image'"),
    ],
)
def test_check_messages_refuses(messages: list[Any], says: str) -> None:
    with pytest.raises(InvalidRequestError, match=says):
        check_messages(messages, "Chat", text_only=True)


@pytest.mark.parametrize(
    "messages",
    [
        [HumanMessage("q")],
        [_call("1"), ToolMessage("r", tool_call_id="1")],
        [_call(None), ToolMessage("r", tool_call_id="anything")],
        [HumanMessage([{"type": "text", "text": "q"}, "more"])],
    ],
)
def test_check_messages_passes(messages: list[Any]) -> None:
    check_messages(messages, "Chat", text_only=True)


def test_images_pass_where_the_model_may_read_them() -> None:
    check_messages([HumanMessage([{"type": "image", "url": "u"}])], "Chat", text_only=False)


# --- call options -----------------------------------------------------------------------------


class _Face(BaseModel):
    temperature: float = Field(default=0.8, ge=0.0)
    seed: int = -1
    frequency_penalty: float = 0.0


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("temperature", -1.0, "greater than or equal to 0"),
        ("seed", "abc", "valid integer"),
        ("frequency_penalty", float("nan"), "NaN"),
    ],
)
def test_call_option_values(name: str, value: Any, says: str) -> None:
    with pytest.raises(InvalidRequestError, match=says) as info:
        _check_option_value(_Face, name, value)
    assert f"{name}=" in str(info.value) and "_Face" in str(info.value)
    _check_option_value(_Face, name, _Face.model_fields[name].default)
