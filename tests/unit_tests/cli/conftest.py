"""A home directory whose model stores `localkit` reads, in place of the user's.

- Ollama (`~/.ollama/models`): `tiny:latest` (the tiny model, loadable), `qwen3:4b` (a
  header-only Qwen3 4B: described, not loadable), `llama3.1:8b` (its blob is missing);
- the Hugging Face cache: `Qwen/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf` (header only) and a
  snapshot whose blob was never downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from langchain_localkit._core.paths import CACHE_ENV, cache_dir
from langchain_localkit.testing.stores import (
    write_hf_cache,
    write_hf_dangling_snapshot,
    write_ollama_missing_blob,
    write_ollama_store,
)
from tests import models

STORE_VARIABLES = (
    "OLLAMA_MODELS",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "LOCALKIT_MODELS",
)


@dataclass(frozen=True)
class FakeHome:
    path: Path
    ollama: Path
    hub: Path
    tiny: Path
    qwen3: Path


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHome:
    """The stores of the module docstring, with HOME and the store variables pointing there
    (the package's cache stays where it is, so the CPU probe is not run again)."""
    monkeypatch.setenv(CACHE_ENV, str(cache_dir()))
    home = tmp_path / "home"
    home.mkdir()
    for name in STORE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    qwen3 = models.write_qwen3_header(tmp_path / "src" / "Qwen3-4B-Q4_K_M.gguf")
    tiny = models.tiny_path()
    ollama = write_ollama_store(
        home / ".ollama" / "models", {"tiny:latest": tiny, "qwen3:4b": qwen3}
    )
    write_ollama_missing_blob(ollama, "llama3.1:8b")
    hub = home / ".cache" / "huggingface" / "hub"
    write_hf_cache(hub, "Qwen/Qwen3-4B-GGUF", {"Qwen3-4B-Q4_K_M.gguf": qwen3})
    write_hf_dangling_snapshot(hub, "Qwen/Qwen3-8B-GGUF", "Qwen3-8B-Q4_K_M.gguf")
    return FakeHome(home, ollama, hub, tiny, qwen3)
