"""Where the package keeps what it builds, generates or measures: one cache directory.

Standard library only: the build scripts load this before any dependency is installed.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "LOCALKIT_CACHE_DIR"
"""Environment variable naming the cache directory (default `~/.cache/langchain-localkit`)."""


def cache_dir(*parts: str) -> Path:
    """The package's cache directory, or a path inside it (not created).

    `$LOCALKIT_CACHE_DIR` if set, else `$XDG_CACHE_HOME/langchain-localkit`, else
    `~/.cache/langchain-localkit`.

    Example:
        >>> cache_dir("probes").name
        'probes'
    """
    base = os.environ.get(CACHE_ENV)
    if base:
        root = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "langchain-localkit"
    return root.joinpath(*parts)


__all__ = ["CACHE_ENV", "cache_dir"]
