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
