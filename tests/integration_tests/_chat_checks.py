"""Checks and tools the chat tests of several runtimes share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException


def assert_cut_replies_are_errors(chat: Any, schema: type, tool: Any, function: type) -> None:
    """`chat` (max_tokens=3) cannot finish any reply: structured output is an error, as JSON
    (`schema`) and as a function call (`function`), and a forced call of `tool` is dropped and
    counted, never a partial result."""
    with pytest.raises(OutputParserException, match="max_tokens"):
        chat.with_structured_output(schema).invoke("x", seed=1)
    msg = chat.bind_tools([tool], tool_choice=tool.__name__).invoke("wake me", seed=1)
    assert msg.tool_calls == [] and msg.response_metadata["dropped_tool_calls"] == 1
    assert msg.response_metadata["finish_reason"] == "length"
    with pytest.raises(OutputParserException, match="max_tokens"):
        chat.with_structured_output(function, method="function_calling").invoke("x", seed=1)


def capital_tool() -> tuple[Callable[[str], str], list[str]]:
    """A `get_capital(country)` tool (it knows France), and the countries it is called with."""
    calls: list[str] = []

    def get_capital(country: str) -> str:
        """Return the capital city of a country."""
        calls.append(country)
        return {"France": "Paris"}.get(country, "unknown")

    return get_capital, calls
