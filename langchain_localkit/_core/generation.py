"""What flows up from an engine: text deltas, how a generation ended, and a face's step events.

Every engine streams `str` deltas and ends with one `GenerationInfo` (the stream shape
`Iterator[str | GenerationInfo]`; `invoke` is the joined stream). A chat face may run several
generations for one call (free text, then a grammar-constrained tool call; or a reply and its
retries); its step logic turns them into the typed `Event`s below, which the chat skeleton
(`langchain_localkit._faces.chat`) turns into LangChain chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_localkit._core.timings import Timings

FinishReason = Literal["stop", "length", "cancelled"]


@dataclass
class GenerationInfo:
    """How a generation ended, with exact token counts and timings.

    Attributes:
        finish_reason: "stop" (end of generation or a stop string), "length" (max_tokens or
            the context window), or "cancelled".
        stop_reason: The stop string that matched, "eos", or None.
        prompt_tokens: Tokens in the prompt (cache hits included).
        completion_tokens: Tokens generated (end-of-generation excluded).
        timings: The figures of this call.
        model_name: The file name of the model.
        extra: Runtime-specific fields reported as they are in `generation_info` (the server's
            `stop_type` and `tokens_cached`, llama.cpp's `logprobs`, ...).
        reasoning_tokens: How many of the completion tokens were the model's thoughts (0 when
            it did not think or they were not kept apart).

    Example:
        >>> info = GenerationInfo("stop", "eos", 5, 3, Timings(), "m.gguf")
        >>> info.total_tokens
        8
    """

    finish_reason: FinishReason
    stop_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    timings: Timings
    model_name: str
    extra: dict[str, Any] = field(default_factory=dict)
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens

    def usage(self) -> dict[str, Any]:
        """The token counts in LangChain's `usage_metadata` names."""
        from langchain_localkit._core.langchain import usage_metadata

        return dict(
            usage_metadata(
                self.prompt_tokens,
                self.completion_tokens,
                self.reasoning_tokens,
                self.timings.cached_tokens,
            )
        )

    def to_generation_info(self) -> dict[str, Any]:
        """The `generation_info` of a finished text generation (every LLM face's keys).

        `finish_reason`, `stop_reason`, `model_name`, `usage` and `timings`, then the
        runtime's `extra` fields.
        """
        data: dict[str, Any] = {
            "finish_reason": self.finish_reason,
            "stop_reason": self.stop_reason,
            "model_name": self.model_name,
            "usage": self.usage(),
            "timings": self.timings.to_dict(),
        }
        data.update(self.extra)
        return data


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text, as decoded."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning (its thoughts), kept apart from the answer's text."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallsText:
    """The model's tool-call block (`<tool_call>{...}</tool_call>`...), to parse and check."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call the server parsed itself (OpenAI-style stream deltas)."""

    name: str | None
    args: str | None
    id: str | None
    index: int | None


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole reply checked before it is returned: its text and tool calls.

    `tool_calls` holds `{"name", "args", "id"}` dicts (valid calls, args a dict) and `invalid`
    the calls that failed to parse (`args` as text, with an `error`).
    """

    text: str
    tool_calls: tuple[Any, ...] = ()
    invalid: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Done:
    """The call is over: the `GenerationInfo` of every generation it ran.

    Attributes:
        infos: One per generation, in order (at least one).
        attempts: How many times the whole reply was generated (retries of a checked reply
            re-evaluate the prompt, so their prompt tokens add up; steps of one attempt share
            their prompt through the KV cache, so only the first step's count).
        metadata: Extra `response_metadata` of this call.
    """

    infos: tuple[GenerationInfo, ...]
    attempts: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def input_tokens(self) -> int:
        """Prompt tokens of the call (see `attempts`)."""
        if self.attempts > 1:
            return sum(i.prompt_tokens for i in self.infos)
        return self.infos[0].prompt_tokens

    @property
    def output_tokens(self) -> int:
        """Tokens generated by every generation of the call."""
        return sum(i.completion_tokens for i in self.infos)

    @property
    def reasoning_tokens(self) -> int:
        """Generated tokens that were the model's thoughts."""
        return sum(i.reasoning_tokens for i in self.infos)

    @property
    def cache_read_tokens(self) -> int:
        """Prompt tokens reused from a cache, counted as `input_tokens` is."""
        if self.attempts > 1:
            return sum(i.timings.cached_tokens for i in self.infos)
        return self.infos[0].timings.cached_tokens

    @property
    def timings(self) -> Timings:
        """One timing record for the call."""
        return Timings.combine([i.timings for i in self.infos])


Event = TextDelta | ReasoningDelta | ToolCallsText | ToolCallDelta | Reply | Done
"""What a chat face's step logic yields, in order: text and tool-call events, then `Done`."""


__all__ = [
    "Done",
    "Event",
    "FinishReason",
    "GenerationInfo",
    "ReasoningDelta",
    "Reply",
    "TextDelta",
    "ToolCallDelta",
    "ToolCallsText",
]
