"""docs/thinking.md: its runnable example works, and its matrix names every runtime's faces."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs import python_blocks, run_page

PAGE = (Path(__file__).parents[3] / "docs" / "thinking.md").read_text(encoding="utf-8")


def test_the_page_runs() -> None:
    pytest.importorskip("llama_cpp")
    assert len(python_blocks("thinking.md")) >= 1
    run_page("thinking.md")


@pytest.mark.parametrize(
    "face",
    [
        "ChatLlamaCpp",
        "LlamaCpp",
        "ChatGPT4All",
        "GPT4All",
        "ChatLlamafile",
        "Llamafile",
        "ChatOpenAICompatible",
        "OpenAICompatible",
        "ChatOllama",
        "OllamaLLM",
    ],
)
def test_the_matrix_names_every_face(face: str) -> None:
    matrix = PAGE[PAGE.index("## How each runtime does it") : PAGE.index("## Tool calls")]
    assert f"`{face}`" in matrix or f"`{face}(" in matrix
