"""`localkit models`: the table, its fit to the terminal, the broken entries, `--json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_localkit.cli import main
from langchain_localkit.cli._models import (
    COLUMNS,
    cut,
    format_table,
    human_context,
    human_size,
    row,
    write_models,
)
from langchain_localkit.discovery import LocalModel, find_models
from langchain_localkit.testing.stores import write_gpt4all_folder
from tests.unit_tests.cli.conftest import FakeHome


def model(name: str, source: str = "dirs", problem: str | None = None) -> LocalModel:
    return LocalModel(
        name=name,
        source=source,
        path=Path(f"/models/{name}"),
        size=4_920_000_000,
        architecture="qwen3",
        family="chatml",
        quantization="Q4_K_M",
        parameters="8B",
        context_length=40960,
        capabilities=("completion", "chat", "tools", "thinking"),
        problem=problem,
    )


def test_cells() -> None:
    assert row(model("qwen3:8b", "ollama")) == (
        "qwen3:8b",
        "ollama",
        "chatml",
        "Q4_K_M",
        "8B",
        "4.9 GB",
        "40k",
        "completion,chat,tools,thinking",
    )
    assert [human_size(n) for n in (0, 512, 896_000, 98_400_000, 4_920_000_000)] == [
        "-",
        "512 B",
        "896 KB",
        "98 MB",
        "4.9 GB",
    ]
    assert [human_context(n) for n in (None, 4096, 131072, 40960, 1000)] == [
        "-",
        "4k",
        "128k",
        "40k",
        "1000",
    ]
    assert cut("abcdef", 6) == "abcdef" and cut("abcdefg", 6) == "abcde…"


def test_columns_fit_their_content() -> None:
    lines = format_table([row(model("a")), row(model("bb"))])
    assert lines[0].split() == list(COLUMNS)
    assert lines[0].index("SOURCE") == len("NAME  ")  # NAME is as wide as its header
    assert all(not line.endswith(" ") for line in lines)
    starts = {line.index("dirs") for line in lines[1:]}
    assert starts == {lines[0].index("SOURCE")}


def test_a_narrow_terminal_cuts_capabilities_then_names() -> None:
    long_name = "hf.co/bartowski/Qwen3-30B-A3B-Instruct-2507-GGUF:Q4_K_M"
    rows = [row(model(long_name, "ollama")), row(model("qwen3:8b", "ollama"))]
    wide = format_table(rows)
    assert long_name in wide[1] and len(wide[1]) > 120
    for width in (120, 100, 80):
        lines = format_table(rows, width=width)
        assert max(len(line) for line in lines) <= width, width
        assert "qwen3:8b" in lines[2]
    at_100 = format_table(rows, width=100)
    assert "…" in at_100[1] and at_100[1].startswith("hf.co/bartowski/Qwen3-30B")
    assert "completion,chat" in at_100[1]  # capabilities cut, not dropped


def test_broken_entries_are_counted_or_listed() -> None:
    import io

    models = [model("good"), model("bad", "ollama", "its model blob is missing")]
    out = io.StringIO()
    write_models(models, out)
    text = out.getvalue()
    assert "good" in text and "\nbad" not in text
    assert text.endswith("\n1 entry could not be read: `localkit models --all` shows why\n")
    out = io.StringIO()
    write_models(models, out, show_all=True)
    assert out.getvalue().endswith(
        "1 entry could not be read:\n  bad (ollama)  its model blob is missing\n"
    )


def test_localkit_models_lists_the_stores(
    fake_home: FakeHome, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == list(COLUMNS)
    names = [line.split()[0] for line in lines[1:] if line and not line[0].isdigit()]
    assert names[:3] == ["qwen3:4b", "tiny:latest", "Qwen/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf"]
    qwen3 = next(line for line in lines if line.startswith("qwen3:4b"))
    assert qwen3.split()[1:] == [
        "ollama",
        "chatml",
        "Q4_K_M",
        "4B",
        "672",
        "B",
        "40k",
        "completion,chat,tools,thinking",
    ]
    assert lines[-1] == "2 entries could not be read: `localkit models --all` shows why"


def test_all_shows_why(fake_home: FakeHome, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--all"]) == 0
    out = capsys.readouterr().out
    assert "2 entries could not be read:\n" in out
    assert "llama3.1:8b (ollama)" in out and "ollama pull llama3.1:8b" in out
    assert "Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q4_K_M.gguf (huggingface)" in out
    assert "dangling symlink" in out


def test_json_is_every_entry(fake_home: FakeHome, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert entries == [m.to_dict() for m in find_models()]
    broken = {e["name"]: e["problem"] for e in entries if e["problem"]}
    assert set(broken) == {"llama3.1:8b", "Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q4_K_M.gguf"}
    tiny = next(e for e in entries if e["name"] == "tiny:latest")
    assert tiny["model_string"].startswith("llamacpp:") and tiny["capabilities"] == [
        "completion",
        "chat",
    ]


def test_source_and_dir(
    fake_home: FakeHome, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_gpt4all_folder(tmp_path / "mine", {"my-tiny.gguf": fake_home.tiny})
    assert main(["models", "--source", "dirs", "--dir", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [["my-tiny.gguf", "dirs"]]
    assert main(["models", "--source", "ollama", "--source", "huggingface"]) == 0
    out = capsys.readouterr().out
    assert "tiny:latest" in out and "Qwen/Qwen3-4B-GGUF" in out and "my-tiny" not in out


def test_nothing_found_says_where_it_looked(
    fake_home: FakeHome, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "--source", "gpt4all", "--source", "lmstudio"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("No models found. Looked in:\n")
    assert f"gpt4all      {fake_home.path / '.cache' / 'gpt4all'}  (missing)" in out
    assert f"lmstudio     {fake_home.path / '.lmstudio' / 'models'}" in out
    assert "ollama" not in out
    assert "localkit models --dir DIR" in out and "LOCALKIT_MODELS=" in out


def test_an_unknown_source_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["models", "--source", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err
