"""Knowing the model: what discovery and profiles cost, against the model load they avoid.

- `find_models` over 20 entries in four stores (Ollama, the Hugging Face cache, LM Studio,
  GPT4All) written with real GGUF files: the first call in a fresh process (headers read)
  and a repeated one (headers cached), and `localkit models --json` as a command.
- `ChatLlamaCpp` construction, which reads the profile from the GGUF header: in a fresh
  process, then again on the same file, beside loading the same model in llama-cpp-python.

Run alone: `python -m benchmarks.bench_models`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import ScenarioResult

_DISCOVERY = """
import json, sys, time
from langchain_localkit.discovery import find_models

def timed(call):
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start

home, rounds = sys.argv[1], int(sys.argv[2])
found, first = timed(lambda: find_models(home=home, environ={}))
repeat = [timed(lambda: find_models(home=home, environ={}))[1] for _ in range(rounds)]
print(json.dumps({"entries": len(found), "first": first, "repeat": repeat}))
"""

_PROFILE = """
import json, sys, time
from langchain_localkit import ChatLlamaCpp

def timed(call):
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start

path, rounds = sys.argv[1], int(sys.argv[2])
chat, first = timed(lambda: ChatLlamaCpp(model_path=path))
repeat = [timed(lambda: ChatLlamaCpp(model_path=path))[1] for _ in range(rounds)]
from llama_cpp import Llama
_, load = timed(lambda: Llama(model_path=path, n_ctx=512, verbose=False))
profile = chat.profile or {}
print(json.dumps({"first": first, "repeat": repeat, "load": load,
                  "max_input_tokens": profile.get("max_input_tokens")}))
"""


def _run(script: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", script, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def write_stores(home: Path, tiny: Path, smollm2: Path, gemma: Path) -> None:
    """20 models in four stores (hard links or copies of real GGUF files)."""
    from langchain_localkit.testing.stores import (
        write_gpt4all_folder,
        write_hf_cache,
        write_lmstudio_models,
        write_ollama_store,
    )

    write_ollama_store(home / ".ollama" / "models", {f"m{i}:latest": tiny for i in range(6)})
    hub = home / ".cache" / "huggingface" / "hub"
    for i in range(5):
        write_hf_cache(hub, f"org/repo{i}", {"smol.gguf": smollm2, "tiny.gguf": tiny})
    write_lmstudio_models(home / ".lmstudio" / "models", "p", "r", {"gemma.gguf": gemma})
    write_gpt4all_folder(home / ".cache" / "gpt4all", {f"g{i}.gguf": tiny for i in range(3)})


def discovery_scenario(
    tiny: Path, smollm2: Path, gemma: Path, *, rounds: int = 9
) -> ScenarioResult:
    """`find_models` first and repeated, and the `localkit models --json` command."""
    result = ScenarioResult(scenario="discovery: 20 models in four stores", unit="ms")
    with tempfile.TemporaryDirectory(prefix="bench-stores-") as folder:
        home = Path(folder)
        write_stores(home, tiny, smollm2, gemma)
        runs = _run(_DISCOVERY, str(home), str(rounds))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA", "HF_", "XDG"))}
        env |= {"HOME": str(home), "LOCALKIT_MODELS": ""}
        command = [sys.executable, "-m", "langchain_localkit.cli", "models", "--json"]
        wall = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            wall.append(time.perf_counter() - t)
    result.rows.append(
        {
            "entries_with_packaged": runs["entries"],
            "find_models_first_ms": runs["first"] * 1000,
            "find_models_repeat_ms": statistics.median(runs["repeat"]) * 1000,
            "localkit_models_command_ms": statistics.median(wall) * 1000,
        }
    )
    result.notes.append(
        "the command's time includes starting Python and importing the package; it lists the "
        "packaged models too"
    )
    return result


def profile_scenario(model_path: Path, *, rounds: int = 9) -> ScenarioResult:
    """`ChatLlamaCpp(model_path=...)` (profile from the header) beside loading the model."""
    runs = _run(_PROFILE, str(model_path), str(rounds))
    result = ScenarioResult(scenario=f"profile at construction, {model_path.name}", unit="ms")
    first, load = runs["first"] * 1000, runs["load"] * 1000
    result.rows.append(
        {
            "model": model_path.name,
            "construct_first_ms": first,
            "construct_cached_ms": statistics.median(runs["repeat"]) * 1000,
            "model_load_ms": load,
            "profile_share_of_load": first / load,
            "max_input_tokens": runs["max_input_tokens"],
        }
    )
    result.notes.append(
        "construct_first includes the package's first use of pydantic models in the process"
    )
    return result


def main() -> None:
    from benchmarks.__main__ import show
    from langchain_localkit.testing import gemma_model_path, make_tiny_gguf, smollm2_model_path

    with tempfile.TemporaryDirectory() as folder:
        tiny = make_tiny_gguf(Path(folder) / "tiny.gguf")
        show(discovery_scenario(tiny, smollm2_model_path(), gemma_model_path()))
    show(profile_scenario(smollm2_model_path()))


if __name__ == "__main__":
    main()
