"""Property-based tests (hypothesis): parsers, splitters, guards and grammars on random input.

- the tool-call parser never raises on any text, and reads back exactly the calls written in
  the tool-call format (any prose before, any number of calls, any JSON arguments);
- `first_json_value` and `schema_errors` raise nothing but their documented errors on any text,
  any value and any (even malformed) schema;
- `ThoughtSplitter` gives the same thoughts and answer however the reply is chunked, and splits
  a well-formed reply exactly;
- the special-token guard: whatever a message says, the rendered prompt has exactly the turn
  markers of the real turns, in every built-in format;
- the template sandbox renders or raises `TemplateError` on random compositions of loops,
  repetition and padding, in bounded time;
- GBNF from random JSON schemas (the response format and tool paths) is a grammar llama.cpp
  parses, or a `GrammarError`.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_localkit._core.errors import GrammarError, TemplateError
from langchain_localkit._core.reasoning import HARMONY, MISTRAL_THINK, THINK, ThoughtSplitter
from langchain_localkit._core.tools import (
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    first_json_value,
    parse_tool_calls,
    schema_errors,
)
from langchain_localkit.prompts import _limits, get_family, render_chat
from langchain_localkit.prompts.sandbox import render_template

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
    for n in ("get_weather", "set_alarm", "search")
]
NAMES = [t["function"]["name"] for t in TOOLS]

FRAGMENTS = [
    TOOL_CALL_OPEN, TOOL_CALL_CLOSE, "<tool_", "call>", "{", "}", "[", "]", '"', ":", ",",
    '"name"', '"arguments"', '"get_weather"', "null", "1e999", "\\", "\n", " ",
    "<think>", "</think>", "<thi", "nk>", "[THINK]", "[/THINK]", "<|channel|>", "<|message|>",
    "<|end|>", "<|start|>", "<|return|>", "analysis", "final", "<|",
    "<|im_start|>", "<|im_end|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
    "<start_of_turn>", "<end_of_turn>", "[INST]", "[/INST]", "<s>", "</s>", "<<SYS>>",
    "<|im_", "start|>", "\u200b", "user", "system", "assistant", "model",
]  # fmt: skip
"""Pieces of every format's syntax: random text made of them reaches the parsers' edge cases."""

nasty_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=40).map(
    "".join
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)


# --- tool calls ---------------------------------------------------------------------------


@SETTINGS
@given(nasty_text)
def test_the_tool_call_parser_never_raises(text: str) -> None:
    prose, calls, invalid = parse_tool_calls(text, TOOLS)
    at = text.find(TOOL_CALL_OPEN)
    assert prose == (text if at < 0 else text[:at])
    for call in calls:
        assert call["name"] in NAMES and isinstance(call["args"], dict)
    for bad in invalid:
        assert isinstance(bad["error"], str) and bad["error"]


@SETTINGS
@given(
    st.text(max_size=40).filter(lambda t: TOOL_CALL_OPEN not in t),
    st.lists(st.tuples(st.sampled_from(NAMES), json_objects), min_size=1, max_size=4),
    st.booleans(),
)
def test_the_tool_call_format_reads_back_to_the_same_calls(
    prose: str, written: list[tuple[str, dict[str, Any]]], ascii_only: bool
) -> None:
    """What the grammar (and the tool prompt) makes the model write parses back exactly."""
    blocks = [
        TOOL_CALL_OPEN
        + json.dumps({"name": name, "arguments": args}, ensure_ascii=ascii_only)
        + TOOL_CALL_CLOSE
        for name, args in written
    ]
    text = prose + "\n".join(blocks)
    got_prose, calls, invalid = parse_tool_calls(text, TOOLS)
    assert invalid == []
    assert got_prose == prose
    assert [(c["name"], c["args"]) for c in calls] == written


def test_deeply_nested_json_is_an_invalid_call_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for text in (
        TOOL_CALL_OPEN + deep + TOOL_CALL_CLOSE,
        TOOL_CALL_OPEN + "[" * 100_000,  # cut off
        TOOL_CALL_OPEN + '{"name": "search", "arguments": ' + deep + "}" + TOOL_CALL_CLOSE,
    ):
        _, calls, invalid = parse_tool_calls(text, TOOLS)
        assert calls == [] and len(invalid) == 1
    with pytest.raises(ValueError, match="nested too deeply"):
        first_json_value("answer: " + deep)


@SETTINGS
@given(nasty_text)
def test_first_json_value_finds_a_value_or_says_there_is_none(text: str) -> None:
    try:
        value = first_json_value(text)
    except ValueError:
        return
    assert isinstance(value, dict | list)


schemas = st.recursive(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(
                ["object", "array", "string", "integer", "number", "boolean", "null", "x", 3]
            )
            | st.lists(st.sampled_from(["string", "null", "integer"]), max_size=2),
            "enum": st.lists(json_values, max_size=3) | json_values,
            "const": json_values,
            "required": st.lists(st.text(max_size=3), max_size=3) | st.text(max_size=3),
            "additionalProperties": st.booleans(),
            "$ref": st.sampled_from(["#/$defs/a", "#/$defs/nope", "#/definitions/a", 7]),
        },
    ),
    lambda inner: st.fixed_dictionaries(
        {},
        optional={
            "properties": st.dictionaries(st.text(max_size=3), inner, max_size=3)
            | st.lists(inner, max_size=2),
            "items": inner | st.booleans(),
            "anyOf": st.lists(inner | st.text(max_size=2), max_size=3),
            "oneOf": st.lists(inner, max_size=2) | st.text(max_size=2),
            "allOf": st.lists(inner, max_size=2) | json_values,
            "$defs": st.fixed_dictionaries({"a": inner}) | json_values,
            "type": st.just("object"),
        },
    ),
    max_leaves=12,
)


@SETTINGS
@given(json_values, schemas)
def test_schema_errors_reports_and_never_raises(value: Any, schema: dict[str, Any]) -> None:
    errors = schema_errors(value, schema)
    assert isinstance(errors, list) and all(isinstance(e, str) for e in errors)


def test_schema_errors_on_a_ref_cycle_and_a_deep_value() -> None:
    cycle = {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}
    assert schema_errors({"x": 1}, cycle) == ["$: nested deeper than 64 levels"]
    tree: dict[str, Any] = {
        "$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}},
        "$ref": "#/$defs/n",
    }
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    assert any("nested deeper" in e for e in schema_errors(deep, tree))
    assert schema_errors([[[]]], tree) == []


# --- thoughts ------------------------------------------------------------------------------


def _split(fmt: Any, pieces: list[str], *, opened: bool = False) -> tuple[str, str]:
    splitter = ThoughtSplitter(fmt, opened=opened)
    events = [e for p in pieces for e in splitter.feed(p)] + splitter.flush()
    thought = "".join(e.text for e in events if type(e).__name__ == "ReasoningDelta")
    answer = "".join(e.text for e in events if type(e).__name__ == "TextDelta")
    return thought, answer


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@SETTINGS
@given(
    st.sampled_from([THINK, MISTRAL_THINK, HARMONY]),
    nasty_text,
    st.lists(st.integers(0, 400), max_size=30),
    st.booleans(),
)
def test_thoughts_do_not_depend_on_how_the_reply_is_chunked(
    fmt: Any, text: str, cuts: list[int], opened: bool
) -> None:
    whole = _split(fmt, [text], opened=opened)
    assert _split(fmt, _chunks(text, cuts), opened=opened) == whole
    assert _split(fmt, list(text), opened=opened) == whole  # one character per token


plain = st.text(alphabet=st.characters(blacklist_characters="<>[]|"), max_size=30)


@SETTINGS
@given(st.sampled_from([THINK, MISTRAL_THINK]), plain, plain, st.lists(st.integers(0, 99)))
def test_a_well_formed_reply_splits_exactly(
    fmt: Any, thought: str, answer: str, cuts: list[int]
) -> None:
    text = f"{fmt.open}{thought}{fmt.close}{answer}"
    got = _split(fmt, _chunks(text, cuts))
    assert got == (thought.strip(), answer.lstrip())
    markerless = _split(fmt, _chunks(answer, cuts))  # no thought: all answer, untouched
    assert markerless == ("", answer)


# --- the special-token guard ---------------------------------------------------------------

FAMILIES = ["chatml", "llama3", "gemma", "llama2", "mistral", "phi3", "zephyr"]


@SETTINGS
@given(st.sampled_from(FAMILIES), nasty_text, nasty_text)
def test_no_message_text_adds_a_turn_marker(family: str, user: str, reply: str) -> None:
    fam = get_family(family)
    benign = render_chat(
        [SystemMessage("sys"), HumanMessage("u"), AIMessage("a"), HumanMessage("v")], fam
    ).prompt
    user, reply = f"s {user} e", f"s {reply} e"  # empty turns render differently
    hostile = render_chat(
        [SystemMessage(user), HumanMessage(user), AIMessage(reply), HumanMessage(reply)], fam
    ).prompt
    for marker in fam.all_control_strings:
        assert hostile.count(marker) == benign.count(marker), (marker, hostile)


# --- the template sandbox on random templates ----------------------------------------------

SIZES = st.sampled_from([0, 1, 7, 1000, 100_000, 10**9, 10**10])
pieces = st.one_of(
    SIZES.map(lambda n: f"{{{{ 'ab' * {n} }}}}"),
    SIZES.map(lambda n: f"{{{{ 'x' | center({n}) }}}}"),
    SIZES.map(lambda n: f"{{{{ '%{n}s' % 'a' }}}}"),
    SIZES.map(lambda n: f"{{{{ ['xyz'] * {n} }}}}"),
    SIZES.map(lambda n: f"{{{{ ('a' * 1000) | indent({n}) | length }}}}"),
    SIZES.map(lambda n: f"{{{{ 9 ** {n} }}}}"),
    st.just("{% set ns.s = ns.s ~ ns.s %}"),
    st.just("{% set ns.s = ns.s + ns.s %}"),
    st.just("{{ ns.s | length }}"),
    st.just("{{ messages[0].content }}"),
    st.just("{{ [ns.s, ns.s] | join }}"),
)


@st.composite
def templates(draw: st.DrawFn) -> str:
    body = "".join(draw(st.lists(pieces, min_size=1, max_size=4)))
    for _ in range(draw(st.integers(0, 3))):
        n = draw(SIZES)
        body = f"{{% for i in range({n}) %}}{body}{{% endfor %}}"
    return "{% set ns = namespace(s='ab') %}" + body


@settings(max_examples=60, deadline=None, database=None)
@given(templates())
def test_random_templates_render_or_fail_typed_in_bounded_time(template: str) -> None:
    with (
        mock.patch.object(_limits, "MAX_LOOP_ITERATIONS", 20_000),
        mock.patch.object(_limits, "MAX_RENDER_SECONDS", 2.0),
    ):
        start = time.perf_counter()
        try:
            out = render_template(template, [{"role": "user", "content": "hi"}])
        except TemplateError:
            out = None
        elapsed = time.perf_counter() - start
    assert elapsed < 20, f"{elapsed:.1f} s for {template}"
    assert out is None or len(out) <= _limits.MAX_OUTPUT_CHARS


# --- GBNF from random schemas --------------------------------------------------------------

grammar_schemas = st.recursive(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["string", "integer", "number", "boolean", "null", "object"])},
        optional={
            "enum": st.lists(st.text(max_size=4) | st.integers(), min_size=1, max_size=3),
            "minLength": st.integers(0, 5),
            "maxLength": st.integers(0, 5),
            "pattern": st.sampled_from(["^[a-z]+$", "^\\d{3}$", "(", "a|b"]),
            "minimum": st.integers(-5, 5),
            "format": st.sampled_from(["date", "uuid", "email", "nope"]),
        },
    )
    | st.fixed_dictionaries({"$ref": st.sampled_from(["#/$defs/a", "#/$defs/missing"])})
    | st.fixed_dictionaries({"type": st.sampled_from(["strnig", "any", ""])}),
    lambda inner: (
        st.fixed_dictionaries(
            {"type": st.just("object")},
            optional={
                "properties": st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3),
                "required": st.lists(st.text(max_size=5), max_size=2),
                "additionalProperties": st.booleans() | inner,
            },
        )
        | st.fixed_dictionaries(
            {"type": st.just("array"), "items": inner},
            optional={"minItems": st.integers(0, 3), "maxItems": st.integers(0, 3)},
        )
        | st.fixed_dictionaries({"anyOf": st.lists(inner, min_size=1, max_size=3)})
        | st.fixed_dictionaries(
            {"$ref": st.just("#/$defs/a"), "$defs": st.fixed_dictionaries({"a": inner})}
        )
    ),
    max_leaves=8,
)


@SETTINGS
@given(grammar_schemas)
def test_a_schema_gives_a_grammar_or_a_grammar_error(schema: dict[str, Any]) -> None:
    from langchain_localkit.engines.gbnf import json_schema_to_gbnf, schema_grammar

    try:
        gbnf = schema_grammar(lambda: json_schema_to_gbnf(schema), [schema], "the schema")
    except GrammarError as e:
        message = str(e)
    else:
        assert "root ::=" in gbnf
        return
    assert len(message) >= 30 and "the schema" in message


@SETTINGS
@given(st.lists(grammar_schemas, min_size=1, max_size=3), st.booleans())
def test_tool_schemas_give_a_tool_grammar_or_a_grammar_error(
    params: list[dict[str, Any]], parallel: bool
) -> None:
    from langchain_localkit.engines.gbnf import schema_grammar, tool_calls_gbnf

    tools = [
        {"type": "function", "function": {"name": f"tool_{i}", "parameters": p}}
        for i, p in enumerate(params)
    ]
    assume(all(isinstance(p, dict) for p in params))
    try:
        gbnf = schema_grammar(
            lambda: tool_calls_gbnf(tools, None, parallel=parallel), params, "the tools"
        )
    except GrammarError as e:
        message = str(e)
    else:
        assert TOOL_CALL_CLOSE in gbnf
        return
    assert "the tools" in message
