"""One harness: contenders measured in one process, interleaved round by round, medians.

A contender is a function that runs one generation and returns a `Sample` whose token counts
come from the runtime's own counters (never from counting chunks). Each round runs every
contender once, in a rotated order, after a warm-up round; the summary gives the median, min
and max of each figure, and each contender's ratio to the first (the raw runtime): the median
over rounds of the ratio within a round, so that the machine's drift between rounds cancels.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


@dataclass
class Sample:
    """One run of one contender."""

    decode_tokens: int  # tokens decoded after the first one, from the runtime's counters
    decode_s: float  # wall time from the first token to the last, as the consumer saw it
    ttft_s: float  # wall time from the call to the first token
    prompt_tokens: int = 0  # prompt tokens evaluated (runtime counter)
    prompt_ms: float = 0.0  # prompt evaluation time (runtime counter)
    cpu_s: float = 0.0  # CPU time of this process (all its threads) from the call to the end

    @property
    def cpu_us_per_token(self) -> float:
        """This process's CPU time per generated token: over HTTP, the client's cost alone."""
        return self.cpu_s / (self.decode_tokens + 1) * 1e6

    @property
    def decode_rate(self) -> float:
        return self.decode_tokens / self.decode_s if self.decode_s > 0 else 0.0

    @property
    def prompt_rate(self) -> float:
        return self.prompt_tokens / self.prompt_ms * 1000 if self.prompt_ms > 0 else 0.0


@dataclass
class Contender:
    name: str
    run: Callable[[], Sample]


@dataclass
class Stats:
    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        return cls(statistics.median(values), min(values), max(values))


@dataclass
class ScenarioResult:
    scenario: str
    unit: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run_interleaved(
    scenario: str, contenders: Sequence[Contender], *, rounds: int = 5, warmup: int = 1
) -> ScenarioResult:
    """Measure `contenders` interleaved; the first one is the baseline of the ratios."""
    samples: dict[str, list[Sample]] = {c.name: [] for c in contenders}
    for r in range(warmup + rounds):
        order = list(contenders[r % len(contenders) :]) + list(contenders[: r % len(contenders)])
        for c in order:
            s = c.run()
            if r >= warmup:
                samples[c.name].append(s)
    result = ScenarioResult(scenario=scenario, unit="tokens/s")
    base_samples = samples[contenders[0].name]
    base_median = statistics.median(s.decode_rate for s in base_samples)
    for c in contenders:
        ss = samples[c.name]
        rate = Stats.of([s.decode_rate for s in ss])
        ttft = Stats.of([s.ttft_s * 1000 for s in ss])
        prompt = Stats.of([s.prompt_rate for s in ss])
        cpu = Stats.of([s.cpu_us_per_token for s in ss])
        # paired: each round's contender against the raw call of the same round (run next to
        # it), so drift of the machine between rounds cancels out of the ratio
        pairs = list(zip(ss, base_samples, strict=True))
        ratios = [s.decode_rate / b.decode_rate for s, b in pairs if b.decode_rate]
        ttft_over = [(s.ttft_s - b.ttft_s) * 1000 for s, b in pairs]
        cpu_ratios = [
            s.cpu_us_per_token / b.cpu_us_per_token for s, b in pairs if b.cpu_us_per_token > 0
        ]
        result.rows.append(
            {
                "contender": c.name,
                "decode_tps": asdict(rate),
                "ttft_ms": asdict(ttft),
                "prompt_tps": asdict(prompt),
                "decode_ratio": statistics.median(ratios) if ratios else None,
                "ratio_of_medians": rate.median / base_median if base_median else None,
                "ttft_overhead_ms": statistics.median(ttft_over),
                "cpu_us_per_token": asdict(cpu),
                "cpu_ratio": statistics.median(cpu_ratios) if cpu_ratios else None,
                "decode_tokens": statistics.median(s.decode_tokens for s in ss),
            }
        )
    return result


def timed_stream(
    start_call: Callable[[], Any], counters: Callable[[], tuple[int, int, float]]
) -> Sample:
    """Consume an iterator, timing the first item and the end; counts come from `counters()`.

    `counters()` returns (decode tokens, prompt tokens, prompt ms) read from the runtime after
    the stream ends.
    """
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    first = None
    for _ in start_call():
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    cpu = time.process_time() - cpu0
    if first is None:
        first = end
    decode_tokens, prompt_tokens, prompt_ms = counters()
    return Sample(decode_tokens, end - first, first - t0, prompt_tokens, prompt_ms, cpu)


def print_table(result: ScenarioResult) -> None:
    print(f"\n== {result.scenario} ==")
    header = (
        f"{'contender':38s} {'decode tok/s (med [min-max])':>30s} {'ratio':>7s} {'med/med':>7s} "
        f"{'TTFT ms':>9s} {'+TTFT ms':>9s} {'prompt tok/s':>13s} {'CPU us/tok':>10s}"
    )
    print(header)
    print("-" * len(header))
    for row in result.rows:
        d, t, p = row["decode_tps"], row["ttft_ms"], row["prompt_tps"]
        ratio = f"{row['decode_ratio']:.3f}" if row["decode_ratio"] is not None else "-"
        of_medians = row.get("ratio_of_medians")
        plain = f"{of_medians:.3f}" if of_medians is not None else "-"
        print(
            f"{row['contender']:38s} {d['median']:9.1f} [{d['min']:7.1f}-{d['max']:7.1f}] "
            f"{ratio:>7s} {plain:>7s} {t['median']:9.2f} {row['ttft_overhead_ms']:+9.2f} "
            f"{p['median']:13.1f} {row['cpu_us_per_token']['median']:10.1f}"
        )
    print("  (ratio: median over rounds of each round's ratio to raw; med/med: median / median;")
    print("   CPU us/tok: this process's CPU time per token, over HTTP the client's cost alone)")
    for note in result.notes:
        print(f"  note: {note}")


def machine() -> dict[str, Any]:
    import os

    from langchain_localkit._core.cpu import read_host_cpu

    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor(),
        "cpu": read_host_cpu().describe(),
    }


def save(results: Sequence[ScenarioResult], extra: dict[str, Any] | None = None) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "latest.json"
    payload = {
        "machine": machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "scenarios": [asdict(r) for r in results],
        **(extra or {}),
    }
    path.write_text(json.dumps(payload, indent=2))
    return path
