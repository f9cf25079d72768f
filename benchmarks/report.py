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


def _short(scenario: str, contender: str) -> str:
    """A chart label: the contender without its package, the model, the workload."""
    model = next(
        (label for key, label in _MODELS if key in scenario.lower()), scenario.split(",")[0]
    )
    work = " RAG" if "RAG" in scenario else " summary" if "summary" in scenario else ""
    name = contender.removeprefix("localkit ").replace("(stream)", "").replace(".stream", "")
    return f"{name} · {model}{work}".replace('"', "'")


_MODELS = (("gemma", "Gemma"), ("smollm2", "SmolLM2"), ("tiny", "tiny"), ("minilm", "MiniLM"))


def _chart(title: str, axis: str, bars: list[tuple[str, float]]) -> list[str]:
    if not bars:
        return []
    labels = ", ".join(f'"{label}"' for label, _ in bars)
    values = ", ".join(f"{value:.2f}" for _, value in bars)
    top = max(value for _, value in bars) * 1.1
    return [
        "```mermaid",
        "xychart-beta horizontal",
        f'    title "{title}"',
        f"    x-axis [{labels}]",
        f'    y-axis "{axis}" 0 --> {top:.1f}',
        f"    bar [{values}]",
        "```",
        "",
    ]


def charts(payload: dict[str, Any]) -> str:
    """Two Mermaid bar charts of a saved run: every face against its raw runtime, and the
    recipes' workloads with and without prompt lookup."""
    faces: list[tuple[str, float]] = []
    lookup: list[tuple[str, float]] = []
    for scenario in payload["scenarios"]:
        name = scenario["scenario"]
        for row in scenario["rows"]:
            if "decode_tps" not in row:
                continue
            contender = row["contender"]
            if name.startswith("prompt lookup"):
                if contender.startswith("raw") or "prompt_lookup=0" not in contender:
                    lookup.append((_short(name, contender), row["decode_tps"]["median"]))
            elif not contender.startswith("raw") and row.get("decode_ratio") is not None:
                faces.append((_short(name, contender), row["decode_ratio"]))
    return "\n".join(
        _chart("Decode speed against the raw runtime (1.0 = raw)", "ratio", faces)
        + _chart("The recipes' calls, raw vs prompt lookup", "decode tokens/s", lookup)
    )


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
    return (
        "\n".join([head, "", charts(payload), *lines, "", *others, "", "Targets:", "", *targets])
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report")
    parser.add_argument("path", nargs="?", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args()
    print(markdown(json.loads(args.path.read_text())), end="")


if __name__ == "__main__":
    main()
