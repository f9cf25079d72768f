"""The benchmark harness's arithmetic and its Markdown report, on made-up samples."""

from __future__ import annotations

import itertools
from dataclasses import asdict

from benchmarks.harness import Contender, Sample, run_interleaved
from benchmarks.report import charts, markdown


def _runs(*samples: Sample) -> Contender:
    cycle = itertools.cycle(samples)
    return Contender("x", lambda: next(cycle))


def test_paired_ratios_cpu_per_token_and_report() -> None:
    raw = _runs(Sample(99, 1.0, 0.010, cpu_s=0.004), Sample(99, 2.0, 0.010, cpu_s=0.004))
    ours = _runs(Sample(99, 1.1, 0.012, cpu_s=0.005), Sample(99, 2.2, 0.012, cpu_s=0.005))
    raw.name, ours.name = "raw call", "localkit Face.stream"
    result = run_interleaved("scenario A", [raw, ours], rounds=4, warmup=0)
    base, face = result.rows
    # rounds alternate which contender goes first, so each raw round pairs with its neighbour
    assert base["decode_ratio"] == 1.0
    assert abs(face["decode_ratio"] - 1 / 1.1) < 1e-9
    assert abs(face["ttft_overhead_ms"] - 2.0) < 1e-9
    assert abs(base["cpu_us_per_token"]["median"] - 40.0) < 1e-9  # 4 ms over 100 tokens
    assert abs(face["cpu_ratio"] - 1.25) < 1e-9
    payload = {
        "machine": {"cores": 2, "platform": "test", "python": "3.11"},
        "time": "now",
        "wall_s": 60.0,
        "scenarios": [asdict(result)],
        "targets": [{"target": "face >= 0.98 of raw", "measured": "0.909", "met": False}],
    }
    text = markdown(payload)
    assert "| scenario A | localkit Face.stream | 67.5 [45.0-90.0] | 0.909 |" in text
    assert "| +2.00 | 0 | 50.0 |" in text  # +TTFT, prompt tok/s (none here), CPU us/tok
    assert "- [MISSED] face >= 0.98 of raw: 0.909" in text
    # the chart of every face against its raw call
    assert "xychart-beta horizontal" in text
    assert '"Face · scenario A"' in text and "bar [0.91]" in text


def test_the_prompt_lookup_chart_shows_raw_and_lookup_rates() -> None:
    rows = [
        {"contender": name, "decode_tps": {"median": tps}, "decode_ratio": tps / 30}
        for name, tps in (
            ("raw llama_cpp create_completion(stream)", 30.0),
            ("localkit LlamaCpp.stream, prompt_lookup=0", 30.3),
            ("localkit LlamaCpp.stream, prompt_lookup=4", 90.0),
        )
    ]
    scenario = {"scenario": "prompt lookup, RAG answers, gemma.gguf, 3 calls", "rows": rows}
    text = charts({"scenarios": [scenario]})
    assert text.count("```mermaid") == 1  # no face chart: prompt-lookup rows stay out of it
    assert '"raw llama_cpp create_completion · Gemma RAG"' in text
    assert '"LlamaCpp, prompt_lookup=4 · Gemma RAG"' in text
    assert "bar [30.00, 90.00]" in text


def test_a_failed_scenario_is_a_missed_target() -> None:
    from benchmarks.__main__ import targets
    from benchmarks.harness import ScenarioResult

    failed = ScenarioResult("scale-out (failed)", "-", notes=["failed: OSError: gone"])
    assert targets([failed]) == [("scale-out runs", "failed: OSError: gone", False)]
