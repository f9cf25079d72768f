"""The layers of docs/architecture.md, checked on every import of every module (lazy ones too)."""

import ast
from pathlib import Path

import pytest

import langchain_localkit

ROOT = Path(langchain_localkit.__file__).parent

ALLOWED: dict[str, set[str]] = {
    "_core": {"_core"},
    "engines": {"_core", "engines"},
    "callbacks": {"_core", "callbacks"},
    "prompts": {"_core", "prompts"},
    "_faces": {"_core", "_faces", "_compat", "prompts", "callbacks"},
}
"""Layer -> the layers its modules may import (everything else in the package is above)."""

FACE_PACKAGES = {"llms", "chat_models", "embeddings"}

EXCEPTIONS = {"langchain_localkit.testing.tiny"}
"""The CPU probe (engines/llamacpp_probe.py) writes its probe model with the tiny-GGUF writer."""


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.startswith("langchain_localkit.")}


MODULES = sorted(p for p in ROOT.rglob("*.py") if "testing" not in p.relative_to(ROOT).parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    layer = path.relative_to(ROOT).parts[0].removesuffix(".py")
    imported = _imports(path)
    if layer in ALLOWED:
        wrong = {m for m in imported - EXCEPTIONS if _layer(m) not in ALLOWED[layer]}
        assert not wrong, f"{layer} must not import {sorted(wrong)}"
    if layer in FACE_PACKAGES:
        others = {m for m in imported if _layer(m) in FACE_PACKAGES - {layer}}
        assert not others, f"a face imports another face's module: {sorted(others)}"
