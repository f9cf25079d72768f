"""local_agent: a LangGraph agent on a local chat model calls tools, then answers."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_localkit import ChatLlamaCpp
from langchain_localkit.chains import local_agent
from tests.integration_tests._chat_checks import capital_tool


def test_tiny_agent_mechanics_bounded_rounds(tiny_gguf_path: Path) -> None:
    calls: list[tuple[str, int]] = []

    def set_light(room: Literal["kitchen", "hall"], level: int) -> str:
        """Set the light level of a room."""
        calls.append((room, level))
        return "done"

    chat = ChatLlamaCpp(model_path=str(tiny_gguf_path), temperature=0.8, seed=0, max_tokens=64)
    agent = local_agent(chat, [set_light], max_tool_rounds=2)
    result = agent.invoke({"messages": [HumanMessage("Dim the kitchen light.")]})
    messages = result["messages"]
    rounds = [m for m in messages if isinstance(m, AIMessage) and m.tool_calls]
    assert 1 <= len(rounds) <= 2
    assert calls and all(room in {"kitchen", "hall"} for room, _ in calls)  # grammar-valid
    tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
    assert {m.tool_call_id for m in tool_messages} == {
        c["id"] for r in rounds for c in r.tool_calls
    }
    assert isinstance(messages[-1], AIMessage) and not messages[-1].tool_calls


@pytest.mark.gemma
def test_gemma_agent_calls_a_tool_then_answers(gemma_path: Path) -> None:
    get_capital, calls = capital_tool()
    chat = ChatLlamaCpp(model_path=str(gemma_path), temperature=0, max_tokens=48, n_ctx=4096)
    agent = local_agent(chat, [get_capital], first_tool_choice="get_capital")
    result = agent.invoke({"messages": [("human", "What is the capital of France?")]})
    messages = result["messages"]
    assert calls, "the tool was not called"
    assert any(isinstance(m, ToolMessage) for m in messages)
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls and final.content
    print(f"\nGemma agent: tool calls {calls}, answer {final.content!r}")
