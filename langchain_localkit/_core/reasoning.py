"""Thinking models: the `reasoning` switch, the thought formats, and a streaming splitter.

A thinking model writes its thoughts before its answer, in one of a few formats:
`<think>…</think>` (Qwen3, QwQ, DeepSeek-R1 and its distills, Phi-4-reasoning, SmolLM3, ...;
some templates open the tag in the prompt, so the reply starts inside the thought),
`[THINK]…[/THINK]` (Magistral), or gpt-oss's Harmony channels (`<|channel|>analysis<|message|>`
thoughts `<|end|>`, then `<|channel|>final<|message|>` the answer). `ThoughtSplitter` reads a
reply as it streams and says, piece by piece, which text is thought and which is answer,
holding back only the few characters that could be the start of a marker.

The `reasoning` switch has ChatOllama's meaning on every face: None leaves the output as the
model wrote it, True keeps the thoughts apart from the answer, False asks the model not to
think (and strips whatever thoughts it writes anyway), "low" / "medium" / "high" are effort
levels (gpt-oss) that also keep the thoughts apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from langchain_localkit._core.generation import GenerationInfo, ReasoningDelta, TextDelta

Effort = Literal["low", "medium", "high"]
Reasoning = bool | Effort | None
"""The `reasoning` field and call option of every face (see the module docstring)."""

EFFORTS: tuple[str, ...] = ("low", "medium", "high")


def check_reasoning(value: Any) -> Reasoning:
    """Validate a `reasoning` value.

    Raises:
        ValueError: Not True, False, None or an effort level.

    Example:
        >>> check_reasoning("high"), check_reasoning(None)
        ('high', None)
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in EFFORTS:
        return value.strip().lower()  # type: ignore[return-value]
    raise ValueError(
        f"reasoning={value!r} is not valid: use True (keep the thoughts apart), False (ask the "
        "model not to think), None (leave the output as it is) or an effort level: "
        + ", ".join(repr(e) for e in EFFORTS)
        + "."
    )


def keeps_thoughts(reasoning: Reasoning) -> bool:
    """Whether thoughts are kept apart (True or an effort level), not left in or stripped."""
    return reasoning is not None and reasoning is not False


@dataclass(frozen=True)
class ThoughtFormat:
    """How a model marks its thoughts.

    Attributes:
        name: "think", "mistral" or "harmony".
        open: The string that opens a thought (Harmony: the analysis channel's header).
        close: The string that closes it.
    """

    name: str
    open: str
    close: str

    @property
    def tagged(self) -> bool:
        """Whether thoughts are one tagged block before the answer (not Harmony channels)."""
        return self.name != "harmony"


THINK = ThoughtFormat("think", "<think>", "</think>")
"""`<think>…</think>`: Qwen3, QwQ, DeepSeek-R1, Phi-4-reasoning, SmolLM3, Granite, ..."""
MISTRAL_THINK = ThoughtFormat("mistral", "[THINK]", "[/THINK]")
"""`[THINK]…[/THINK]`: Magistral."""
HARMONY = ThoughtFormat("harmony", "<|channel|>analysis<|message|>", "<|end|>")
"""gpt-oss's Harmony format: thoughts on the analysis channel, the answer on the final one."""

THOUGHT_FORMATS: dict[str, ThoughtFormat] = {f.name: f for f in (THINK, MISTRAL_THINK, HARMONY)}


def thought_format_in_template(template: str | None) -> ThoughtFormat | None:
    """The thought format a chat template writes or strips, if it names one.

    Example:
        >>> thought_format_in_template("{{ content.split('</think>')[-1] }}").name
        'think'
    """
    if not template:
        return None
    if "<|channel|>" in template:
        return HARMONY
    if "[THINK]" in template:
        return MISTRAL_THINK
    if "<think>" in template or "</think>" in template:
        return THINK
    return None


def opens_thought(prompt: str, fmt: ThoughtFormat | None) -> bool:
    r"""Whether a rendered prompt ends inside an open thought (the reply starts thinking).

    DeepSeek-R1's later templates and Qwen3's thinking variants end the generation prompt
    with `<think>\n`; Qwen3 with thinking off ends with an empty, closed thought.
    """
    return fmt is not None and fmt.tagged and prompt.rstrip().endswith(fmt.open)


