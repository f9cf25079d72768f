"""`localkit` as a person uses it: typed into a real terminal (tmux), read off the screen.

The shell runs in a home whose Ollama, Hugging Face and LM Studio stores hold real models
(`tests.cli_home`): the tiny generated model, SmolLM2-135M-Instruct, a thinking tiny model, a
header-only Qwen3 4B, and two broken entries.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.cli_home import Home
from tests.integration_tests.cli._tmux import CHAT_PROMPT, SHELL, Terminal

pytestmark = pytest.mark.smollm2


def test_models_lists_the_stores_and_counts_the_broken(terminal: Terminal) -> None:
    out, rc = terminal.run("localkit models")
    assert rc == 0, out
    lines = out.rstrip("\n").splitlines()
    assert lines[0].split() == [
        "NAME", "SOURCE", "FAMILY", "QUANT", "PARAMS", "SIZE", "CONTEXT", "CAPABILITIES",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:-2]}
    assert list(rows) == [
        "smollm2:135m",
        "tiny:latest",
        "lmstudio-community/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf",
        "localkit-tests/tiny-thinking/tiny-thinking-r1.gguf",
        "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q4_1.gguf",
        "smollm2-135m-instruct",
    ]
    assert rows["smollm2:135m"] == [
        "ollama", "chatml", "Q4_1", "135M", "98", "MB", "8k", "completion,chat",
    ]  # fmt: skip
    assert rows["lmstudio-community/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf"][-1] == (
        "completion,chat,tools,thinking"
    )
    assert lines[-1] == "2 entries could not be read: `localkit models --all` shows why"
    assert max(len(line) for line in lines) <= terminal.width

    out, rc = terminal.run("localkit models --all")
    assert "llama3.1:8b (ollama)" in out and "is missing" in out
    assert "Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q4_K_M.gguf (huggingface)" in out


def test_info_shows_capabilities_and_profile(terminal: Terminal) -> None:
    out, rc = terminal.run("localkit info smollm2:135m")
    assert rc == 0, out
    assert "model: smollm2:135m (ollama)\n" in out
    assert "architecture: llama\n" in out and "quantization: Q4_1\n" in out
    assert "capabilities: completion, chat\n" in out
    assert "profile:\n" in out and "  max_input_tokens: 4096\n" in out
    out, rc = terminal.run("localkit info Qwen3-4B-Q4_K_M.gguf")
    assert "capabilities: completion, chat, tools, thinking\n" in out
    assert "  reasoning_output: True\n" in out
    out, rc = terminal.run("localkit info qwen3:8b")
    assert rc == 2 and out.startswith("localkit: error: No local model is called 'qwen3:8b'")
    assert "Traceback" not in out


def test_a_conversation(terminal: Terminal, cli_home: Home) -> None:
    terminal.type("localkit chat smollm2:135m -n 48")
    terminal.wait_for("loading smollm2:135m … done (")
    terminal.wait_for_last(CHAT_PROMPT)
    terminal.type("/system Answer in one short sentence.")
    terminal.wait_for("system message set")
    terminal.type("What is the capital of France?")
    timing = re.compile(r"^\[stop; .* tokens/s; first token after \d+ ms\]$", re.M)
    shown = terminal.wait_for(timing)
    answer = shown.split("> What is the capital of France?\n", 1)[1].split("\n", 1)[0]
    assert "Paris" in answer

    terminal.wait_for_last(CHAT_PROMPT)
    terminal.type("/save chat.json")
    terminal.wait_for(f"saved 3 messages to {cli_home.home / 'chat.json'}")
    saved = json.loads((cli_home.home / "chat.json").read_text())
    assert saved["model"] == "smollm2:135m"
    assert [(m["role"], m["content"]) for m in saved["messages"]] == [
        ("system", "Answer in one short sentence."),
        ("user", "What is the capital of France?"),
        ("assistant", answer),
    ]
    assert saved["messages"][2]["timings"]["eval_tokens"] > 0

    # the up arrow brings back the last line (readline); Ctrl-C clears it and stays
    terminal.wait_for_last(CHAT_PROMPT)
    terminal.press("Up")
    terminal.wait_for(re.compile(r"^> /save chat\.json$", re.M), count=2)
    terminal.press("C-c")
    terminal.wait_for("(to leave, type /exit or press Ctrl-D)")
    terminal.type("/system")
    terminal.wait_for("system: Answer in one short sentence.")

    terminal.type("/reset")
    terminal.wait_for("conversation forgotten (the system message stays)")
    terminal.type("/save after.md")
    terminal.wait_for("saved 1 messages to")
    markdown = (cli_home.home / "after.md").read_text()
    assert "## System\n\nAnswer in one short sentence." in markdown and "## You" not in markdown

    terminal.type("/exit")
    terminal.wait_for_last(SHELL)
    assert terminal.run("true")[1] == 0


def test_ctrl_c_stops_a_long_answer(terminal: Terminal, cli_home: Home) -> None:
    terminal.type("localkit chat tiny -n 100000 --n-ctx 32768")
    terminal.wait_for_last(CHAT_PROMPT)
    streaming = r"^> {}\n\s*\S+ \S+ \S+"
    for turn, text in enumerate(["tell me a long story", "the moon"], start=1):
        terminal.type(text)
        terminal.wait_for(re.compile(streaming.format(re.escape(text)), re.M), timeout=10)
        terminal.press("C-c")
        terminal.wait_for(re.compile(r"^\[stopped\]$", re.M), count=turn)
        terminal.wait_for_last(CHAT_PROMPT)
    terminal.type("/save long.json")
    terminal.wait_for("saved 4 messages to")
    saved = json.loads((cli_home.home / "long.json").read_text())["messages"]
    assert [m["role"] for m in saved] == ["user", "assistant"] * 2
    assert all(m["stopped"] and len(m["content"].split()) >= 3 for m in saved[1::2])
    terminal.press("C-d")
    terminal.wait_for_last(SHELL)
    out, rc = terminal.run("echo still here")
    assert rc == 0 and out == "still here\n"
