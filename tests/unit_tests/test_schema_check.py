"""Checking unconstrained model output against JSON schemas (best-effort tools and JSON)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from langchain_localkit._core.tools import first_json_value, schema_errors


class Person(BaseModel):
    name: str
    age: int
    tags: list[str] = []


SCHEMA = Person.model_json_schema()


def test_a_matching_value_has_no_errors() -> None:
    assert schema_errors({"name": "Ada", "age": 36, "tags": ["math"]}, SCHEMA) == []


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"name": "Ada"}, "missing required property 'age'"),
        ({"name": "Ada", "age": "36"}, "$.age: expected integer"),
        ({"name": "Ada", "age": True}, "$.age: expected integer"),
        ({"name": "Ada", "age": 1, "tags": [1]}, "$.tags[0]: expected string"),
        (["Ada", 36], "$: expected object"),
    ],
)
def test_what_is_wrong_is_said(value: object, error: str) -> None:
    assert any(error in e for e in schema_errors(value, SCHEMA)), schema_errors(value, SCHEMA)


def test_refs_enums_and_any_of() -> None:
    schema = {
        "type": "object",
        "properties": {
            "p": {"$ref": "#/$defs/P"},
            "color": {"enum": ["red", "blue"]},
            "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
        "$defs": {"P": {"type": "object", "properties": {"x": {"type": "number"}}}},
        "additionalProperties": False,
    }
    assert schema_errors({"p": {"x": 1.5}, "color": "red", "n": None}, schema) == []
    errors = schema_errors({"p": {"x": "a"}, "color": "green", "n": "1", "extra": 1}, schema)
    assert len(errors) == 4


def test_first_json_value_skips_prose_and_fences() -> None:
    reply = 'Sure! Here it is:\n```json\n{"name": "Ada", "age": 36}\n```\nAnything else?'
    assert first_json_value(reply) == {"name": "Ada", "age": 36}
    assert first_json_value("{broken [1, 2]") == [1, 2]
    with pytest.raises(ValueError, match="no JSON"):
        first_json_value("no json here {")
