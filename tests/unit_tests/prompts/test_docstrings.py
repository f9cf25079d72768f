"""The examples in the prompt pack's docstrings run (every module of the pack)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import langchain_localkit.prompts as prompts

MODULES = [
    prompts.__name__,
    *(m.name for m in pkgutil.walk_packages(prompts.__path__, prompts.__name__ + ".")),
]


def test_every_module_is_covered() -> None:
    assert {"langchain_localkit.prompts.families", "langchain_localkit.prompts.render"} < set(
        MODULES
    )


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0
