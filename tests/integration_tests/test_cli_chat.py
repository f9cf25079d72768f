"""`localkit chat`: one turn, or a conversation read one line per turn, on real models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def localkit(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "langchain_localkit.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.smollm2
def test_one_turn_on_the_default_instruct_model(smollm2_path: Path) -> None:
    out = localkit("chat", "-n", "24", "What is the capital of France? Answer in one sentence.")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"# {smollm2_path.name} via llama.cpp"
    assert lines[1] == "> What is the capital of France? Answer in one sentence."
    assert "Paris" in lines[2]
    assert lines[-1].startswith("[stop;") and "tokens/s" in lines[-1]
    assert out.stderr == ""


@pytest.mark.smollm2
def test_a_conversation_on_stdin_keeps_the_history() -> None:
    out = localkit(
        "chat", "-q", "-n", "32", "-s", "Answer in a few words.",
        stdin="My name is Ada.\n\n/reset\nWhat is two plus two?\n/exit\nnever read\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    replies = [line for line in out.stdout.splitlines() if line.strip()]
    assert len(replies) == 2  # one per turn: the blank line is skipped, /exit ends it
    assert "[" not in out.stdout  # -q: no timing lines


def test_any_gguf_with_a_template(tiny_gguf_path: Path) -> None:
    out = localkit("chat", "-m", str(tiny_gguf_path), "-n", "6", "the moon")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[2].split()  # words of the tiny model's vocabulary


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    out = localkit("chat", "-m", str(tmp_path / "nope.gguf"), "hi")
    assert out.returncode == 2
    assert out.stderr.startswith("localkit: error:") and "nope.gguf" in out.stderr
