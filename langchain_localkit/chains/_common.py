"""Small pieces the recipes share: seeing through `bind`, reading the input, model budgets."""

from __future__ import annotations

from typing import Any


def unwrap(model: Any) -> Any:
    """The model inside `model.bind(...)` / `with_config(...)` wrappers (at most 8 deep)."""
    for _ in range(8):
        bound = getattr(model, "bound", None)
        if bound is None or not hasattr(bound, "invoke"):
            break
        model = bound
    return model


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


__all__ = ["field_of", "takes_max_tokens", "unwrap"]
