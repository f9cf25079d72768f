"""Real model files for the store layouts, and a fake home whose stores discovery reads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from langchain_localkit.testing.stores import write_header_gguf, write_mmproj_gguf
from tests import models


@dataclass(frozen=True)
class Sources:
    """The files stores are built from (written once per session)."""

    tiny: Path  # tiny llama, ChatML template, F32, 4096 context (loads in llama.cpp)
    thinking: Path  # the tiny model with a Qwen3-like thinking template
    qwen3: Path  # header only: qwen3, Q4_K_M, 4B, 40960 context, tools + thinking template
    bert: Path  # header only: an encoder (embedding model)
    mmproj: Path  # a vision projector


@pytest.fixture(scope="session")
def src(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    folder = tmp_path_factory.mktemp("discovery-sources")
    return Sources(
        tiny=models.tiny_path(),
        thinking=models.thinking_path("qwen3"),
        qwen3=models.write_qwen3_header(folder / "Qwen3-4B-Q4_K_M.gguf"),
        bert=write_header_gguf(
            folder / "minilm.gguf", architecture="bert", name="all-MiniLM-L6-v2", file_type=0
        ),
        mmproj=write_mmproj_gguf(folder / "mmproj-Qwen3-F16.gguf"),
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home directory."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under `root` (links not followed) -> (mode, size, mtime_ns)."""
    found: dict[str, tuple[int, int, int]] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in [*dirs, *files]:
            st = os.lstat(os.path.join(folder, name))
            found[os.path.join(folder, name)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    st = os.lstat(root)
    found[str(root)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found
