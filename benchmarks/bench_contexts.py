"""What a spare context costs, against one `Llama` per wrapper (langchain-community's way).

A call that would wait on an unread stream runs on a spare context of the shared weights
(`LoadedModel.lease`). Community classes instead held one `llama_cpp.Llama` per wrapper, each
loading (and repacking) every weight. Each figure comes from a fresh child process, so earlier
scenarios' models do not blur the memory deltas.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import ScenarioResult

_CHILD = r"""
import json, sys, time

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0

from langchain_localkit import LlamaCpp
from langchain_localkit.engines.llamacpp import _llama_kwargs, _spare_context, import_llama_cpp
from langchain_localkit._core.gguf import read_gguf_info

path, n_ctx = sys.argv[1], int(sys.argv[2])
llm = LlamaCpp(model_path=path, n_ctx=n_ctx, max_tokens=8, temperature=0)
rss0 = rss_mb()
t0 = time.perf_counter()
llm.invoke("The capital of France is")
load_ms = (time.perf_counter() - t0) * 1e3
primary = llm.engine.llama
rss1 = rss_mb()

t0 = time.perf_counter()
spare = _spare_context(primary)
spare_ms = (time.perf_counter() - t0) * 1e3
spare.create_completion("The capital of France is", max_tokens=8, temperature=0)
rss2 = rss_mb()

llama_cpp = import_llama_cpp()
kwargs = _llama_kwargs(llm.engine.options, read_gguf_info(path))
t0 = time.perf_counter()
second = llama_cpp.Llama(model_path=path, verbose=False, **kwargs)
second_ms = (time.perf_counter() - t0) * 1e3
second.create_completion("The capital of France is", max_tokens=8, temperature=0)
rss3 = rss_mb()
print(json.dumps({
    "first_load_ms": load_ms, "first_load_mb": rss1 - rss0,
    "spare_ms": spare_ms, "spare_mb": rss2 - rss1,
    "second_llama_ms": second_ms, "second_llama_mb": rss3 - rss2,
}))
"""


def spare_context_scenario(models: dict[str, Path], n_ctx: int = 4096) -> ScenarioResult:
    """Time and resident memory of a spare context vs a second `Llama` on the same file."""
    out = ScenarioResult(
        scenario=f"spare context vs one Llama per wrapper (n_ctx={n_ctx})", unit="ms, MB"
    )
    for name, path in models.items():
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), str(n_ctx)],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        out.rows.append(
            {
                "model": name,
                **figures,
                "time_ratio": figures["spare_ms"] / figures["second_llama_ms"],
                "memory_ratio": figures["spare_mb"] / max(figures["second_llama_mb"], 1e-9),
            }
        )
    out.notes.append(
        "a spare exists only while a stream is left unread and another call comes; it is "
        "freed when the primary context is free again"
    )
    return out
