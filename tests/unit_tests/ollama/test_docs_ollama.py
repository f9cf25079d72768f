"""docs/ollama.md: every python block runs, in order, against the transcript server."""

from __future__ import annotations

import pytest

from langchain_localkit.testing.ollama_server import OllamaTranscriptServer
from tests.docs import python_blocks, run_page


def test_ollama_page_has_examples() -> None:
    assert len(python_blocks("ollama.md")) >= 9


def test_ollama_page_runs(capsys: pytest.CaptureFixture[str]) -> None:
    namespace = run_page("ollama.md")
    server = namespace["server"]
    assert isinstance(server, OllamaTranscriptServer)
    out = capsys.readouterr()
    assert "Neil Armstrong, in July 1969." in out.out
    assert "One| small| step| for| man.|" in out.out
    assert "<s>[INST] Name three planets. [/INST]" in out.out
    assert "city='Tokyo'" in out.out
    assert "ollama pull mistral:7b" in out.out
    assert "unexpectedly stopped" in out.out
    assert "ollama serve" in out.out
    assert "pulling mistral:7b" in out.err
    assert "<bos><start_of_turn>user\nHi<end_of_turn>" in out.out
    assert "Gemma speaking.\nAny model, chat only.\n['gemma3:270m']\n" in out.out
    assert "503 Ollama at http://127.0.0.1:" in out.out and "server busy" in out.out
