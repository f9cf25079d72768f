"""The examples in the prompt pack's docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "langchain_localkit.prompts",
    "langchain_localkit.prompts.detection",
    "langchain_localkit.prompts.families",
    "langchain_localkit.prompts.guard",
    "langchain_localkit.prompts.recipes",
    "langchain_localkit.prompts.render",
    "langchain_localkit.prompts.sandbox",
    "langchain_localkit.prompts.selectors",
    "langchain_localkit.prompts.templates",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0
