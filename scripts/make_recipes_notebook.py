"""Write docs/recipes.ipynb from docs/recipes.md: its text as markdown cells, its python blocks
as code cells (a block starting with `# no-run` stays shown code, as on the page), so the page
and the notebook cannot drift apart (a test compares them).

Usage: `python scripts/make_recipes_notebook.py` (needs `nbformat`, from the test extra).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\n?", re.DOTALL | re.MULTILINE)


def build(page: str = "recipes.md") -> nbformat.NotebookNode:
    """The notebook of a docs page."""
    text = (DOCS / page).read_text(encoding="utf-8")
    cells = []
    position = 0
    for match in _BLOCK.finditer(text):
        prose = text[position : match.start()].strip()
        if prose:
            cells.append(nbformat.v4.new_markdown_cell(prose))
        language, code = match.group(1), match.group(2).rstrip()
        if language == "python" and not code.lstrip().startswith("# no-run"):
            cells.append(nbformat.v4.new_code_cell(code))
        else:
            cells.append(nbformat.v4.new_markdown_cell(match.group(0).strip()))
        position = match.end()
    rest = text[position:].strip()
    if rest:
        cells.append(nbformat.v4.new_markdown_cell(rest))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{i}"
    return notebook


def main() -> int:
    nbformat.write(build(), DOCS / "recipes.ipynb")
    print(f"wrote {DOCS / 'recipes.ipynb'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
