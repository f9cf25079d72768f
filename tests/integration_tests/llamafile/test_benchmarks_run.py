"""`make bench` reaches into the faces (the prompt a chat renders, the body a call sends) to
measure the raw runtime on the same work: one round of each such scenario on the tiny model, so
a refactor that moves those internals breaks a test and not only the benchmark."""

from pathlib import Path

import pytest

from langchain_localkit.testing.llama_server import LlamaServer
from tests.models import tiny_path


def _check(result: object) -> None:
    rows = getattr(result, "rows", [])
    names = [row["contender"] for row in rows]
    assert any(name.startswith("localkit") for name in names), names
    assert all(row["decode_tps"]["median"] >= 0 for row in rows), rows


@pytest.mark.parametrize("scenario", ["stream_scenario", "chat_stream_scenario"])
def test_in_process_scenarios_run(scenario: str) -> None:
    from benchmarks import bench_llamacpp

    _check(getattr(bench_llamacpp, scenario)(Path(tiny_path()), tokens=8, rounds=1))


@pytest.mark.parametrize("scenario", ["llm_stream_scenario", "chat_stream_scenario"])
def test_server_scenarios_run(scenario: str, tiny_server: LlamaServer) -> None:
    from benchmarks import bench_llamafile

    run = getattr(bench_llamafile, scenario)
    _check(run(tiny_server.base_url, "tiny-llama.gguf", tokens=8, rounds=1))


def test_scaleout_scenarios_run() -> None:
    """The scale-out bench: its own servers (2 slots, then 1), ours and raw on the same bodies."""
    from benchmarks import bench_scaleout

    first = bench_scaleout.concurrency_scenario(
        Path(tiny_path()), requests=(3,), slots=2, tokens=8, rounds=1
    )
    names = {row["contender"] for row in first.rows}
    assert names == {bench_scaleout.RAW, bench_scaleout.ABATCH, bench_scaleout.GATHER}
    assert all(row["tokens_per_s"] > 0 for row in first.rows), first.rows
    # greedy and seeded, byte-identical bodies: every contender gets the same completions
    assert len({row["completion_tokens"] for row in first.rows}) == 1, first.rows
    second = bench_scaleout.slots_scenario(
        Path(tiny_path()), slot_counts=(1, 2), requests=3, tokens=8, rounds=1, reuse=first
    )
    assert [(row["slots"], row["contender"]) for row in second.rows] == [
        (s, name) for s in (1, 2) for name in (bench_scaleout.RAW, bench_scaleout.ABATCH)
    ]
    assert all(row["speedup_vs_1_slot"] > 0 for row in second.rows), second.rows
