"""The chat call's message checks: what passes (v1 content blocks fed back) and what does not."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_localkit import InvalidRequestError
from langchain_localkit._faces.message_checks import check_messages


def test_a_v1_reply_fed_back_is_text() -> None:
    reply = AIMessage(
        content=[
            {"type": "reasoning", "reasoning": "think"},
            {"type": "text", "text": "calling"},
            {"type": "tool_call", "id": "c1", "name": "f", "args": {}},
            {"type": "invalid_tool_call", "id": "c2", "name": "g", "args": "{", "error": None},
        ],
        tool_calls=[{"id": "c1", "name": "f", "args": {}}],
    )
    check_messages(
        [HumanMessage("hi"), reply, ToolMessage("42", tool_call_id="c1")], "X", text_only=True
    )


def test_an_image_on_a_text_model_and_an_orphan_tool_result() -> None:
    image = HumanMessage(content=[{"type": "image", "url": "http://x/cat.png"}])
    with pytest.raises(InvalidRequestError, match="reads text only"):
        check_messages([image], "X", text_only=True)
    check_messages([image], "X", text_only=False)
    with pytest.raises(InvalidRequestError, match="no earlier AIMessage made a tool call"):
        check_messages(
            [HumanMessage("hi"), ToolMessage("42", tool_call_id="c1")], "X", text_only=True
        )
