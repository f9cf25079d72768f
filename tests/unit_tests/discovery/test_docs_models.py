"""docs/models.md: its examples run (on stores in a temporary home) and it covers the API."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.docs import DOCS, run_page


def test_models_page_runs() -> None:
    namespace = run_page("models.md")
    home = namespace["home"]
    assert isinstance(home, Path)
    try:
        assert namespace["smol"].name == "smollm2:135m"  # type: ignore[attr-defined]
    finally:
        shutil.rmtree(home)  # the page's temporary home (the model may be a copy, not a link)


def test_models_page_covers_the_api() -> None:
    text = (DOCS / "models.md").read_text(encoding="utf-8")
    for name in (
        "find_models(",
        "find_model(",
        "store_roots(",
        "from_ollama(",
        "from_local(",
        "model_string",
        "resolve_profile()",
        "aresolve_profile()",
        "localkit models",
        "localkit chat",
        "localkit info",
        "/system",
        "/reset",
        "/save",
        "LOCALKIT_MODELS",
        "OLLAMA_MODELS",
        "HF_HUB_CACHE",
    ):
        assert name in text, name
