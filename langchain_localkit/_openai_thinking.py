"""Thinking models on an OpenAI-compatible chat call: what `OpenAIChat` does with thoughts.

Earlier turns' reasoning goes back in the preset's message field (`openai_messages`); a
llama.cpp server's chat template says the thought format and whether it opens a thought
(`template_thinking`); `Thoughts` filters a streamed reply (the server's reasoning passes,
tags left in the text are split, thought tokens counted); `split_reply` does it for a whole
reply of the checked routes; `bounded_thought` caps a grammar's thought to half of the budget.
Pure functions and a stateful filter, no I/O.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages

from langchain_localkit._core.generation import GenerationInfo, ReasoningDelta, TextDelta
from langchain_localkit._core.reasoning import Reasoning, ThoughtFormat, ThoughtSplitter
from langchain_localkit.prompts.thinking import ThinkingPlan

_THOUGHT_BLOCKS = ("reasoning", "thinking")


def openai_messages(
    messages: Sequence[BaseMessage], reasoning_field: str | None
) -> list[dict[str, Any]]:
    """The messages in OpenAI's format, an assistant turn's kept-apart reasoning in its field.

    The reasoning (`additional_kwargs["reasoning_content"]` or `reasoning` content blocks)
    goes in `reasoning_field` of that turn (None: not sent); reasoning blocks are taken out
    of the content, which servers would refuse.
    """
    from langchain_localkit.prompts._messages import reasoning_of

    out: list[dict[str, Any]] = []
    for message in messages:
        converted = convert_to_openai_messages([message])
        if isinstance(message, AIMessage) and converted:
            entry = converted[-1]
            content = entry.get("content")
            if isinstance(content, list):
                kept = [
                    b
                    for b in content
                    if not (isinstance(b, Mapping) and b.get("type") in _THOUGHT_BLOCKS)
                ]
                texts = all(isinstance(b, Mapping) and b.get("type") == "text" for b in kept)
                entry["content"] = (
                    "".join(str(b.get("text") or "") for b in kept) if texts else kept
                )
            thought = reasoning_of(message)
            if thought and reasoning_field:
                entry[reasoning_field] = thought
        out.extend(converted)
    return out


@functools.lru_cache(maxsize=32)
def template_thinking(template: str, reasoning: Reasoning) -> tuple[ThoughtFormat | None, bool]:
    """A chat template's thought format, and whether its generation prompt opens a thought.

    Rendered once per template and switch (DeepSeek-R1's templates open `<think>`).
    """
    from langchain_core.messages import HumanMessage

    from langchain_localkit.prompts import render_chat
    from langchain_localkit.prompts.thinking import (
        opens_thought,
        thinking_variables,
        thought_format_of,
    )

    fmt = thought_format_of(template)
    if fmt is None:
        return None, False
    try:
        rendered = render_chat(
            [HumanMessage("Hi")], template, template_kwargs=thinking_variables(reasoning)
        )
    except Exception:  # a template we cannot render: the server's own parsing decides
        return fmt, False
    return fmt, opens_thought(rendered.prompt, fmt)


@dataclass
class Thoughts:
    """How one call treats the thoughts in a server's reply (a stateful filter, no I/O).

    The server's `ReasoningDelta`s pass (dropped with `reasoning=False`); the text is split
    with a `ThoughtSplitter` where the plan splits (a server that leaves `<think>` in the
    text). When the server counts no reasoning tokens and `reasoning` is set, the
    `GenerationInfo` gets one per streamed thought piece.
    """

    plan: ThinkingPlan
    reasoning: Reasoning
    splitter: ThoughtSplitter | None = field(init=False)
    pieces: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        fmt = self.plan.fmt
        split = self.plan.split and fmt is not None and fmt.tagged
        # the text starts inside a thought only if the server does not parse thoughts itself,
        # which a streamed reply cannot know: a thought is split where the text opens one
        self.splitter = ThoughtSplitter(fmt, keep=self.plan.keep) if split and fmt else None

    def feed(self, item: Any) -> list[Any]:
        """What to pass on for one engine item."""
        if isinstance(item, ReasoningDelta):
            self.pieces += 1
            return [item] if self.reasoning is not False else []
        if isinstance(item, TextDelta) and self.splitter is not None:
            return list(self.splitter.feed(item.text))
        if isinstance(item, GenerationInfo):
            out: list[Any] = []
            if self.splitter is not None:
                out = list(self.splitter.flush())
                self.pieces += self.splitter.thought_pieces
            if not item.reasoning_tokens and self.reasoning is not None:
                item.reasoning_tokens = self.pieces
            return [*out, item]
        return [item]

    def filter(self, items: Iterable[Any]) -> Iterator[Any]:
        """`items` through `feed`."""
        for item in items:
            yield from self.feed(item)

    async def afilter(self, items: AsyncIterator[Any]) -> AsyncGenerator[Any, None]:
        """The async `filter` (closes `items` when done)."""
        async with contextlib.aclosing(items) as stream:  # type: ignore[type-var]
            async for item in stream:
                for out in self.feed(item):
                    yield out


def split_reply(
    parts: Sequence[str], fmt: ThoughtFormat | None, *, opened: bool, keep: bool
) -> tuple[list[str | ReasoningDelta], int]:
    """A whole reply's thoughts (`ReasoningDelta`) and answer (`str`), and the thought pieces.

    With `opened` (the prompt opened a thought), the text up to the close tag is thought, if
    the server left it there; a reply without the close tag is all answer (the server took
    the thought out itself).
    """
    if fmt is None or not fmt.tagged:
        return [p for p in parts if p], 0
    splitter = ThoughtSplitter(fmt, opened=opened and fmt.close in "".join(parts), keep=keep)
    events = [e for p in parts for e in splitter.feed(p)] + splitter.flush()
    out = [e.text if isinstance(e, TextDelta) else e for e in events]
    return out, splitter.thought_pieces


def bounded_thought(grammar: str, fields: Mapping[str, Any]) -> str:
    """A `with_thought` grammar whose thought is closed within half of `max_tokens`.

    A `/v1` reply is one request, so the thought cannot be cut and closed for the model as
    in-process steps do: the grammar bounds it to that many characters instead (a token has
    at least one), leaving the rest of the budget to the answer.
    """
    limit = fields.get("max_tokens")
    if not isinstance(limit, int) or limit <= 0:
        return grammar
    return grammar.replace("thought-char* ", f"thought-char{{0,{max(limit // 2, 1)}}} ", 1)


__all__ = [
    "Thoughts",
    "bounded_thought",
    "openai_messages",
    "split_reply",
    "template_thinking",
]
