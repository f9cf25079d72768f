from pathlib import Path

import pytest

from langchain_localkit.cli import build_parser, main


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["run", "hello"])
    assert args.prompt == "hello" and args.model is None and args.max_tokens == 128


def test_info_prints_the_header(tiny_gguf_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(tiny_gguf_path)]) == 0
    out = capsys.readouterr().out
    assert "architecture: llama" in out
    assert "name: tiny-llama" in out
    assert "chat template: yes" in out


def test_bad_model_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_text("not a model, just text that is long enough to have a header")
    assert main(["run", "--model", str(bad), "hi"]) == 2
    err = capsys.readouterr().err
    assert "not a GGUF model file" in err and str(bad) in err


def test_missing_model_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--model", str(tmp_path / "x.gguf"), "hi"]) == 2
    assert "Model file not found" in capsys.readouterr().err
