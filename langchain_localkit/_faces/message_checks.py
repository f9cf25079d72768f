"""A chat call's messages, checked before anything is rendered or sent.

A model given no messages, a tool result that answers no tool call, or a message kind no chat
format has would otherwise answer something (a local model continues any prompt) or fail deep
in a template; these are the caller's mistakes, said as such with what to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_localkit._core.errors import InvalidRequestError

_KINDS = (SystemMessage, HumanMessage, AIMessage, ToolMessage, FunctionMessage, ChatMessage)
_TEXT_BLOCKS = frozenset(
    {
        "text",
        "tool_use",
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "reasoning",
        "thinking",
    }
)


def _call_ids(message: AIMessage) -> tuple[set[str], bool]:
    """The ids of `message`'s tool calls, and whether it made any call at all."""
    ids: set[str] = set()
    made = False
    for call in [*message.tool_calls, *message.invalid_tool_calls]:
        made = True
        if call.get("id"):
            ids.add(str(call["id"]))
    for raw in message.additional_kwargs.get("tool_calls") or ():
        made = True
        if isinstance(raw, Mapping) and raw.get("id"):
            ids.add(str(raw["id"]))
    return ids, made


def _non_text_block(content: Any) -> str | None:
    """The type of the first content block that is not text, or None."""
    if isinstance(content, str):
        return None
    for block in content or ():
        if isinstance(block, Mapping):
            kind = block.get("type")
            if kind not in _TEXT_BLOCKS:
                return str(kind)
        elif not isinstance(block, str):
            return type(block).__name__
    return None


def check_messages(messages: Sequence[BaseMessage], face: str, *, text_only: bool) -> None:
    """Refuse a conversation no chat model can answer as given.

    Args:
        messages: The call's messages.
        face: The class name, for the message.
        text_only: The model reads text only (a content block of another kind is refused).

    Raises:
        InvalidRequestError: No messages; a `ToolMessage` that answers no earlier tool call;
            a message kind no chat format has; an image (or other non-text block) given to a
            text-only model.
    """
    if not messages:
        raise InvalidRequestError(
            f"{face} was given no messages: pass at least one, e.g. "
            '`invoke([("human", "Hello")])` or `invoke("Hello")`.'
        )
    ids: set[str] = set()
    anonymous = False  # a call without an id: any tool result may answer it
    for i, message in enumerate(messages):
        if not isinstance(message, _KINDS):
            raise InvalidRequestError(
                f"{face}: message {i} is a {type(message).__name__} (type "
                f"{getattr(message, 'type', '?')!r}), which no chat format has. Use "
                "SystemMessage, HumanMessage, AIMessage, ToolMessage or ChatMessage."
            )
        if isinstance(message, AIMessage):
            made_ids, made = _call_ids(message)
            ids |= made_ids
            anonymous = anonymous or (made and not made_ids)
        elif isinstance(message, ToolMessage):
            if not ids and not anonymous:
                raise InvalidRequestError(
                    f"{face}: message {i} is a ToolMessage (tool_call_id="
                    f"{message.tool_call_id!r}) but no earlier AIMessage made a tool call. A "
                    "tool result must follow the AIMessage whose `tool_calls` asked for it."
                )
            if not anonymous and message.tool_call_id not in ids:
                raise InvalidRequestError(
                    f"{face}: message {i} is a ToolMessage for tool_call_id="
                    f"{message.tool_call_id!r}, which no earlier AIMessage's tool calls have "
                    f"(their ids: {', '.join(sorted(ids))}). Pass the id of the call it answers."
                )
        if text_only:
            block = _non_text_block(message.content)
            if block is not None:
                raise InvalidRequestError(
                    f"{face} reads text only, but message {i} ({type(message).__name__}) has "
                    f"a {block!r} content block. Remove it, or describe it in text; for images "
                    "use a vision model (e.g. llama-server with `--mmproj`, through "
                    "ChatLlamafile or ChatOpenAICompatible)."
                )


__all__ = ["check_messages"]
