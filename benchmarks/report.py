"""`python -m benchmarks.report`: the last `make bench` run as Markdown, for docs/performance.md.

Reads `benchmarks/results/latest.json` (or the file given) and prints the decode-rate table,
one line per other scenario, and the targets, so that the published figures are the measured
ones, not transcribed by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS


def _cell(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _fixed(value: float | None, spec: str) -> str:
    return spec.format(value) if value is not None else "-"


def markdown(payload: dict[str, Any]) -> str:
    """The Markdown of one saved run (`harness.save`'s JSON)."""
    lines = [
        "| scenario | contender | decode tok/s, median [min-max] | ratio | med/med | +TTFT ms "
        "| prompt tok/s | CPU us/tok |",
        "|---|---|---|---|---|---|---|---|",
    ]
    others: list[str] = []
    for scenario in payload["scenarios"]:
        name = scenario["scenario"]
        for row in scenario["rows"]:
            if "decode_tps" not in row:
                cells = ", ".join(f"{k} = {_cell(v)}" for k, v in row.items())
                others.append(f"- {name}: {cells}")
                continue
            d = row["decode_tps"]
            spread = f"{d['median']:.1f} [{d['min']:.1f}-{d['max']:.1f}]"
            ratio, of_medians = row["decode_ratio"], row.get("ratio_of_medians")
            cpu = row.get("cpu_us_per_token", {}).get("median")
            prompt = row.get("prompt_tps", {}).get("median")
            figures = [
                _fixed(ratio, "{:.3f}"),
                _fixed(of_medians, "{:.3f}"),
                _fixed(row["ttft_overhead_ms"], "{:+.2f}"),
                _fixed(prompt, "{:.0f}"),
                _fixed(cpu, "{:.1f}"),
            ]
            lines.append(f"| {name} | {row['contender']} | {spread} | {' | '.join(figures)} |")
        others.extend(f"- {name}: note: {note}" for note in scenario.get("notes", []))
    targets = [
        f"- [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['measured']}"
        for t in payload.get("targets", [])
    ]
    machine = payload.get("machine", {})
    head = (
        f"{machine.get('cores')} cores, {machine.get('platform')}, Python {machine.get('python')}, "
        f"{payload.get('time')}, {payload.get('wall_s', 0) / 60:.1f} min"
        + (f"\n\nCPU: {machine['cpu']}" if machine.get("cpu") else "")
    )
    return "\n".join([head, "", *lines, "", *others, "", "Targets:", "", *targets]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report")
    parser.add_argument("path", nargs="?", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args()
    print(markdown(json.loads(args.path.read_text())), end="")


if __name__ == "__main__":
    main()
