"""Fixtures: real llama-server processes on free loopback ports (see `_servers.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests.llamafile import _servers
from tests.models import installed


@pytest.fixture(scope="session", autouse=True)
def _stop_llama_servers() -> Iterator[None]:
    yield
    _servers.stop_all()


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
    """llama-server on SmolLM2-135M-Instruct (a real instruct model with its own template)."""
    return installed(lambda: _servers.server("smollm2"), "SmolLM2-135M-Instruct")


@pytest.fixture(scope="session")
def embedding_server() -> LlamaServer:
    """llama-server in embedding mode (`--embeddings --pooling mean`) on the tiny GGUF."""
    return _servers.server("embeddings")
