import pytest

from tests.docs import python_blocks, run_page


def test_testing_page_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(python_blocks("testing.md")) == 5
    run_page("testing.md")
    out = capsys.readouterr().out
    assert "Paris. | The capital of France...\nQwen/Qwen3-4B\n" in out
