"""`python -m benchmarks` (or `make bench`): every scenario, as tables, JSON and a plot.

Each face is measured against its runtime's raw call in the same process, interleaved round by
round after a warm-up (median, min and max of the rounds); the community classes run beside
them when the `compat` extra is installed. Nothing here fails on noise: the targets are
checked and reported, not asserted.
"""

from __future__ import annotations

import argparse
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import (
    bench_cache,
    bench_contexts,
    bench_cpu,
    bench_gpt4all,
    bench_llamacpp,
    bench_llamafile,
    bench_lookup,
    bench_models,
    bench_more,
    bench_scaleout,
)
from benchmarks.harness import RESULTS, ScenarioResult, machine, print_table, save


def print_rows(result: ScenarioResult) -> None:
    """A scenario whose rows are not decode rates: its rows as aligned key = value lines."""
    print(f"\n== {result.scenario} ==")
    for row in result.rows:
        cells = [f"{k} = {v:.3f}" if isinstance(v, float) else f"{k} = {v}" for k, v in row.items()]
        print("  " + ", ".join(cells))
    for note in result.notes:
        print(f"  note: {note}")


def show(result: ScenarioResult) -> None:
    if result.rows and "decode_tps" in result.rows[0]:
        print_table(result)
    else:
        print_rows(result)


