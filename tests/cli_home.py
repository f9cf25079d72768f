"""A home directory with real model stores, for tests of `localkit` as a person runs it.

`write_home(root)` lays out what a user's machine may hold, written with
`langchain_localkit.testing.stores` from real GGUF files:

- Ollama (`$OLLAMA_MODELS`): `tiny:latest` (the tiny generated model), `smollm2:135m`
  (SmolLM2-135M-Instruct, a real instruct model), and `llama3.1:8b` whose blob is missing;
- the Hugging Face cache (`$HF_HOME/hub`): SmolLM2's GGUF repo, and a snapshot whose blob was
  never downloaded;
- LM Studio (`~/.lmstudio/models`): the tiny model with a thinking template (it thinks), and a
  header-only Qwen3 4B (Q4_K_M, 40k context, tools and thinking: listed and described, not
  loadable).

So `localkit models` lists six usable models (with the packaged SmolLM2) and counts two broken
entries. `environment(home)` is the environment that points every store at it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from langchain_localkit._core.paths import cache_dir
from langchain_localkit.testing.stores import (
    write_hf_cache,
    write_hf_dangling_snapshot,
    write_lmstudio_models,
    write_ollama_missing_blob,
    write_ollama_store,
)
from tests import models

SMOLLM2_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
THINKING_NAME = "localkit-tests/tiny-thinking/tiny-thinking-r1.gguf"
QWEN3_NAME = "lmstudio-community/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf"


@dataclass(frozen=True)
class Home:
    """The written home: its folders, and the names `localkit models` lists."""

    root: Path
    home: Path
    ollama: Path
    hf: Path
    tiny: Path
    smollm2: Path

    def environment(self) -> dict[str, str]:
        """The environment that points every store at this home (and keeps the package's
        real cache, so the CPU probe's verdict is reused instead of probed again)."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OLLAMA_", "HF_", "HUGGINGFACE_", "XDG_", "LOCALKIT_"))
        }
        venv_bin = str(Path(sys.executable).parent)
        env.update(
            HOME=str(self.home),
            OLLAMA_MODELS=str(self.ollama),
            HF_HOME=str(self.hf),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            LOCALKIT_CACHE_DIR=str(cache_dir()),
            PATH=venv_bin + os.pathsep + env.get("PATH", ""),
            LANG="C.UTF-8",
            LC_ALL="C.UTF-8",
        )
        return env


def write_home(root: Path) -> Home:
    """Write the stores (see the module docstring) under `root`."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    tiny, smollm2 = models.tiny_path(), models.installed(models.smollm2_path, "SmolLM2")
    ollama = write_ollama_store(root / "ollama", {"tiny:latest": tiny, "smollm2:135m": smollm2})
    write_ollama_missing_blob(ollama, "llama3.1:8b")
    hub = root / "hf" / "hub"
    write_hf_cache(hub, SMOLLM2_REPO, {"smollm2-135m-instruct-q4_1.gguf": smollm2})
    write_hf_dangling_snapshot(hub, "Qwen/Qwen3-8B-GGUF", "Qwen3-8B-Q4_K_M.gguf")
    qwen3 = models.write_qwen3_header(root / "src" / "Qwen3-4B-Q4_K_M.gguf")
    lmstudio = home / ".lmstudio" / "models"
    publisher, repo, file = THINKING_NAME.split("/")
    write_lmstudio_models(lmstudio, publisher, repo, {file: models.thinking_path("r1")})
    publisher, repo, file = QWEN3_NAME.split("/")
    write_lmstudio_models(lmstudio, publisher, repo, {file: qwen3})
    return Home(root=root, home=home, ollama=ollama, hf=root / "hf", tiny=tiny, smollm2=smollm2)
