"""llama.cpp's native `POST /completion` protocol, free of I/O.

The server streams text deltas as Server-Sent Events, then one final event with `timings`,
`stop_type`, `stopping_word`, `tokens_predicted`, `tokens_evaluated`, `tokens_cached`
(llamafile's older server reports `stopped_eos` / `stopped_word` / `stopped_limit` instead of
`stop_type`). The body accepts `grammar` (GBNF) on every server version and `json_schema` on
llama.cpp servers; `for_server` turns a schema into a grammar for llamafile's older server.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from langchain_localkit._core.errors import (
    RuntimeNotInstalledError,
    ServerDisconnectedError,
    ServerError,
)
from langchain_localkit._core.generation import FinishReason, GenerationInfo
from langchain_localkit._core.timings import Timings
from langchain_localkit.engines.http.server import ServerInfo, display_model_name


def for_server(body: Mapping[str, Any], info: ServerInfo) -> dict[str, Any]:
    """Adapt a `/completion` body to what the server understands.

    On llamafile's older server, which has no `json_schema`, the schema becomes a GBNF
    `grammar` (converted locally with llama.cpp's converter from llama-cpp-python).

    Raises:
        RuntimeNotInstalledError: The conversion is needed and llama-cpp-python is missing.
    """
    out = dict(body)
    if not info.legacy or "json_schema" not in out:
        return out
    from langchain_localkit.engines.gbnf import json_schema_to_gbnf

    try:
        out["grammar"] = json_schema_to_gbnf(out.pop("json_schema"))
    except RuntimeNotInstalledError:
        raise RuntimeNotInstalledError(
            "llama-cpp-python",
            "llamacpp",
            "Structured output on llamafile's older server (which has no `json_schema`; the "
            "schema is turned into a grammar locally, or use a current `llama-server`)",
        ) from None
    return out


def _stop_of(final: Mapping[str, Any]) -> tuple[FinishReason, str | None, str]:
    """(finish_reason, stop_reason, stop_type) from a final `/completion` result."""
    stop_type = final.get("stop_type")
    if not isinstance(stop_type, str):
        if final.get("stopped_eos"):
            stop_type = "eos"
        elif final.get("stopped_word"):
            stop_type = "word"
        elif final.get("stopped_limit"):
            stop_type = "limit"
        else:
            stop_type = "none"
    if stop_type == "eos":
        return "stop", "eos", stop_type
    if stop_type == "word":
        word = final.get("stopping_word")
        return "stop", word if isinstance(word, str) and word else None, stop_type
    return "length", None, stop_type


def generation_from_final(
    final: Mapping[str, Any],
    *,
    model_name: str,
    ttft_ms: float | None = None,
    total_ms: float | None = None,
) -> GenerationInfo:
    """A `GenerationInfo` from the final result of `/completion` (streamed or not).

    Output tokens are those the user sees: the server counts the end-of-generation token in
    `tokens_predicted` and `timings.predicted_n`; it is not counted here (as in-process).

    Args:
        final: The final event of a stream, or the whole answer of an unstreamed request.
        model_name: The name to report; "" takes the server's.
        ttft_ms: Time to first token, measured by the caller.
        total_ms: Wall time of the call, measured by the caller.

    Example:
        >>> info = generation_from_final(
        ...     {"stop_type": "eos", "tokens_predicted": 5, "tokens_evaluated": 7},
        ...     model_name="m.gguf",
        ... )
        >>> info.finish_reason, info.prompt_tokens, info.completion_tokens
        ('stop', 7, 4)
    """
    finish, stop_reason, stop_type = _stop_of(final)
    predicted = int(final.get("tokens_predicted") or 0)
    output = max(predicted - 1, 0) if stop_type == "eos" else predicted
    raw_timings = final.get("timings")
    timings = Timings.from_llama_server(
        raw_timings if isinstance(raw_timings, Mapping) else {}, ttft_ms=ttft_ms, total_ms=total_ms
    )
    if timings.eval_tokens != output:
        timings = Timings(
            prompt_tokens=timings.prompt_tokens,
            prompt_ms=timings.prompt_ms,
            eval_tokens=output,
            eval_ms=timings.eval_ms,
            cached_tokens=timings.cached_tokens,
            ttft_ms=ttft_ms,
            total_ms=total_ms,
            source=timings.source,
        )
    extra: dict[str, Any] = {"stop_type": stop_type}
    for key in ("tokens_cached", "truncated", "id_slot", "slot_id", "completion_probabilities"):
        if key in final:
            extra[key] = final[key]
    return GenerationInfo(
        finish_reason=finish,
        stop_reason=stop_reason,
        prompt_tokens=int(final.get("tokens_evaluated") or 0),
        completion_tokens=output,
        timings=timings,
        model_name=model_name or display_model_name(final.get("model")),
        extra=extra,
    )


class CompletionStreamReader:
    """The events of a streamed `/completion`, one at a time (no I/O).

    Args:
        url: The server, for the error when the stream ends early.
        model_name: The name to report; "" takes the server's.
        started: When the call started (`time.perf_counter()`); default now.

    Example:
        >>> reader = CompletionStreamReader("http://localhost:8080", model_name="m")
        >>> reader.feed({"content": "Hi", "stop": False})
        ['Hi']
        >>> reader.feed({"content": "", "stop": True, "stop_type": "limit", "tokens_predicted": 1})
        []
        >>> reader.finish().finish_reason
        'length'
    """

    __slots__ = ("final", "first", "model_name", "started", "url")

    def __init__(self, url: str, *, model_name: str = "", started: float | None = None) -> None:
        self.url = url
        self.model_name = model_name
        self.started = time.perf_counter() if started is None else started
        self.first: float | None = None
        self.final: GenerationInfo | None = None

    def feed(self, event: Mapping[str, Any]) -> list[str]:
        """The text of one event.

        Once the final event came, nothing: the rest of the stream is read and dropped, so
        the connection ends cleanly.
        """
        if self.final is not None:
            return []
        content = event.get("content")
        out = [content] if isinstance(content, str) and content else []
        if out and self.first is None:
            self.first = time.perf_counter()
        if event.get("stop"):
            now = time.perf_counter()
            self.final = generation_from_final(
                event,
                model_name=self.model_name,
                ttft_ms=(self.first - self.started) * 1e3 if self.first is not None else None,
                total_ms=(now - self.started) * 1e3,
            )
        return out

    def finish(self) -> GenerationInfo:
        """How the generation ended.

        Raises:
            ServerDisconnectedError: The stream ended before its final event.
        """
        if self.final is None:
            raise ServerDisconnectedError(
                f"The stream from {self.url} ended before its final event, so the reply was "
                "cut off: the server may have crashed or been stopped mid-reply (or a proxy "
                "cut the stream); check its log and restart it."
            )
        return self.final


def completion_result(
    result: Any, *, url: str, model_name: str = "", started: float
) -> tuple[str, GenerationInfo]:
    """The text and `GenerationInfo` of an unstreamed `/completion` answer.

    Args:
        result: The decoded answer (an object, or a list of one).
        url: The server, for errors.
        model_name: The name to report; "" takes the server's.
        started: When the request was sent (`time.perf_counter()`).

    Raises:
        ServerError: The answer is not a completion result.
    """
    if isinstance(result, list):
        result = result[0] if result else {}
    if not isinstance(result, Mapping):
        raise ServerError(f"The server at {url} sent an unexpected answer: {result!r}")
    elapsed = (time.perf_counter() - started) * 1e3
    info = generation_from_final(result, model_name=model_name, total_ms=elapsed)
    text = str(result.get("content") or "")
    if info.finish_reason == "length":
        # the bytes of a character cut off by n_predict arrive as U+FFFD; the server's own
        # chat endpoint drops them (and so does its stream, and llama-cpp-python)
        text = text.rstrip("\ufffd")
    return text, info


__all__ = [
    "CompletionStreamReader",
    "completion_result",
    "for_server",
    "generation_from_final",
]
