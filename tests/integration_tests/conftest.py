"""Fixtures shared by the integration tests of several runtimes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def llamafile_url() -> Iterator[str]:
    """The base URL of a llama.cpp server (what a llamafile runs) on the tiny GGUF, loopback."""
    from tests.integration_tests.llamafile import _servers

    yield _servers.url("tiny")
    _servers.stop_all()


@pytest.fixture
def source_document_llamacpp(gemma_path: Path) -> Callable[..., Any]:
    """The source document's `LlamaCpp(...)` call on Gemma 3 270M, only the import changed:
    call it with the test's own options added (`callback_manager=...`, `max_tokens=...`)."""
    from langchain_localkit import LlamaCpp

    return functools.partial(
        LlamaCpp, model_path=str(gemma_path), n_gpu_layers=1, n_batch=512, n_ctx=2048, f16_kv=True
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the standard tests a suite class lists in its `xfails` table (see `_standard.py`)."""
    for item in items:
        table = getattr(getattr(item, "cls", None), "xfails", None)
        mark = table.get(getattr(item, "originalname", item.name)) if table else None
        if mark is not None:
            item.add_marker(mark)
