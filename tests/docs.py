"""Run the ```python blocks of a docs page, in order, in one namespace (so they cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(page: str) -> list[str]:
    """The ```python blocks of `docs/<page>`; a block whose first line is `# no-run` is skipped."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [b for b in _BLOCK.findall(text) if not b.lstrip().startswith("# no-run")]


def run_page(page: str) -> dict[str, object]:
    """Execute every block of a page in one shared namespace and return it."""
    namespace: dict[str, object] = {"__name__": f"docs_{page.replace('.', '_')}"}
    for i, block in enumerate(python_blocks(page)):
        code = compile(block, f"docs/{page} [block {i + 1}]", "exec", dont_inherit=True)
        exec(code, namespace)
    return namespace
