"""gpt4all's bundled llama.cpp (July 2024) predates ggml's AMX path (October 2024): its
libraries hold no AMX instruction, so the Xeon AMX crash cannot happen there."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_localkit._core.cpu import amx_instructions


def test_gpt4all_libraries_have_no_amx_instructions() -> None:
    gpt4all = pytest.importorskip("gpt4all")
    libs = sorted((Path(gpt4all.__file__).parent / "llmodel_DO_NOT_MODIFY").rglob("*.so"))
    if not libs:
        pytest.skip("no gpt4all shared libraries found (not Linux?)")
    counts = {lib.name: amx_instructions(lib) for lib in libs}
    if None in counts.values():
        pytest.skip("objdump is not installed")
    assert any("llamamodel" in name for name in counts)  # the llama.cpp backends were looked at
    assert counts == dict.fromkeys(counts, 0)
