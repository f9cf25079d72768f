"""Small pieces the recipes share: seeing through `bind`, reading the input, model budgets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def _layers(model: Any) -> Iterator[Any]:
    """`model`, then each runnable its wrappers hold, the model inside last (8 deep at most)."""
    yield model
    for _ in range(8):
        bound = getattr(model, "bound", None)
        if bound is None or not hasattr(bound, "invoke"):
            return
        model = bound
        yield model


def unwrap(model: Any) -> Any:
    """The model inside `model.bind(...)` / `with_config(...)` wrappers (at most 8 deep)."""
    *_, inner = _layers(model)
    return inner


def field_of(value: Any, name: str) -> str:
    """`value` when it is a string, else `value[name]` of a mapping; a clear error otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and name in value:
        return str(value[name])
    raise TypeError(f"Expected a {name} string or {{{name!r}: ...}}, not {value!r}")


def takes_max_tokens(model: Any) -> bool:
    """Whether `model` is one of this package's faces that take `max_tokens` per call."""
    inner = unwrap(model)
    return type(inner).__module__.startswith("langchain_localkit.") and "max_tokens" in getattr(
        type(inner), "model_fields", {}
    )


RECIPE_PROMPT_LOOKUP = 4
"""Draft tokens per step the RAG and summary recipes check on a llama.cpp face by default."""


def _bound_kwargs(model: Any) -> dict[str, Any]:
    """The call options of every `bind(...)` around `model`, outermost last."""
    found: dict[str, Any] = {}
    for layer in _layers(model):
        kwargs = getattr(layer, "kwargs", None)
        if isinstance(kwargs, dict):
            found = {**kwargs, **found}
    return found


def with_prompt_lookup(model: Any, prompt_lookup: int | None) -> Any:
    """`model` bound to check `prompt_lookup` guessed tokens per step, where that applies.

    `None` (the recipes' default) turns prompt lookup on (`RECIPE_PROMPT_LOOKUP` tokens) for
    the in-process llama.cpp faces, unless the model's own `prompt_lookup` field or a
    `bind(prompt_lookup=...)` already chose; other models are returned as they are. `0`
    leaves the model as it is; a positive number is bound as the call option.

    Raises:
        ValueError: A negative number, or a positive one for a model without prompt lookup.
    """
    if prompt_lookup is not None and (
        isinstance(prompt_lookup, bool) or not isinstance(prompt_lookup, int) or prompt_lookup < 0
    ):
        raise ValueError(f"prompt_lookup must be None or an int >= 0, not {prompt_lookup!r}")
    if prompt_lookup == 0:
        return model
    from langchain_localkit._llamacpp import LlamaCppParams

    inner = unwrap(model)
    if not isinstance(inner, LlamaCppParams):
        if prompt_lookup is None:
            return model
        raise ValueError(
            f"prompt_lookup={prompt_lookup} needs an in-process llama.cpp model (LlamaCpp, "
            f"ChatLlamaCpp); {type(inner).__name__} has no prompt lookup. Pass "
            "prompt_lookup=0 or leave it out."
        )
    if prompt_lookup is None:
        if getattr(inner, "prompt_lookup", None) is not None or (
            "prompt_lookup" in _bound_kwargs(model)
        ):
            return model
        prompt_lookup = RECIPE_PROMPT_LOOKUP
    return model.bind(prompt_lookup=prompt_lookup)


__all__ = [
    "RECIPE_PROMPT_LOOKUP",
    "field_of",
    "takes_max_tokens",
    "unwrap",
    "with_prompt_lookup",
]
