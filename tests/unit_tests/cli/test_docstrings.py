"""The examples in the CLI's and the progress module's docstrings run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import langchain_localkit.cli as cli

MODULES = [
    *(m.name for m in pkgutil.iter_modules(cli.__path__, cli.__name__ + ".")),
    "langchain_localkit._core.progress",
    "langchain_localkit.testing.llama_binary",
]


@pytest.mark.parametrize("name", [m for m in MODULES if not m.endswith("__main__")])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0
