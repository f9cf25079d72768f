"""The gpt4all faces the integration tests build: greedy and short unless a test says otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F")

GREEDY: dict[str, Any] = {"temp": 0.0, "top_k": 1, "max_tokens": 8}


def greedy(cls: type[F], path: Path, **kwargs: Any) -> F:
    """`cls(model=path)` (`GPT4All`, `ChatGPT4All`), greedy, 8 tokens; `kwargs` override."""
    return cls(model=str(path), **{**GREEDY, **kwargs})
