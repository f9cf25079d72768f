"""Time to first token of a new process's first call, with a long system prompt on disk or not.

Each call runs in a fresh child process (nothing in memory), after the model has loaded: the
figure is the call's own, from the call to its first token. Per round and model:

- `cold`: `ChatLlamaCpp(prompt_cache=<empty dir>)`: evaluates the whole prompt, then saves it;
- `warm`: the same in a new process on that directory: restores the saved state;
- `raw`: `llama_cpp.Llama.create_chat_completion(stream=True)`, the runtime's own call.

Run alone with `python -m benchmarks.bench_cache [--rounds N]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import ScenarioResult

QUESTION = "When did Apollo 11 land on the Moon?"

_CHILD = r"""
import json, sys, time
mode, model, root, system_file, question = sys.argv[1:6]
system = open(system_file, encoding="utf-8").read()
messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
t0 = time.perf_counter()
if mode == "raw":
    import llama_cpp
    llm = llama_cpp.Llama(model_path=model, n_ctx=2048, verbose=False)
    load_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    ttft, parts = None, []
    for chunk in llm.create_chat_completion(messages, stream=True, max_tokens=16, temperature=0):
        text = chunk["choices"][0]["delta"].get("content")
        if text:
            ttft = ttft or (time.perf_counter() - t0) * 1e3
            parts.append(text)
    out = {"load_ms": load_ms, "ttft_ms": ttft, "reply": "".join(parts), "cache_read": 0}
else:
    from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp
    chat = ChatLlamaCpp(
        model_path=model, n_ctx=2048, temperature=0, max_tokens=16, prompt_cache=root
    )
    chat.engine.llama
    load_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    ttft, parts, last = None, [], None
    for chunk in chat.stream([("system", system), ("human", question)]):
        if chunk.content:
            ttft = ttft or (time.perf_counter() - t0) * 1e3
            parts.append(chunk.content)
        if chunk.usage_metadata:
            last = chunk
    usage = last.usage_metadata
    out = {
        "load_ms": load_ms,
        "ttft_ms": ttft,
        "reply": "".join(parts),
        "input_tokens": usage["input_tokens"],
        "cache_read": usage.get("input_token_details", {}).get("cache_read", 0),
    }
print(json.dumps(out))
"""


def long_system_prompt(model: Path, tokens: int = 1500) -> str:
    """A system prompt of about `tokens` tokens of `model`: the test corpus's notes, cycled."""
    import llama_cpp

    from langchain_localkit.testing.corpus import DOCUMENTS

    vocab = llama_cpp.Llama(model_path=str(model), vocab_only=True, verbose=False)
    notes = [f"[{d.metadata['source']}] {d.page_content}" for d in DOCUMENTS]
    text = "You answer from these notes, in one sentence, and name the note you used."
    i = 0
    while len(vocab.tokenize(text.encode("utf-8"))) < tokens:
        text += "\n\n" + notes[i % len(notes)]
        i += 1
    return text


def _child(mode: str, model: Path, root: Path, system_file: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(model), str(root), str(system_file), QUESTION],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def cache_scenario(models: dict[str, Path], *, rounds: int = 3) -> ScenarioResult:
    """Cold vs warm prompt cache vs raw llama-cpp-python, TTFT of a new process's first call."""
    result = ScenarioResult(
        scenario="prompt cache on disk: TTFT of call 1 in a new process, ~1,500-token system "
        "prompt",
        unit="ms",
    )
    with tempfile.TemporaryDirectory(prefix="localkit-bench-cache-") as tmp:
        for name, model in models.items():
            system_file = Path(tmp) / f"{name}-system.txt"
            system_file.write_text(long_system_prompt(model), encoding="utf-8")
            runs: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": [], "raw": []}
            for r in range(rounds):
                root = Path(tmp) / f"{name}-cache-{r}"
                runs["cold"].append(_child("ours", model, root, system_file))
                runs["warm"].append(_child("ours", model, root, system_file))
                runs["raw"].append(_child("raw", model, root, system_file))
            med = {k: statistics.median(x["ttft_ms"] for x in v) for k, v in runs.items()}
            warm = runs["warm"][0]
            result.rows.append(
                {
                    "model": name,
                    "prompt_tokens": warm["input_tokens"],
                    "cache_read": warm["cache_read"],
                    "cold_ttft_ms": med["cold"],
                    "warm_ttft_ms": med["warm"],
                    "raw_ttft_ms": med["raw"],
                    "cold_over_warm": med["cold"] / med["warm"],
                    "raw_over_warm": med["raw"] / med["warm"],
                    "cold_over_raw": med["cold"] / med["raw"],
                    "same_reply": all(x["reply"] == runs["cold"][0]["reply"] for x in runs["warm"]),
                    "ttft_ms_all": {k: [round(x["ttft_ms"]) for x in v] for k, v in runs.items()},
                }
            )
    result.notes.append(
        f"medians of {rounds} rounds; each call in a fresh process after its model loaded; cold "
        "includes saving the state (ChatLlamaCpp, prompt_cache=dir)"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_cache")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from langchain_localkit.testing import gemma_model_path, smollm2_model_path

    models = {"smollm2": smollm2_model_path(), "gemma": gemma_model_path()}
    result = cache_scenario(models, rounds=args.rounds)
    print(f"== {result.scenario} ==")
    for row in result.rows:
        print(json.dumps(row))
    for note in result.notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
