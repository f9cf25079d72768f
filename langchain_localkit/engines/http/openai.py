"""The OpenAI-compatible `/v1/chat/completions` and `/v1/completions` protocol, free of I/O.

llama.cpp's server speaks it (rendering its own chat template; `tools` and `response_format`
on current versions, with `timings` in its chunks), and so do LM Studio, vLLM, Ollama and other
OpenAI-compatible servers (usage in the last chunk when asked for, no `timings`; reasoning in
`reasoning_content` or `reasoning`). `chat_request` and `completion_request` shape request
bodies from options already read; `ChatStreamReader` turns the streamed chunks into text,
reasoning and tool-call deltas and one `GenerationInfo`; `TextStreamReader` does the same for
`/v1/completions`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_localkit._core.generation import (
    GenerationInfo,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
)
from langchain_localkit._core.timings import Timings
from langchain_localkit.engines.http.server import display_model_name

CHAT_PATH = "/v1/chat/completions"
COMPLETIONS_PATH = "/v1/completions"
REASONING_FIELDS = ("reasoning_content", "reasoning")
"""Where servers put reasoning text: llama.cpp and LM Studio, vLLM (since 0.11) and Ollama."""


def chat_request(
    messages: Sequence[Mapping[str, Any]],
    *,
    params: Mapping[str, Any] | None = None,
    model: str | None = None,
    max_tokens: int | None = None,
    tools: Sequence[Mapping[str, Any]] = (),
    tool_choice: str = "auto",
    tool_name: str | None = None,
    parallel_tool_calls: bool = False,
    response_schema: Mapping[str, Any] | None = None,
    json_object: bool = False,
    stream: bool = True,
    stream_usage: bool = True,
) -> dict[str, Any]:
    """The body of `POST /v1/chat/completions`.

    Args:
        messages: The messages in OpenAI's format.
        params: Sampling and other fields in the server's names (`temperature`, `stop`, ...).
        model: The model to ask for (servers serving one model echo it back).
        max_tokens: The most tokens to generate; None or below 1: no limit.
        tools: The tools in OpenAI's format.
        tool_choice: "auto", "none" or "required" (with tools).
        tool_name: With `tool_choice="required"`, the one tool to call.
        parallel_tool_calls: Allow several tool calls in one reply (with tools).
        response_schema: A JSON schema the reply must match.
        json_object: Without a schema: the reply must be a JSON object.
        stream: Stream the reply.
        stream_usage: Ask for usage in the last streamed chunk (`stream_options`).

    Example:
        >>> chat_request([{"role": "user", "content": "Hi"}], max_tokens=8)["max_tokens"]
        8
    """
    body: dict[str, Any] = dict(params or {})
    if max_tokens is not None and max_tokens > 0:
        body["max_tokens"] = max_tokens
    body["messages"] = [dict(m) for m in messages]
    body["stream"] = stream
    if stream and stream_usage:
        body["stream_options"] = {"include_usage": True}
    if model:
        body["model"] = model
    if tools:
        body["tools"] = [dict(t) for t in tools]
        if tool_choice == "required" and tool_name:
            body["tool_choice"] = {"type": "function", "function": {"name": tool_name}}
        else:
            body["tool_choice"] = tool_choice
        body["parallel_tool_calls"] = parallel_tool_calls
    if response_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": dict(response_schema)},
        }
    elif json_object:
        body["response_format"] = {"type": "json_object"}
    return body


def completion_request(
    prompt: str,
    *,
    params: Mapping[str, Any] | None = None,
    model: str | None = None,
    max_tokens: int | None = None,
    stream: bool = True,
    stream_usage: bool = True,
) -> dict[str, Any]:
    """The body of `POST /v1/completions` (text in, text out).

    Example:
        >>> completion_request("Once", max_tokens=4, stream=False)
        {'max_tokens': 4, 'prompt': 'Once', 'stream': False}
    """
    body: dict[str, Any] = dict(params or {})
    if max_tokens is not None and max_tokens > 0:
        body["max_tokens"] = max_tokens
    body["prompt"] = prompt
    body["stream"] = stream
    if stream and stream_usage:
        body["stream_options"] = {"include_usage": True}
    if model:
        body["model"] = model
    return body


def chat_chunks(event: Any) -> list[dict[str, Any]]:
    """The chunks of one stream event (llama.cpp may send a list of chunks in one event)."""
    if isinstance(event, list):
        return [e for e in event if isinstance(e, dict)]
    return [event] if isinstance(event, dict) else []


def _count(value: Any, fallback: int) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return fallback


class _StreamStats:
    """What every OpenAI-style stream reports besides its deltas, and the `GenerationInfo`."""

    __slots__ = (
        "deltas",
        "finish_reason",
        "first",
        "model",
        "model_name",
        "started",
        "timings",
        "usage",
    )

    def __init__(self, *, started: float, model_name: str | None = None) -> None:
        self.started = started
        self.model_name = model_name
        self.model: str | None = None
        self.usage: Mapping[str, Any] = {}
        self.timings: Mapping[str, Any] = {}
        self.finish_reason: str | None = None
        self.first: float | None = None
        self.deltas = 0

    def _note(self, chunk: Mapping[str, Any]) -> None:
        if isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        if isinstance(chunk.get("usage"), Mapping):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("timings"), Mapping):
            self.timings = chunk["timings"]

    def _produced(self, n: int) -> None:
        if n:
            self.deltas += n
            if self.first is None:
                self.first = time.perf_counter()

    def finish(self) -> GenerationInfo:
        """How the reply ended, from what the chunks said.

        `finish_reason` is "length" when the server says so and "stop" otherwise ("tool_calls"
        is kept in `extra["server_finish_reason"]`). Token counts come from `usage`, else from
        llama.cpp's `timings` (prompt: evaluated and cached tokens), else the output counts
        one token per streamed delta. A server that reports no `timings` gets the measured
        times: prompt time up to the first delta, generation time after it. Reasoning tokens
        come from `usage.completion_tokens_details.reasoning_tokens` where the server counts
        them (0 otherwise).
        """
        first = self.first
        ttft_ms = (first - self.started) * 1e3 if first is not None else None
        total_ms = (time.perf_counter() - self.started) * 1e3
        timings = Timings.from_llama_server(self.timings, ttft_ms=ttft_ms, total_ms=total_ms)
        fallback = timings.eval_tokens if self.timings else self.deltas
        prompt = _count(
            self.usage.get("prompt_tokens"), timings.prompt_tokens + timings.cached_tokens
        )
        completion = _count(self.usage.get("completion_tokens"), fallback)
        if not self.timings:
            details = self.usage.get("prompt_tokens_details")
            cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
            cached_tokens = _count(cached, 0)
            timings = Timings(
                prompt_tokens=max(prompt - cached_tokens, 0),
                prompt_ms=ttft_ms or 0.0,
                eval_tokens=completion,
                eval_ms=total_ms - (ttft_ms or 0.0),
                cached_tokens=cached_tokens,
                ttft_ms=ttft_ms,
                total_ms=total_ms,
                source="measured",
            )
        extra = {"server_finish_reason": "tool_calls"} if self.finish_reason == "tool_calls" else {}
        details = self.usage.get("completion_tokens_details")
        said = details.get("reasoning_tokens") if isinstance(details, Mapping) else None
        return GenerationInfo(
            finish_reason="length" if self.finish_reason == "length" else "stop",
            stop_reason=None,
            prompt_tokens=prompt,
            completion_tokens=completion,
            timings=timings,
            model_name=self.model_name or display_model_name(self.model),
            extra=extra,
            reasoning_tokens=_count(said, 0),
        )


class ChatStreamReader(_StreamStats):
    """The chunks of a streamed `/v1/chat/completions`, one at a time (no I/O).

    `feed` turns each chunk into deltas and records the stream's `model`, `usage`,
    llama.cpp's `timings`, the `finish_reason` and when the first delta came; `finish` turns
    those into one `GenerationInfo`.

    Args:
        started: When the request was sent (`time.perf_counter()`).
        model_name: The name to report; None takes the model the stream names.
        reasoning_fields: The delta fields that carry reasoning text, in the order read.

    Example:
        >>> reader = ChatStreamReader(started=time.perf_counter())
        >>> reader.feed({"model": "m.gguf", "choices": [{"delta": {"content": "Hi"}}]})
        [TextDelta(text='Hi')]
        >>> reader.feed({"choices": [{"delta": {"reasoning": "Hmm"}}]})
        [ReasoningDelta(text='Hmm')]
        >>> usage = {"prompt_tokens": 3, "completion_tokens": 2}
        >>> reader.feed({"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": usage})
        []
        >>> info = reader.finish()
        >>> info.finish_reason, info.prompt_tokens, info.completion_tokens, info.model_name
        ('stop', 3, 2, 'm.gguf')
    """

    __slots__ = ("reasoning_fields",)

    def __init__(
        self,
        *,
        started: float,
        model_name: str | None = None,
        reasoning_fields: Sequence[str] = REASONING_FIELDS,
    ) -> None:
        super().__init__(started=started, model_name=model_name)
        self.reasoning_fields = tuple(reasoning_fields)

    def feed(self, chunk: Mapping[str, Any]) -> list[TextDelta | ReasoningDelta | ToolCallDelta]:
        """The reasoning, text and tool-call deltas of one chunk, in order (often none)."""
        self._note(chunk)
        out: list[TextDelta | ReasoningDelta | ToolCallDelta] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, Mapping):
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            for name in self.reasoning_fields:
                thought = delta.get(name)
                if isinstance(thought, str) and thought:
                    out.append(ReasoningDelta(thought))
                    break
            content = delta.get("content")
            if isinstance(content, str) and content:
                out.append(TextDelta(content))
            for call in delta.get("tool_calls") or ():
                fn = call.get("function") or {}
                out.append(
                    ToolCallDelta(
                        name=fn.get("name"),
                        args=fn.get("arguments"),
                        id=call.get("id"),
                        index=call.get("index"),
                    )
                )
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        self._produced(len(out))
        return out


class TextStreamReader(_StreamStats):
    """The chunks of a streamed `/v1/completions`, one at a time (no I/O).

    Example:
        >>> reader = TextStreamReader(started=time.perf_counter())
        >>> reader.feed({"choices": [{"text": "Once", "finish_reason": None}]})
        ['Once']
        >>> reader.feed({"choices": [{"text": "", "finish_reason": "length"}]})
        []
        >>> reader.finish().finish_reason
        'length'
    """

    __slots__ = ()

    def feed(self, chunk: Mapping[str, Any]) -> list[str]:
        """The text pieces of one chunk (often one, sometimes none)."""
        self._note(chunk)
        out: list[str] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, Mapping):
                continue
            text = choice.get("text")
            if isinstance(text, str) and text:
                out.append(text)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        self._produced(len(out))
        return out


__all__ = [
    "CHAT_PATH",
    "COMPLETIONS_PATH",
    "REASONING_FIELDS",
    "ChatStreamReader",
    "TextStreamReader",
    "chat_chunks",
    "chat_request",
    "completion_request",
]