def targets(results: list[ScenarioResult]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the targets of docs/performance.md."""
    out: list[tuple[str, str, bool]] = []
    for r in results:
        if r.scenario.endswith("(failed)"):
            out.append((f"{r.scenario.removesuffix(' (failed)')} runs", "; ".join(r.notes), False))
        for row in r.rows:
            name = str(row.get("contender", ""))
            if "draft_tokens" in row:
                ratio = row["decode_ratio"]
                out.append(
                    (
                        f"prompt lookup >= 1.3x raw with the same text ({r.scenario})",
                        f"{ratio:.2f}x, same text: {row['same_text_as_raw']}, "
                        f"{row['draft_accepted']} of {row['draft_tokens']} guesses kept",
                        ratio >= 1.3 and bool(row["same_text_as_raw"]),
                    )
                )
                continue
            if r.scenario.startswith("prompt lookup"):
                # Its other rows replay 3 whole recipes (prompt evaluation included, 3 rounds):
                # the faces' own targets are taken in their scenarios above.
                continue
            if "decode_ratio" in row and name.startswith("localkit"):
                ratio = row["decode_ratio"]
                out.append((f"{name} >= 0.98 of raw ({r.scenario})", f"{ratio:.3f}", ratio >= 0.98))
                over = row["ttft_overhead_ms"]
                if "Chat" not in name:  # a chat face sends a longer (templated) prompt
                    out.append((f"{name} TTFT overhead < 5 ms", f"{over:+.2f} ms", over < 5))
            if "throughput_ratio" in row and name.startswith("localkit"):
                ratio = row["throughput_ratio"]
                out.append(
                    (
                        f"{name} >= 0.98 of raw throughput ({row['requests']} chats, "
                        f"{row['slots']} slots)",
                        f"{ratio:.3f}",
                        ratio >= 0.98,
                    )
                )
            if "second_wrapper_ms" in row:
                ratio = row["ratio"]
                out.append(("second load < 1 % of first", f"{ratio * 100:.3f} %", ratio < 0.01))
            if "turn2_prompt_tokens_evaluated" in row:
                new = row["turn2_prompt_tokens_total"] - row["turn1_prompt_tokens"]
                evaluated = row["turn2_prompt_tokens_evaluated"]
                out.append(
                    (
                        "turn-2 prompt eval counts only new tokens",
                        f"{evaluated} evaluated of {row['turn2_prompt_tokens_total']}",
                        evaluated <= new,
                    )
                )
            if "spare_ms" in row:
                out.append(
                    (
                        f"spare context cheaper than a second Llama ({row['model']})",
                        f"{row['spare_ms']:.0f} ms, {row['spare_mb']:.0f} MB vs "
                        f"{row['second_llama_ms']:.0f} ms, {row['second_llama_mb']:.0f} MB",
                        row["time_ratio"] < 1 and row["memory_ratio"] < 1,
                    )
                )
            if "warm_ttft_ms" in row:
                ratio = row["raw_over_warm"]
                out.append(
                    (
                        f"warm prompt cache TTFT 5x faster than raw, new process ({row['model']})",
                        f"{row['warm_ttft_ms']:.0f} ms vs {row['raw_ttft_ms']:.0f} ms",
                        ratio >= 5 and row["same_reply"],
                    )
                )
            if "probe_ms_median" in row:
                ms = row["probe_ms_median"]
                out.append(("extra-buffer-type probe (once) < 5 s", f"{ms:.0f} ms", ms < 5000))
                us = row["decision_without_probe_us"]
                out.append(("decision without a probe < 1 ms", f"{us:.0f} us", us < 1000))
            if "find_models_first_ms" in row:
                ms = row["find_models_first_ms"]
                out.append(("find_models, 20 models, first call < 1 s", f"{ms:.0f} ms", ms < 1000))
            if "profile_share_of_load" in row:
                share = row["profile_share_of_load"]
                out.append(
                    (
                        f"profile at construction < a model load ({row['model']})",
                        f"{row['construct_first_ms']:.1f} ms vs {row['model_load_ms']:.0f} ms",
                        share < 1,
                    )
                )
            if row.get("module") == "langchain_localkit":
                ms = row["median_ms"]
                out.append(("import langchain_localkit < 150 ms", f"{ms:.1f} ms", ms < 150))
    return out


_COLORS = {"raw": "#888888", "ours": "#2a7ab0", "other": "#d98c1f"}


def plot(results: list[ScenarioResult], path: Path) -> Path | None:
    """Tokens per second per contender, one panel per decode scenario (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (the bench extra has it)")
        return None
    panels = [r for r in results if r.rows and "decode_tps" in r.rows[0]]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(9, 1.1 + 0.55 * sum(len(p.rows) for p in panels))
    )
    axes_list: list[Any] = list(axes) if len(panels) > 1 else [axes]
    for ax, r in zip(axes_list, panels, strict=True):
        names = [row["contender"] for row in r.rows]
        medians = [row["decode_tps"]["median"] for row in r.rows]
        lows = [m - row["decode_tps"]["min"] for m, row in zip(medians, r.rows, strict=True)]
        highs = [row["decode_tps"]["max"] - m for m, row in zip(medians, r.rows, strict=True)]
        colors = [
            "#888888" if n.startswith("raw") else "#2a7ab0" if "localkit" in n else "#d98c1f"
            for n in names
        ]
        ax.barh(names, medians, xerr=[lows, highs], color=colors)
        ax.invert_yaxis()
        ax.set_title(r.scenario, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("decode tokens/s (median, min-max)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--rounds", type=int, default=9, help="measured rounds (in process)")
    parser.add_argument(
        "--shared-cpu-rounds",
        type=int,
        default=15,
        help="rounds where two processes or threads share the cores (llama-server and its "
        "client, gpt4all's decoding thread): their figures vary more, so they get more rounds",
    )
    parser.add_argument("--tokens", type=int, default=128, help="tokens per generation")
    parser.add_argument("--model", type=Path, default=None, help="GGUF (default: Gemma 3 270M)")
    args = parser.parse_args()
    started = time.perf_counter()

    from langchain_localkit.testing import gemma_model_path, make_tiny_gguf, smollm2_model_path
    from langchain_localkit.testing.minilm import minilm_gguf_path

    gemma = args.model or gemma_model_path()
    tiny = make_tiny_gguf(RESULTS / "tiny-llama.gguf")
    info = machine()
    print(f"machine: {info['cores']} cores, {info['platform']}, Python {info['python']}")

    results: list[ScenarioResult] = []

    def add(result: ScenarioResult) -> None:
        show(result)
        results.append(result)

    def attempt(name: str, run: Callable[[], ScenarioResult | list[ScenarioResult]]) -> None:
        """Run a scenario (or several); a failure is reported and saved, and the run goes on."""
        try:
            got = run()
        except Exception as e:  # a broken scenario must not lose the others
            traceback.print_exc()
            failed = ScenarioResult(scenario=f"{name} (failed)", unit="-")
            failed.notes.append(f"failed: {type(e).__name__}: {e}")
            add(failed)
            return
        for result in got if isinstance(got, list) else [got]:
            add(result)

    for path, tokens in ((gemma, args.tokens), (tiny, args.tokens * 2)):
        attempt(
            f"LlamaCpp.stream, {path.name}",
            lambda path=path, tokens=tokens: bench_llamacpp.stream_scenario(
                path, tokens=tokens, rounds=args.rounds
            ),
        )
    attempt(
        "ChatLlamaCpp.stream",
        lambda: bench_llamacpp.chat_stream_scenario(gemma, tokens=args.tokens, rounds=args.rounds),
    )
    attempt("load once", lambda: bench_llamacpp.load_once_scenario(gemma))
    attempt(
        "spare context",
        lambda: bench_contexts.spare_context_scenario(
            {"gemma": gemma, "smollm2": smollm2_model_path()}
        ),
    )
    attempt("extra-buffer-type probe", bench_cpu.probe_scenario)
    attempt(
        "repacking off vs on",
        lambda: bench_cpu.repack_scenario(gemma, tokens=args.tokens, rounds=args.rounds),
    )
    attempt("multi-turn prefix reuse", lambda: bench_more.prefix_reuse_scenario(gemma))
    attempt(
        "prompt cache on disk",
        lambda: bench_cache.cache_scenario(
            {"smollm2": smollm2_model_path(), "gemma": gemma}, rounds=3
        ),
    )
    attempt(
        "prompt lookup",
        lambda: bench_lookup.lookup_scenarios(
            [smollm2_model_path(), gemma], minilm_gguf_path(), rounds=3
        ),
    )
    shared = max(args.shared_cpu_rounds, args.rounds)
    attempt(
        "llama-server faces",
        lambda: bench_llamafile.run(gemma, tiny, tokens=args.tokens, rounds=shared),
    )
    attempt("gpt4all", lambda: bench_gpt4all.run(tokens=args.tokens, rounds=shared))
    attempt("8 concurrent requests", lambda: bench_more.concurrency_scenario(gemma))
    attempt("scale-out", lambda: bench_scaleout.run(gemma))
    attempt("embeddings", lambda: bench_more.embeddings_scenario(minilm_gguf_path()))
    attempt("import", bench_more.import_scenario)
    attempt(
        "model discovery",
        lambda: bench_models.discovery_scenario(
            tiny, smollm2_model_path(), gemma, rounds=args.rounds
        ),
    )
    attempt(
        "model profile",
        lambda: bench_models.profile_scenario(smollm2_model_path(), rounds=args.rounds),
    )

    checks = targets(results)
    print("\n== targets ==")
    for name, measured, met in checks:
        print(f"  [{'met' if met else 'MISSED'}] {name}: {measured}")
    elapsed = time.perf_counter() - started
    path = save(
        results,
        {
            "targets": [{"target": n, "measured": m, "met": ok} for n, m, ok in checks],
            "wall_s": elapsed,
        },
    )
    picture = plot(results, RESULTS / "latest.png")
    print(f"\nsaved {path}" + (f" and {picture}" if picture else ""))
    print(f"make bench took {elapsed / 60:.1f} min")


if __name__ == "__main__":
    main()
