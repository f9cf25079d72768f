"""LangChain glue every face shares: old constructor arguments, stop lists, usage, results."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import Generation, GenerationChunk


def migrate_callback_manager(values: Any) -> Any:
    """Map the old `callback_manager=` argument onto `callbacks=` (with a deprecation warning).

    langchain-core 1.x removed the field; community classes silently dropped it, so the
    documented `LlamaCpp(..., callback_manager=CallbackManager([...]))` streamed nothing.
    """
    if isinstance(values, dict) and "callback_manager" in values:
        manager = values.pop("callback_manager")
        warnings.warn(
            "`callback_manager` is deprecated in LangChain; pass `callbacks=` instead "
            "(it is used as `callbacks` here).",
            DeprecationWarning,
            stacklevel=4,
        )
        if manager is not None:
            if values.get("callbacks") is not None:
                raise ValueError("Pass either `callbacks` or `callback_manager`, not both.")
            values["callbacks"] = manager
    return values


def merge_stop(default: Sequence[str] | None, call: Sequence[str] | None) -> tuple[str, ...]:
    """Stop strings of the constructor and of the call, both honoured, in order, no repeats."""
    merged: dict[str, None] = {}
    for s in (*(default or ()), *(call or ())):
        if s:
            merged[s] = None
    return tuple(merged)


def usage_metadata(
    input_tokens: int, output_tokens: int, reasoning: int = 0, cache_read: int = 0
) -> UsageMetadata:
    """A LangChain `UsageMetadata` from token counts.

    Args:
        input_tokens: Prompt tokens, the whole prompt (those read from a cache included).
        output_tokens: Generated tokens.
        reasoning: Generated tokens that were thoughts (`output_token_details.reasoning`).
        cache_read: Prompt tokens reused from a cache instead of evaluated
            (`input_token_details.cache_read`): the KV prefix a context or a server slot
            still held, or a prompt state restored from disk.

    Example:
        >>> usage_metadata(1500, 20, cache_read=1400)["input_token_details"]
        {'cache_read': 1400}
    """
    usage = UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )
    if cache_read > 0:
        usage["input_token_details"] = {"cache_read": min(cache_read, input_tokens)}
    if reasoning:
        usage["output_token_details"] = {"reasoning": reasoning}
    return usage


__all__ = ["merge_stop", "migrate_callback_manager", "usage_metadata"]


def join_chunks(chunks: Iterable[GenerationChunk]) -> Generation:
    """One `Generation` from a text stream: the texts joined, the last `generation_info`.

    Thoughts streamed apart (chunks whose `generation_info` has only `reasoning_content`) are
    joined into the result's `generation_info["reasoning_content"]`.
    """
    parts: list[str] = []
    thoughts: list[str] = []
    info: dict[str, Any] | None = None
    for chunk in chunks:
        parts.append(chunk.text)
        gi = chunk.generation_info
        if gi and set(gi) == {"reasoning_content"}:
            thoughts.append(str(gi["reasoning_content"]))
        elif gi:
            info = gi
    if thoughts:
        info = {**(info or {}), "reasoning_content": "".join(thoughts)}
    return Generation(text="".join(parts), generation_info=info)


def llm_output(generations: list[list[Generation]]) -> dict[str, Any]:
    """`LLMResult.llm_output` of a batch: summed `token_usage` and the model name."""
    totals = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    model_name = None
    for gens in generations:
        info = gens[0].generation_info or {}
        model_name = info.get("model_name", model_name)
        for key in totals:
            totals[key] += int(info.get("usage", {}).get(key, 0))
    return {"token_usage": totals, "model_name": model_name}
