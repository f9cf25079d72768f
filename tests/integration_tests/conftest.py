"""Fixtures shared by the integration tests of several runtimes.

The llama-server processes (`llamafile/_servers.py`) are shared by the llamafile and the
OpenAI-compatible tests, started on first use and stopped at the end of the session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests.llamafile import _servers
from tests.models import installed


@pytest.fixture(scope="session", autouse=True)
def _stop_llama_servers() -> Iterator[None]:
    yield
    _servers.stop_all()


@pytest.fixture(scope="session")
def llamafile_url() -> str:
    """The base URL of a llama.cpp server (what a llamafile runs) on the tiny GGUF, loopback."""
    return _servers.url("tiny")


@pytest.fixture(scope="session")
def tiny_server() -> LlamaServer:
    """llama-server on the tiny generated GGUF (ChatML template; thousands of tokens/s)."""
    return _servers.server("tiny")


@pytest.fixture(scope="session")
def gemma_server() -> LlamaServer:
    """llama-server on Gemma 3 270M (a real base model, no chat template in its GGUF)."""
    return installed(lambda: _servers.server("gemma"), "Gemma 3 270M")


@pytest.fixture(scope="session")
def smollm2_server() -> LlamaServer:
    """llama-server --jinja on SmolLM2-135M-Instruct (a real instruct model with its own
    template, which has no tool format)."""
    return installed(lambda: _servers.server("smollm2"), "SmolLM2-135M-Instruct")


@pytest.fixture(scope="session")
def thinking_server() -> LlamaServer:
    """llama-server --jinja on the tiny GGUF with the Qwen3-like thinking template."""
    return _servers.server("thinking-qwen3")


@pytest.fixture(scope="session")
def thinking_r1_server() -> LlamaServer:
    """llama-server --jinja on the tiny GGUF with the DeepSeek-R1-like template (the prompt
    opens `<think>`)."""
    return _servers.server("thinking-r1")


@pytest.fixture(scope="session")
def embedding_server() -> LlamaServer:
    """llama-server in embedding mode (`--embeddings --pooling mean`) on the tiny GGUF."""
    return _servers.server("embeddings")


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
