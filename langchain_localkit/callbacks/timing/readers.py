"""Reading the figures a runtime put on a run's output: timings, token usage, model name.

Each face puts its runtime's own figures on the result: `generation_info["timings"]` (LLMs)
or `response_metadata["timings"]` (chat models), a `Timings.to_dict()`. The readers also
understand a raw llama.cpp server `timings` object and Ollama's raw nanosecond durations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult

from langchain_localkit._core.timings import Timings

_USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


def _metadata(generation: Generation) -> list[Mapping[str, Any]]:
    metas: list[Mapping[str, Any]] = []
    if isinstance(generation, ChatGeneration):
        metas.append(generation.message.response_metadata or {})
    metas.append(generation.generation_info or {})
    return metas


def _timings_from_mapping(meta: Mapping[str, Any]) -> Timings | None:
    raw = meta.get("timings")
    if isinstance(raw, Timings):
        return raw
    if isinstance(raw, Mapping):
        if "predicted_n" in raw or "predicted_ms" in raw:
            return Timings.from_llama_server(raw)
        if "eval_tokens" in raw or "prompt_tokens" in raw:
            return Timings.from_dict(raw)
    if "eval_count" in meta or "eval_duration" in meta:
        return Timings.from_ollama(meta)
    return None


def timings_from_generation(generation: Generation) -> Timings | None:
    """The runtime's own figures on a generation, or None when it reported none.

    Reads, in order: `response_metadata["timings"]` (chat) and `generation_info["timings"]`
    (LLM) as a `Timings.to_dict()` dict or a llama.cpp server `timings` object, then Ollama's
    raw fields (`eval_count`, `eval_duration`, ... in nanoseconds).

    Example:
        >>> from langchain_core.outputs import Generation
        >>> gen = Generation(text="hi", generation_info={"eval_count": 4, "eval_duration": 2e8})
        >>> timings_from_generation(gen).eval_tokens_per_second
        20.0
    """
    for meta in _metadata(generation):
        timings = _timings_from_mapping(meta)
        if timings is not None:
            return timings
    return None


def _usage(input_tokens: Any, output_tokens: Any) -> dict[str, int]:
    i, o = int(input_tokens or 0), int(output_tokens or 0)
    return {"input_tokens": i, "output_tokens": o, "total_tokens": i + o}


def _usage_from_mapping(data: Mapping[str, Any]) -> dict[str, int] | None:
    if "input_tokens" in data or "output_tokens" in data:
        return _usage(data.get("input_tokens"), data.get("output_tokens"))
    if "prompt_tokens" in data or "completion_tokens" in data:
        return _usage(data.get("prompt_tokens"), data.get("completion_tokens"))
    return None


def usage_from_generation(generation: Generation) -> dict[str, int] | None:
    """Token counts of a generation (`usage_metadata`, `generation_info["usage"]`, Ollama's).

    Example:
        >>> from langchain_core.outputs import Generation
        >>> info = {"usage": {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8}}
        >>> usage_from_generation(Generation(text="x", generation_info=info))
        {'input_tokens': 3, 'output_tokens': 5, 'total_tokens': 8}
    """
    if isinstance(generation, ChatGeneration):
        message = generation.message
        if isinstance(message, AIMessage) and message.usage_metadata:
            return _usage_from_mapping(dict(message.usage_metadata))
    for meta in _metadata(generation):
        usage = meta.get("usage") or meta.get("token_usage")
        if isinstance(usage, Mapping):
            found = _usage_from_mapping(usage)
            if found is not None:
                return found
        if "eval_count" in meta or "prompt_eval_count" in meta:
            return _usage(meta.get("prompt_eval_count"), meta.get("eval_count"))
    return None


def model_name_from_generation(generation: Generation) -> str | None:
    """The model a generation reports (`model_name` or `model` in its metadata), if any.

    Example:
        >>> from langchain_core.outputs import Generation
        >>> model_name_from_generation(Generation(text="x", generation_info={"model": "qwen3"}))
        'qwen3'
    """
    for meta in _metadata(generation):
        name = meta.get("model_name") or meta.get("model")
        if isinstance(name, str) and name:
            return name
    return None


@dataclass(frozen=True, slots=True)
class ResultFigures:
    """What a run's whole result reports, over all its generations.

    Attributes:
        timings: The generations' figures, combined; None when none reported any.
        usage: Token counts summed over the generations, when reported.
        model_name: The first model name a generation reports.
    """

    timings: Timings | None
    usage: dict[str, int] | None
    model_name: str | None


def read_result(response: LLMResult) -> ResultFigures:
    """The figures, token counts and model name a run's result reports.

    Token counts come from the generations, or else from `llm_output["token_usage"]` when the
    run had a single prompt (for several prompts it is not known whose they are).

    Example:
        >>> from langchain_core.outputs import Generation, LLMResult
        >>> info = {"eval_count": 4, "eval_duration": 2e8, "prompt_eval_count": 2}
        >>> gen = Generation(text="hi", generation_info=info)
        >>> figures = read_result(LLMResult(generations=[[gen]]))
        >>> figures.timings.eval_tokens, figures.usage
        (4, {'input_tokens': 2, 'output_tokens': 4, 'total_tokens': 6})
    """
    parts: list[Timings] = []
    usages: list[dict[str, int]] = []
    model_name = None
    for generations in response.generations:
        for generation in generations:
            timings = timings_from_generation(generation)
            if timings is not None:
                parts.append(timings)
            usage = usage_from_generation(generation)
            if usage is not None:
                usages.append(usage)
            model_name = model_name or model_name_from_generation(generation)
    if not usages and response.llm_output and len(response.generations) == 1:
        found = _usage_from_mapping(response.llm_output.get("token_usage") or {})
        if found is not None:
            usages.append(found)
    return ResultFigures(
        timings=None if not parts else parts[0] if len(parts) == 1 else Timings.combine(parts),
        usage={k: sum(u[k] for u in usages) for k in _USAGE_KEYS} if usages else None,
        model_name=model_name,
    )


__all__ = [
    "ResultFigures",
    "model_name_from_generation",
    "read_result",
    "timings_from_generation",
    "usage_from_generation",
]
