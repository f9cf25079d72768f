"""Checked replies: tool calls and JSON asked for in the prompt, parsed, schema-checked, retried.

For runtimes that cannot constrain decoding (the gpt4all bindings, an OpenAI-compatible server
that neither parses tool calls nor takes a grammar), and for constrained attempts that may
still go wrong: the whole reply is generated, parsed against the bound tools or the response
format's schema, and asked for again with the problem told to the model, up to a number of
retries. The result is one `Reply` event, then `Done` with every attempt's figures.

A thinking model's thoughts come out of an attempt as `ReasoningDelta`s (the caller splits
them out of the reply): they are shown at once and never parsed as the reply.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Generator, Iterable, Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langchain_localkit._core.generation import (
    Done,
    Event,
    GenerationInfo,
    ReasoningDelta,
    Reply,
)
from langchain_localkit._core.tools import first_json_value, parse_tool_calls, schema_errors
from langchain_localkit._faces.chat import ChatCall

logger = logging.getLogger("langchain_localkit.chat")

Attempt = Callable[[Sequence[BaseMessage], int], Iterable[str | ReasoningDelta | GenerationInfo]]
"""Generates one attempt: (messages, attempt number from 1) -> text pieces (and thoughts kept
apart, as `ReasoningDelta`s), then its info."""


def check_reply(call: ChatCall, reply: str) -> tuple[Reply, str | None]:
    """The reply as a `Reply`, and what is wrong with it (None when it is valid).

    With tools: the `<tool_call>` blocks are parsed and each call's arguments checked against
    its tool's schema (one call unless parallel calls are on; the named tool when the choice
    names one; at least one call when the choice forces it). With a response format: the
    first JSON value, checked against the schema (any JSON object without one).
    """
    if call.tools:
        text, calls, invalid = parse_tool_calls(reply, call.tools)
        if not call.parallel:
            calls = calls[:1]
        schemas = {t["function"]["name"]: t["function"].get("parameters") or {} for t in call.tools}
        problems = [e for c in calls for e in schema_errors(c["args"], schemas[c["name"]] or {})]
        problems += [str(c.get("error")) for c in invalid]
        if call.choice.name and any(c["name"] != call.choice.name for c in calls):
            problems.append(f"call the tool {call.choice.name}")
        if call.choice.forced and not calls:
            problems.append("no tool call in the required format")
        checked = Reply(text if not calls else "", tuple(calls), tuple(invalid))
        return checked, "; ".join(problems) or None
    try:
        value = first_json_value(reply)
    except ValueError as e:
        return Reply(reply), str(e)
    errors = schema_errors(value, call.schema) if call.schema else []
    if not isinstance(value, dict) and call.schema is None:
        errors.append("expected a JSON object")
    return Reply(json.dumps(value)), "; ".join(errors) or None


def checked_events(
    call: ChatCall, attempt: Attempt, *, max_retries: int, label: str
) -> Generator[Event, None, None]:
    """Generate, check and retry a reply; yields one `Reply` and `Done`.

    Args:
        call: The chat call (its tools or response format say what is valid).
        attempt: Generates one attempt from the messages so far (its `ReasoningDelta`s are
            yielded as they come; only its text is checked).
        max_retries: How often to ask again after an invalid reply.
        label: The model's name, for the warning when no attempt is valid.
    """
    messages: list[BaseMessage] = call.prompt_messages()
    infos: list[GenerationInfo] = []
    for number in range(1, max_retries + 2):
        parts: list[str] = []
        thoughts: list[str] = []
        for item in attempt(messages, number):
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, ReasoningDelta):
                thoughts.append(item.text)
                yield item
            else:
                infos.append(item)
        reply = "".join(parts)
        checked, problem = check_reply(call, reply)
        if problem is None or number > max_retries:
            if problem is not None:
                logger.warning("%s: no valid reply after %d attempts (%s)", label, number, problem)
            yield checked
            yield Done(tuple(infos), attempts=number, metadata={"attempts": number})
            return
        messages = [
            *messages,
            AIMessage(
                content=reply,
                additional_kwargs={"reasoning_content": "".join(thoughts)} if thoughts else {},
            ),
            HumanMessage(content=f"That reply is not valid: {problem}. Try again."),
        ]


__all__ = ["Attempt", "check_reply", "checked_events"]
