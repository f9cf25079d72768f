"""The examples in the docstrings of every callbacks module run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

from langchain_localkit import callbacks

MODULES = [
    callbacks.__name__,
    *(m.name for m in pkgutil.walk_packages(callbacks.__path__, f"{callbacks.__name__}.")),
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
