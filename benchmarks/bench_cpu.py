"""What the portable-CPU safeguards cost: the probe, the decision, and weight repacking off.

- The probe (a child process that decodes a tiny quantized model with llama.cpp's extra buffer
  types off and on) runs once per llama.cpp build and CPU, only on a CPU with AMX running an
  AMX build; the decision everywhere else is a system-info read.
- When the probe fails, models load with `use_extra_bufts=False`: no weight repacking. The
  repack scenario measures that fallback against the default on the same host and model, and
  our face against raw llama-cpp-python with the same setting on both sides.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_llamacpp import _counters, _fresh
from benchmarks.harness import Contender, Sample, ScenarioResult, run_interleaved, timed_stream

LONG_PROMPT = (
    "The lighthouse keeper kept a log of every ship that passed the point, the weather at dawn "
    "and at dusk, the state of the lamp and the oil that was left, and the names of the birds "
    "that rested on the gallery. "
) * 10
"""About 450 tokens: long enough that prompt evaluation, where repacking pays most, shows."""


def probe_scenario(rounds: int = 5) -> ScenarioResult:
    """The probe's one-time cost (a child process), and the decision's cost without it."""
    from langchain_localkit.engines import llamacpp_amx as amx
    from langchain_localkit.engines.llamacpp import import_llama_cpp

    llama_cpp = import_llama_cpp()
    amx.probe_model_path()  # written once, like the first probe on a machine would
    probe_ms = []
    for _ in range(rounds):
        result = amx.probe_extra_bufts()
        probe_ms.append(result.elapsed_ms)
    decide_us = []
    for _ in range(200):
        amx.forget_decision()
        t0 = time.perf_counter()
        decision = amx.decide_extra_bufts(llama_cpp=llama_cpp)
        decide_us.append((time.perf_counter() - t0) * 1e6)
    out = ScenarioResult(scenario="extra-buffer-type probe and decision", unit="ms")
    out.rows.append(
        {
            "probe_verdict": result.verdict,
            "probe_ms_median": statistics.median(probe_ms),
            "probe_ms_max": max(probe_ms),
            "decision_without_probe_us": statistics.median(decide_us),
            "decision": decision.reason,
        }
    )
    out.notes.append(
        "the probe runs only where the CPU and the llama.cpp build both have AMX, once per "
        "build and CPU (cached on disk); elsewhere the decision is the system-info read above"
    )
    return out


def repack_scenario(
    model_path: Path, *, tokens: int, rounds: int, n_ctx: int = 2048
) -> ScenarioResult:
    """Repacking off (the AMX fallback) vs on, raw; and LlamaCpp vs raw with it off on both."""
    from langchain_localkit import LlamaCpp

    ours = LlamaCpp(
        model_path=str(model_path),
        n_ctx=n_ctx,
        temperature=0,
        repeat_penalty=1.0,
        max_tokens=tokens,
        use_extra_bufts=False,
    )
    off = ours.client  # raw llama-cpp-python on the same loaded model: same settings
    on = LlamaCpp(model_path=str(model_path), n_ctx=n_ctx, use_extra_bufts=True).client

    def raw(llama: Any) -> Sample:
        _fresh(llama)
        return timed_stream(
            lambda: llama.create_completion(
                LONG_PROMPT, max_tokens=tokens, temperature=0, repeat_penalty=1.0, stream=True
            ),
            lambda: _counters(llama),
        )

    def localkit_off() -> Sample:
        _fresh(off)
        return timed_stream(lambda: ours.stream(LONG_PROMPT), lambda: _counters(off))

    result = run_interleaved(
        f"repacking off vs on, {model_path.name}, {tokens} tokens after a "
        f"{len(ours.get_token_ids(LONG_PROMPT))}-token prompt",
        [
            Contender("raw llama_cpp, repacking off", lambda: raw(off)),
            Contender("localkit LlamaCpp.stream, repacking off", localkit_off),
            Contender("raw llama_cpp, repacking on (default)", lambda: raw(on)),
        ],
        rounds=rounds,
    )
    rows = {row["contender"]: row for row in result.rows}
    off_row = rows["raw llama_cpp, repacking off"]
    on_row = rows["raw llama_cpp, repacking on (default)"]
    prompt_gain = on_row["prompt_tps"]["median"] / off_row["prompt_tps"]["median"]
    result.notes.append(
        f"repacking on / off: decode {on_row['decode_ratio']:.3f}, prompt eval {prompt_gain:.3f} "
        "(what the fallback costs on this host)"
    )
    return result
