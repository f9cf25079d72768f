"""`python -m benchmarks` (or `make bench`): every scenario, printed as tables, saved as JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks import bench_gpt4all, bench_llamacpp, bench_llamafile
from benchmarks.harness import ScenarioResult, machine, print_table, save


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (>= 5)")
    parser.add_argument("--tokens", type=int, default=128, help="tokens per generation")
    parser.add_argument("--model", type=Path, default=None, help="GGUF (default: Gemma 3 270M)")
    args = parser.parse_args()

    from langchain_localkit.testing import gemma_model_path, make_tiny_gguf

    gemma = args.model or gemma_model_path()
    tiny = make_tiny_gguf(Path("benchmarks/results/tiny-llama.gguf"))
    info = machine()
    print(f"machine: {info['cores']} cores, {info['platform']}, Python {info['python']}")

    results: list[ScenarioResult] = []
    for path, tokens in ((gemma, args.tokens), (tiny, args.tokens * 2)):
        r = bench_llamacpp.stream_scenario(path, tokens=tokens, rounds=args.rounds)
        print_table(r)
        results.append(r)
    chat = bench_llamacpp.chat_stream_scenario(gemma, tokens=args.tokens, rounds=args.rounds)
    print_table(chat)
    results.append(chat)
    load = bench_llamacpp.load_once_scenario(gemma)
    row = load.rows[0]
    print(
        f"\n== {load.scenario} ==\nfirst load {row['first_load_ms']:.1f} ms, second wrapper "
        f"{row['second_wrapper_ms']:.3f} ms ({row['ratio'] * 100:.3f} % of the first)"
    )
    results.append(load)
    for r in bench_llamafile.run(gemma, tiny, tokens=args.tokens, rounds=args.rounds):
        print_table(r)
        results.append(r)
    for r in bench_gpt4all.run(tokens=args.tokens, rounds=args.rounds):
        print_table(r)
        results.append(r)
    print(f"\nsaved {save(results)}")


if __name__ == "__main__":
    main()
