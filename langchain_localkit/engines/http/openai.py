"""The OpenAI-compatible `/v1/chat/completions` protocol, free of I/O.

llama.cpp's server speaks it (rendering its own chat template; `tools` and `response_format`
on current versions, with `timings` in its chunks), and so do LM Studio, vLLM and other
OpenAI-compatible servers (usage in the last chunk when asked for, no `timings`).
`chat_request` shapes a request body from options already read; `ChatStreamReader` turns the
streamed chunks into text and tool-call deltas and one `GenerationInfo`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_localkit._core.generation import GenerationInfo, TextDelta, ToolCallDelta
from langchain_localkit._core.timings import Timings
from langchain_localkit.engines.http.server import display_model_name

CHAT_PATH = "/v1/chat/completions"


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
        stream: Stream the reply, with usage in the last chunk.

    Example:
        >>> chat_request([{"role": "user", "content": "Hi"}], max_tokens=8)["max_tokens"]
        8
    """
    body: dict[str, Any] = dict(params or {})
    if max_tokens is not None and max_tokens > 0:
        body["max_tokens"] = max_tokens
    body["messages"] = [dict(m) for m in messages]
    body["stream"] = stream
    if stream:
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


def chat_chunks(event: Any) -> list[dict[str, Any]]:
    """The chunks of one stream event (llama.cpp may send a list of chunks in one event)."""
    if isinstance(event, list):
        return [e for e in event if isinstance(e, dict)]
    return [event] if isinstance(event, dict) else []


def _count(value: Any, fallback: int) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return fallback


class ChatStreamReader:
    """The chunks of a streamed `/v1/chat/completions`, one at a time (no I/O).

    `feed` turns each chunk into deltas and records the stream's `model`, `usage`,
    llama.cpp's `timings`, the `finish_reason` and when the first delta came; `finish` turns
    those into one `GenerationInfo`.

    Args:
        started: When the request was sent (`time.perf_counter()`).
        model_name: The name to report; None takes the model the stream names.

    Example:
        >>> reader = ChatStreamReader(started=time.perf_counter())
        >>> reader.feed({"model": "m.gguf", "choices": [{"delta": {"content": "Hi"}}]})
        [TextDelta(text='Hi')]
        >>> usage = {"prompt_tokens": 3, "completion_tokens": 1}
        >>> reader.feed({"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": usage})
        []
        >>> info = reader.finish()
        >>> info.finish_reason, info.prompt_tokens, info.completion_tokens, info.model_name
        ('stop', 3, 1, 'm.gguf')
    """

    __slots__ = ("finish_reason", "first", "model", "model_name", "started", "timings", "usage")

    def __init__(self, *, started: float, model_name: str | None = None) -> None:
        self.started = started
        self.model_name = model_name
        self.model: str | None = None
        self.usage: Mapping[str, Any] = {}
        self.timings: Mapping[str, Any] = {}
        self.finish_reason: str | None = None
        self.first: float | None = None

    def feed(self, chunk: Mapping[str, Any]) -> list[TextDelta | ToolCallDelta]:
        """The text and tool-call deltas of one chunk, in order (often none)."""
        if isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        if isinstance(chunk.get("usage"), Mapping):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("timings"), Mapping):
            self.timings = chunk["timings"]
        out: list[TextDelta | ToolCallDelta] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, Mapping):
                continue
            delta = choice.get("delta") or {}
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
        if out and self.first is None:
            self.first = time.perf_counter()
        return out

    def finish(self) -> GenerationInfo:
        """How the reply ended, from what the chunks said.

        `finish_reason` is "length" when the server says so and "stop" otherwise ("tool_calls"
        is kept in `extra["server_finish_reason"]`). Token counts come from `usage`, else from
        llama.cpp's `timings` (prompt: evaluated and cached tokens). A server that reports no
        `timings` gets the usage counts, the measured times and no rates.
        """
        first = self.first
        ttft_ms = (first - self.started) * 1e3 if first is not None else None
        total_ms = (time.perf_counter() - self.started) * 1e3
        timings = Timings.from_llama_server(self.timings, ttft_ms=ttft_ms, total_ms=total_ms)
        prompt = _count(
            self.usage.get("prompt_tokens"), timings.prompt_tokens + timings.cached_tokens
        )
        completion = _count(self.usage.get("completion_tokens"), timings.eval_tokens)
        if not self.timings:
            timings = Timings(
                prompt_tokens=prompt,
                eval_tokens=completion,
                ttft_ms=ttft_ms,
                total_ms=total_ms,
                source="measured",
            )
        extra = {"server_finish_reason": "tool_calls"} if self.finish_reason == "tool_calls" else {}
        return GenerationInfo(
            finish_reason="length" if self.finish_reason == "length" else "stop",
            stop_reason=None,
            prompt_tokens=prompt,
            completion_tokens=completion,
            timings=timings,
            model_name=self.model_name or display_model_name(self.model),
            extra=extra,
        )


__all__ = ["CHAT_PATH", "ChatStreamReader", "chat_chunks", "chat_request"]
