"""LangChain messages as the message dicts chat templates expect, adapted to a family.

Messages become Hugging Face-style dicts, their text guarded against forged turns; then, for a
family whose format lacks a role, system and tool messages are folded into user turns, and
consecutive turns are merged where the format expects user and assistant to alternate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_localkit.prompts._family import ModelFamily
from langchain_localkit.prompts.guard import GuardPolicy, check_policy, guard_text, guard_value

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage, MessageLikeRepresentation

_ROLE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
_ROLE_ALIASES = {
    "human": "user",
    "ai": "assistant",
    "model": "assistant",
    "developer": "system",
    "function": "tool",
}
_SKIPPED_BLOCKS = frozenset({"tool_use", "tool_call", "reasoning", "thinking"})


class _Arguments(dict[str, Any]):
    """Tool-call arguments: a mapping for `| tojson`, JSON text when concatenated or printed.

    Hugging Face templates expect `arguments` as a mapping (`tool_call.arguments | tojson`);
    some (DeepSeek's) concatenate it as an OpenAI-style JSON string. This serves both.
    """

    def _json(self) -> str:
        return json.dumps(self, ensure_ascii=False)

    def __str__(self) -> str:
        return self._json()

    def __add__(self, other: Any) -> Any:
        if isinstance(other, str):
            return self._json() + other
        return NotImplemented

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, str):
            return other + self._json()
        return NotImplemented


def _text(content: Any, kind: str) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or ():
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping):
            btype = block.get("type")
            if btype == "text":
                parts.append(str(block.get("text", "")))
            elif btype in _SKIPPED_BLOCKS:
                continue
            else:
                raise ValueError(
                    f"A {kind} has a {btype!r} content block; only text can be rendered into a "
                    "text prompt."
                )
        else:
            raise ValueError(f"A {kind} has content of type {type(block).__name__}.")
    return "".join(parts)


def reasoning_of(message: Any) -> str:
    """The thoughts an earlier assistant turn kept apart, or "" when it has none.

    From `additional_kwargs["reasoning_content"]`, else its `reasoning` content blocks; the
    templates that read them show or drop them.
    """
    kwargs = getattr(message, "additional_kwargs", None) or {}
    thought = kwargs.get("reasoning_content")
    if isinstance(thought, str) and thought:
        return thought
    content = getattr(message, "content", None)
    if isinstance(content, list):
        parts = [
            str(b.get("reasoning") or b.get("thinking") or "")
            for b in content
            if isinstance(b, Mapping) and b.get("type") in ("reasoning", "thinking")
        ]
        return "".join(parts)
    return ""


def to_template_messages(
    messages: Sequence[MessageLikeRepresentation] | str,
    *,
    control_strings: Sequence[str] = (),
    guard: GuardPolicy = "escape",
) -> list[dict[str, Any]]:
    """Turn LangChain messages into the dicts chat templates expect, guarding their text.

    `SystemMessage` -> `system`, `HumanMessage` -> `user`, `AIMessage` -> `assistant` (with
    `tool_calls` as `{"id", "type": "function", "function": {"name", "arguments"}}`),
    `ToolMessage` -> `tool` (with `name` and `tool_call_id`), `ChatMessage` keeps its role.
    An assistant turn's kept-apart thoughts go in `reasoning_content`, which Qwen3-style
    templates render for the turns of a tool loop and drop elsewhere.
    Tuples, dicts and strings are accepted as in `langchain_core.messages.convert_to_messages`.

    Args:
        messages: The conversation.
        control_strings: Strings to neutralise in every text (content, tool names, arguments).
        guard: `"escape"`, `"strip"` or `"allow"`.

    Raises:
        ValueError: A message has non-text content (an image) or an invalid role.

    Example:
        >>> from langchain_localkit.prompts import to_template_messages
        >>> to_template_messages([("system", "Be brief."), ("human", "Hi")])
        [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
    """
    from langchain_core.messages import (
        AIMessage,
        ChatMessage,
        FunctionMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
        convert_to_messages,
    )

    check_policy(guard)
    controls = tuple(control_strings)

    def g(text: str) -> str:
        return guard_text(text, controls, guard)

    items = [HumanMessage(messages)] if isinstance(messages, str) else list(messages)
    lc_messages: list[BaseMessage] = convert_to_messages(items)
    tool_names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in lc_messages:
        kind = type(message).__name__
        content = g(_text(message.content, kind))
        if isinstance(message, SystemMessage):
            out.append({"role": "system", "content": content})
        elif isinstance(message, HumanMessage):
            out.append({"role": "user", "content": content})
        elif isinstance(message, AIMessage):
            entry: dict[str, Any] = {"role": "assistant", "content": content}
            calls = []
            for i, call in enumerate(message.tool_calls):
                call_id = call.get("id") or f"call_{len(out)}_{i}"
                name = g(str(call["name"]))
                tool_names[call_id] = name
                arguments = guard_value(dict(call.get("args") or {}), controls, guard)
                calls.append(
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": _Arguments(arguments)},
                    }
                )
            if calls:
                entry["tool_calls"] = calls
            thought = reasoning_of(message)
            if thought:
                entry["reasoning_content"] = g(thought)  # Qwen3-style templates read it
            out.append(entry)
        elif isinstance(message, ToolMessage):
            name = g(message.name) if message.name else tool_names.get(message.tool_call_id, "")
            out.append(
                {
                    "role": "tool",
                    "content": content,
                    "tool_call_id": message.tool_call_id,
                    "name": name or "tool",
                }
            )
        elif isinstance(message, FunctionMessage):
            out.append({"role": "tool", "content": content, "name": g(message.name)})
        elif isinstance(message, ChatMessage):
            role = _ROLE_ALIASES.get(message.role.lower(), message.role)
            if not _ROLE_RE.match(role):
                raise ValueError(
                    f"Invalid message role {message.role!r}: use letters, digits, '_' or '-'."
                )
            out.append({"role": role, "content": content})
        else:
            raise ValueError(f"Cannot render a {kind} into a prompt.")
    return out


def _fold_tools(messages: list[dict[str, Any]], result_format: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if m["role"] == "assistant" and m.get("tool_calls"):
            lines = [
                json.dumps(
                    {"name": c["function"]["name"], "arguments": c["function"]["arguments"]},
                    ensure_ascii=False,
                )
                for c in m["tool_calls"]
            ]
            text = "\n".join(lines)
            content = f"{m['content']}\n{text}" if m["content"] else text
            folded = {"role": "assistant", "content": content}
            if m.get("reasoning_content"):
                folded["reasoning_content"] = m["reasoning_content"]
            out.append(folded)
        elif m["role"] == "tool":
            text = result_format.format(
                name=m.get("name") or "tool",
                content=m["content"],
                tool_call_id=m.get("tool_call_id") or "",
            )
            out.append({"role": "user", "content": text})
        else:
            out.append(m)
    return out


def _fold_system(messages: list[dict[str, Any]], family: ModelFamily) -> list[dict[str, Any]]:
    systems = [m["content"] for m in messages if m["role"] == "system"]
    if not systems:
        return messages
    system = family.system_separator.join(s for s in systems if s)
    rest = [dict(m) for m in messages if m["role"] != "system"]
    users = [i for i, m in enumerate(rest) if m["role"] == "user"]
    if not system:
        return rest
    if not users:
        return [{"role": "user", "content": system}, *rest]
    i = users[0] if family.system_fold == "first_user" else users[-1]
    rest[i]["content"] = system + family.system_separator + rest[i]["content"]
    return rest


def _merge_consecutive(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev["role"] == m["role"]
            and m["role"] in ("user", "assistant")
            and not prev.get("tool_calls")
            and not m.get("tool_calls")
        ):
            joined = "\n\n".join(s for s in (prev["content"], m["content"]) if s)
            out[-1] = {**prev, "content": joined}
        else:
            out.append(dict(m))
    return out


def adapt_messages(
    messages: list[dict[str, Any]], family: ModelFamily | None, template: str, foreign: bool
) -> list[dict[str, Any]]:
    """Fit template messages to what `template` (the family's, or a `foreign` one) can render.

    Tool calls and results become text unless the template handles tools (a foreign template is
    trusted to when it mentions them); a family without a system role gets the system message
    folded into a user turn; an alternating family gets consecutive turns merged.
    """
    handles_tools = ("tool" in template) if foreign else bool(family and family.supports_tools)
    if not handles_tools:
        result_format = family.tool_result_format if family else ModelFamily.tool_result_format
        messages = _fold_tools(messages, result_format)
    if family is not None:
        if not family.supports_system:
            messages = _fold_system(messages, family)
        if family.alternating:
            messages = _merge_consecutive(messages)
    return messages


__all__ = ["adapt_messages", "reasoning_of", "to_template_messages"]
