from pathlib import Path

import pytest

from tests.docs import python_blocks, run_page


def test_llamacpp_page_has_examples() -> None:
    assert len(python_blocks("llamacpp.md")) >= 8


def test_llamacpp_page_runs(gemma_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = run_page("llamacpp.md")
    assert "llm" in namespace
    assert "|" in capsys.readouterr().out
