"""docs/llamafile.md: every python block runs, in order, against real llama-server processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from langchain_localkit.testing.llama_server import LlamaServer
from tests.docs import python_blocks, run_page


def test_llamafile_page_has_examples() -> None:
    assert len(python_blocks("llamafile.md")) >= 10


def test_llamafile_page_runs(
    gemma_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[LlamaServer] = []
    start = LlamaServer.start

    def tracked(self: LlamaServer, **kwargs: Any) -> LlamaServer:
        started.append(self)
        return start(self, **kwargs)

    monkeypatch.setattr(LlamaServer, "start", tracked)
    try:
        namespace = run_page("llamafile.md")
        assert "chat" in namespace and "emb" in namespace
        out = capsys.readouterr().out
        assert "|" in out
        assert "No llamafile / llama.cpp server at" in out
    finally:
        for server in started:  # even when a block fails, no server outlives the test
            server.stop()
