"""Every profile test starts with an empty profile cache, and fails on a `UserWarning`
(LangChain's "Unrecognized keys in model profile" is one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_localkit._faces.profile import clear_profile_cache

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.filterwarnings("error::UserWarning"))


@pytest.fixture(autouse=True)
def _fresh_profile_cache() -> Iterator[None]:
    clear_profile_cache()
    yield
    clear_profile_cache()