def skip_thought(prompt: str, fmt: ThoughtFormat) -> str:
    """A prompt that opens a thought, with the thought closed empty (the model answers)."""
    return prompt.rstrip() + "\n\n" + fmt.close + "\n\n"


def _held(text: str, markers: tuple[str, ...]) -> int:
    """How many trailing characters of `text` could be the start of one of `markers`."""
    longest = 0
    for marker in markers:
        for n in range(min(len(marker) - 1, len(text)), longest, -1):
            if marker.startswith(text[-n:]):
                longest = n
                break
    return longest


_HARMONY_MARKERS = ("<|channel|>", "<|message|>", "<|end|>", "<|start|>", "<|return|>", "<|call|>")
_HARMONY_ENDS = ("<|return|>", "<|call|>")


class ThoughtSplitter:
    r"""Splits a streamed reply into thoughts (`ReasoningDelta`) and answer (`TextDelta`).

    Tagged formats: a thought is recognised at the start of the reply (after whitespace), or
    from the first character when the prompt opened it (`opened=True`); after its close tag
    the rest is answer. A reply that starts otherwise is all answer. Whitespace around the
    thought is dropped. Harmony: the analysis channel's messages are thoughts, every other
    channel's are answer; headers and markers are dropped.

    Args:
        fmt: The thought format.
        opened: The prompt ended inside an open thought.
        keep: Yield the thoughts (True) or drop them (False: `reasoning=False`).

    Attributes:
        thought_pieces: How many fed pieces were (at least partly) thought: the reasoning
            token count when each piece is one decoded token.
        thought: Every thought character seen so far.

    Example:
        >>> s = ThoughtSplitter(THINK)
        >>> [*s.feed("<think>\nhm"), *s.feed("m</thi"), *s.feed("nk>\n\nParis"), *s.flush()]
        [ReasoningDelta(text='hm'), ReasoningDelta(text='m'), TextDelta(text='Paris')]
    """

    def __init__(self, fmt: ThoughtFormat, *, opened: bool = False, keep: bool = True) -> None:
        self.fmt = fmt
        self.keep = keep
        self.thought_pieces = 0
        self.thought = ""
        self._buf = ""
        self._trail = ""  # whitespace inside a thought, shown only if more thought follows
        if fmt.tagged:
            self._state = "thought" if opened else "start"
        else:
            self._state = "header"
            self._channel = ""
        self._lstrip = opened  # drop whitespace at the start of a thought or an answer

    def feed(self, text: str) -> list[TextDelta | ReasoningDelta]:
        """The answer and thought pieces `text` completes (often none while a marker forms)."""
        was_thought = self._state == "thought" or (
            not self.fmt.tagged and self._state == "body" and self._channel == "analysis"
        )
        self._buf += text
        out: list[TextDelta | ReasoningDelta] = []
        thought_before = len(self.thought)
        if self.fmt.tagged:
            self._tagged(out, final=False)
        else:
            self._harmony(out, final=False)
        if text and (was_thought or len(self.thought) > thought_before):
            self.thought_pieces += 1
        return out

    def flush(self) -> list[TextDelta | ReasoningDelta]:
        """What is left at the end of the reply."""
        out: list[TextDelta | ReasoningDelta] = []
        if self.fmt.tagged:
            self._tagged(out, final=True)
        else:
            self._harmony(out, final=True)
        return out

    @property
    def in_thought(self) -> bool:
        """Whether the reply so far ends inside an unclosed thought."""
        if self.fmt.tagged:
            return self._state == "thought"
        return self._state == "body" and self._channel == "analysis"

    def _think(self, out: list[TextDelta | ReasoningDelta], text: str, *, end: bool) -> None:
        if self._lstrip:
            text = text.lstrip()
            if text:
                self._lstrip = False
        text = self._trail + text
        self._trail = ""
        if not end:
            body = text.rstrip()
            self._trail = text[len(body) :]
            text = body
        else:
            text = text.rstrip()
        if text:
            self.thought += text
            if self.keep:
                out.append(ReasoningDelta(text))

    def _say(self, out: list[TextDelta | ReasoningDelta], text: str) -> None:
        if self._lstrip:
            text = text.lstrip()
            if text:
                self._lstrip = False
        if text:
            out.append(TextDelta(text))

    def _tagged(self, out: list[TextDelta | ReasoningDelta], *, final: bool) -> None:
        fmt = self.fmt
        while True:
            if self._state == "start":
                head = self._buf.lstrip()
                if head.startswith(fmt.open):
                    self._buf = head[len(fmt.open) :]
                    self._state, self._lstrip = "thought", True
                    continue
                if not final and fmt.open.startswith(head):
                    return  # still could be the open tag
                self._state = "answer"
                continue
            if self._state == "thought":
                at = self._buf.find(fmt.close)
                if at >= 0:
                    self._think(out, self._buf[:at], end=True)
                    self._buf = self._buf[at + len(fmt.close) :]
                    self._state, self._lstrip = "answer", True
                    continue
                keep = 0 if final else _held(self._buf, (fmt.close,))
                self._think(out, self._buf[: len(self._buf) - keep], end=final)
                self._buf = self._buf[len(self._buf) - keep :]
                return
            self._say(out, self._buf)
            self._buf = ""
            return

    def _harmony(self, out: list[TextDelta | ReasoningDelta], *, final: bool) -> None:
        while self._buf:
            if self._state == "done":
                self._buf = ""
                return
            if self._state == "header":  # `<|start|>assistant<|channel|>NAME ...<|message|>`
                at = self._buf.find("<|message|>")
                if at < 0:
                    if final and "<|" not in self._buf:
                        self._say(out, self._buf)  # plain text, no channels: the answer
                    if final:
                        self._buf = ""
                    return
                header = self._buf[:at]
                channel = header.split("<|channel|>")[-1].split() if "<|channel|>" in header else []
                self._channel = channel[0] if channel else "final"
                self._buf = self._buf[at + len("<|message|>") :]
                self._state, self._lstrip = "body", True
                continue
            at = self._buf.find("<|")
            if at < 0:
                cut = len(self._buf) - (0 if final else _held(self._buf, ("<|",)))
                self._emit(out, self._buf[:cut], end=final)
                self._buf = self._buf[cut:]
                return
            rest = self._buf[at:]
            marker = next((m for m in _HARMONY_MARKERS if rest.startswith(m)), None)
            if marker is None:
                if not final and any(m.startswith(rest) for m in _HARMONY_MARKERS):
                    self._emit(out, self._buf[:at], end=False)
                    self._buf = rest
                    return
                self._emit(out, self._buf[: at + 2], end=False)  # not a marker: text
                self._buf = self._buf[at + 2 :]
                continue
            self._emit(out, self._buf[:at], end=True)
            self._buf = rest[len(marker) :]
            self._state = "done" if marker in _HARMONY_ENDS else "header"
            if marker == "<|message|>":
                self._state = "body"

    def _emit(self, out: list[TextDelta | ReasoningDelta], text: str, *, end: bool) -> None:
        if self._channel == "analysis":
            self._think(out, text, end=end)
        else:
            self._say(out, text)


