"""Lazy public names for a package: a name's module is imported the first time it is used.

`import langchain_localkit.llms` must not load llama.cpp, gpt4all or langchain-ollama; the
classes' modules import them, so packages map each public name to its module and resolve it
on first attribute access (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of a package whose public names load on first use.

    Args:
        package: The package's `__name__` (for error messages).
        names: Public name -> the module that defines it.
        namespace: The package's `globals()`; a resolved name is stored there, so the next
            access is a plain attribute lookup.

    Example:
        >>> ns: dict[str, Any] = {}
        >>> getattr_, dir_ = lazy_exports("pkg", {"dumps": "json"}, ns)
        >>> getattr_("dumps")([1])
        '[1]'
        >>> dir_()
        ['dumps']
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(namespace.get("__all__", names))

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
