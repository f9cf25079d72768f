"""The examples in the callbacks' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "langchain_localkit.callbacks",
    "langchain_localkit.callbacks.streaming",
    "langchain_localkit.callbacks.timing",
    "langchain_localkit.callbacks._html",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0