def split_item(
    item: str | GenerationInfo, splitter: ThoughtSplitter
) -> list[TextDelta | ReasoningDelta | GenerationInfo]:
    """One engine item through `splitter`.

    A text piece gives its events; the `GenerationInfo` (the end) gives what the splitter still
    held, then the info itself, its reasoning tokens set.
    """
    if isinstance(item, GenerationInfo):
        rest: list[TextDelta | ReasoningDelta | GenerationInfo] = [*splitter.flush()]
        item.reasoning_tokens = splitter.thought_pieces
        return [*rest, item]
    return [*splitter.feed(item)]


def split_items(
    items: Iterable[str | GenerationInfo], splitter: ThoughtSplitter | None
) -> Iterator[TextDelta | ReasoningDelta | GenerationInfo]:
    """An engine stream with its thoughts split out; the info counts the reasoning tokens.

    Without a splitter, text pieces become `TextDelta`s unchanged.
    """
    for item in items:
        if splitter is not None:
            yield from split_item(item, splitter)
        elif isinstance(item, GenerationInfo):
            yield item
        elif item:
            yield TextDelta(item)


__all__ = [
    "EFFORTS",
    "HARMONY",
    "MISTRAL_THINK",
    "THINK",
    "THOUGHT_FORMATS",
    "Effort",
    "Reasoning",
    "ThoughtFormat",
    "ThoughtSplitter",
    "check_reasoning",
    "keeps_thoughts",
    "opens_thought",
    "skip_thought",
    "split_item",
    "split_items",
    "thought_format_in_template",
]
