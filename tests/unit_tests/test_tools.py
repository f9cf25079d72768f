"""Tools -> schema -> grammar, tool_choice normalisation and tool-call parsing."""

import json

import pytest
from pydantic import BaseModel, Field

from langchain_localkit._core.tools import (
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    normalize_tool_choice,
    parse_tool_calls,
    to_openai_tools,
    tool_call_schema,
    tools_system_prompt,
)


class GetWeather(BaseModel):
    """Get the weather in a city."""

    city: str = Field(description="the city")
    days: int = 1


class Point(BaseModel):
    x: int
    y: int


class Polygon(BaseModel):
    """A polygon."""

    points: list[Point]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


TOOLS = to_openai_tools([GetWeather, add])


def test_tools_are_converted_to_openai_format() -> None:
    assert [t["function"]["name"] for t in TOOLS] == ["GetWeather", "add"]
    assert TOOLS[1]["function"]["parameters"]["required"] == ["a", "b"]


def test_the_same_tool_twice_is_kept_once() -> None:
    assert len(to_openai_tools([GetWeather, GetWeather.model_json_schema(), add, add])) == 2


def test_different_tools_with_one_name_are_refused() -> None:
    def other(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    other.__name__ = "add"
    with pytest.raises(ValueError, match="different tools are named 'add'"):
        to_openai_tools([add, other])


@pytest.mark.parametrize(
    ("choice", "mode", "name"),
    [
        (None, "auto", None),
        ("auto", "auto", None),
        ("none", "none", None),
        ("any", "required", None),
        ("required", "required", None),
        (True, "required", None),
        ("add", "required", "add"),
        ({"type": "function", "function": {"name": "add"}}, "required", "add"),
    ],
)
def test_tool_choice_is_normalised(choice: object, mode: str, name: str | None) -> None:
    got = normalize_tool_choice(choice, TOOLS)
    assert (got.mode, got.name) == (mode, name)


def test_required_with_one_tool_names_it() -> None:
    assert normalize_tool_choice("any", TOOLS[:1]).name == "GetWeather"


@pytest.mark.parametrize("choice", ["multiply", {"type": "function", "function": {}}, 3])
def test_bad_tool_choice(choice: object) -> None:
    with pytest.raises(ValueError, match="tool_choice"):
        normalize_tool_choice(choice, TOOLS)


def test_call_schema_lists_each_tool() -> None:
    schema = tool_call_schema(TOOLS)
    names = [alt["properties"]["name"]["const"] for alt in schema["anyOf"]]
    assert names == ["GetWeather", "add"]
    only = tool_call_schema(TOOLS, only="add")
    assert only["properties"]["name"]["const"] == "add"
    with pytest.raises(ValueError, match="nope"):
        tool_call_schema(TOOLS, only="nope")


def test_pydantic_references_are_inlined() -> None:
    params = to_openai_tools([Polygon])[0]["function"]["parameters"]
    assert params["properties"]["points"]["items"]["properties"]["x"] == {"type": "integer"}


def test_dict_schema_definitions_are_hoisted() -> None:
    polygon = {
        "type": "function",
        "function": {
            "name": "polygon",
            "description": "A polygon.",
            "parameters": {
                "type": "object",
                "properties": {"points": {"type": "array", "items": {"$ref": "#/$defs/Point"}}},
                "required": ["points"],
                "$defs": {"Point": Point.model_json_schema()},
            },
        },
    }
    tools = to_openai_tools([polygon, GetWeather])
    schema = tool_call_schema(tools)
    defs = schema["$defs"]
    assert list(defs) == ["t0_Point"]
    items = schema["anyOf"][0]["properties"]["arguments"]["properties"]["points"]["items"]
    assert items == {"$ref": "#/$defs/t0_Point"}


def test_parse_valid_calls_and_text() -> None:
    weather = '{"name": "GetWeather", "arguments": {"city": "Paris"}}'
    text = (
        f"Let me check. {TOOL_CALL_OPEN}{weather}{TOOL_CALL_CLOSE}\n"
        f'{TOOL_CALL_OPEN}{{"name": "add", "arguments": {{"a": 1, "b": 2}}}}{TOOL_CALL_CLOSE}'
    )
    content, calls, invalid = parse_tool_calls(text, TOOLS)
    assert content == "Let me check. "
    assert [(c["name"], c["args"]) for c in calls] == [
        ("GetWeather", {"city": "Paris"}),
        ("add", {"a": 1, "b": 2}),
    ]
    assert all(c["id"] and c["id"].startswith("call_") for c in calls)
    assert len({c["id"] for c in calls}) == 2
    assert invalid == []


def test_parse_reports_invalid_calls() -> None:
    text = (
        f"{TOOL_CALL_OPEN}not json{TOOL_CALL_CLOSE}"
        f'{TOOL_CALL_OPEN}{{"name": "nope", "arguments": {{}}}}{TOOL_CALL_CLOSE}'
        f'{TOOL_CALL_OPEN}{{"name": "add", "arguments": [1, 2]}}{TOOL_CALL_CLOSE}'
    )
    _, calls, invalid = parse_tool_calls(text, TOOLS)
    assert calls == []
    assert [i["error"].split(":")[0] for i in invalid] == [
        "invalid JSON",
        "unknown tool",
        "arguments must be a JSON object",
    ]


def test_text_without_calls() -> None:
    assert parse_tool_calls("just words", TOOLS) == ("just words", [], [])


def test_unclosed_call_at_the_end_is_parsed() -> None:
    _, calls, _ = parse_tool_calls(
        f'{TOOL_CALL_OPEN}{{"name": "add", "arguments": {{"a": 1, "b": 2}}}}', TOOLS
    )
    assert calls[0]["args"] == {"a": 1, "b": 2}


def test_system_prompt_presents_tools_and_format() -> None:
    text = tools_system_prompt(TOOLS, normalize_tool_choice("add", TOOLS))
    assert TOOL_CALL_OPEN in text and "add" in text and "must call the tool add" in text
    assert "GetWeather" not in text
    params = json.dumps(TOOLS[1]["function"]["parameters"], separators=(",", ":"))
    assert params in text


def test_json_strings_exclude_raw_control_characters() -> None:
    """Test the fix to llama-cpp-python's converter, whose strings admit raw control bytes."""
    pytest.importorskip("llama_cpp")
    from langchain_localkit.engines.gbnf import json_schema_to_gbnf

    grammar = json_schema_to_gbnf({"type": "object", "properties": {"s": {"type": "string"}}})
    char_rule = next(line for line in grammar.splitlines() if line.startswith("char ::="))
    assert char_rule.startswith('char ::= [^"\\\\\\x7F\\x00-\\x1F] |')
