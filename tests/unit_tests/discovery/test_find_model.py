"""`find_model`: the exact name first, then unambiguous shorter forms; clear errors otherwise."""

from __future__ import annotations

import doctest
import importlib
import os
from pathlib import Path

import pytest

from langchain_localkit._core.errors import (
    InvalidModelFileError,
    ModelIsDirectoryError,
    ModelNotFoundError,
)
from langchain_localkit.discovery import find_model
from langchain_localkit.testing.stores import (
    write_gpt4all_folder,
    write_hf_cache,
    write_lmstudio_models,
    write_not_gguf,
    write_ollama_missing_blob,
    write_ollama_store,
)
from tests.unit_tests.discovery.conftest import Sources

STORES = {"ollama", "lmstudio", "huggingface", "gpt4all", "dirs"}


@pytest.fixture
def stocked(home: Path, src: Sources) -> Path:
    ollama = write_ollama_store(
        home / ".ollama" / "models",
        {"qwen3:latest": src.qwen3, "qwen3:4b": src.qwen3, "llama3.1:8b": src.tiny},
    )
    write_ollama_missing_blob(ollama, "gone:7b")
    hub = home / ".cache" / "huggingface" / "hub"
    write_hf_cache(hub, "bartowski/Qwen3-4B-GGUF", {"Qwen3-4B-Q4_K_M.gguf": src.qwen3})
    write_hf_cache(
        hub, "org/Tiny-GGUF", {"tiny-Q8_0.gguf": src.tiny, "tiny-Q4_0.gguf": src.thinking}
    )
    write_lmstudio_models(home / ".lmstudio" / "models", "pub", "Think", {"think.gguf": src.tiny})
    write_gpt4all_folder(home / ".cache" / "gpt4all", {"think.gguf": src.thinking})
    write_not_gguf(home / "mine" / "broken.gguf")
    (home / "mine" / "dir.gguf").mkdir()
    return home


def find(home: Path, name: str) -> tuple[str, str]:
    model = find_model(name, [home / "mine"], home=home, environ={}, sources=STORES)
    return model.name, model.source


@pytest.mark.parametrize(
    ("asked", "name", "source"),
    [
        ("qwen3:4b", "qwen3:4b", "ollama"),
        ("qwen3", "qwen3:latest", "ollama"),  # without ":latest"
        ("LLAMA3.1:8B", "llama3.1:8b", "ollama"),  # any case
        ("library/qwen3", "qwen3:latest", "ollama"),  # as Ollama spells it in full
        ("registry.ollama.ai/library/llama3.1:8b", "llama3.1:8b", "ollama"),
        (
            "bartowski/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf",
            "bartowski/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf",
            "huggingface",
        ),
        ("qwen3-4b-q4_k_m.gguf", "bartowski/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf", "huggingface"),
        ("Qwen3-4B-Q4_K_M", "bartowski/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf", "huggingface"),
        ("bartowski/Qwen3-4B-GGUF", "bartowski/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf", "huggingface"),
        ("tiny-Q8_0", "org/Tiny-GGUF/tiny-Q8_0.gguf", "huggingface"),
        ("pub/think", "pub/Think/think.gguf", "lmstudio"),
    ],
)
def test_finds_by_name_and_forms(stocked: Path, asked: str, name: str, source: str) -> None:
    assert find(stocked, asked) == (name, source)


def test_finds_by_path(stocked: Path) -> None:
    model = find_model(str(stocked / ".cache" / "gpt4all" / "think.gguf"), home=stocked, environ={})
    assert (model.name, model.source) == ("think.gguf", "gpt4all")


def test_exact_name_beats_forms(stocked: Path, src: Sources) -> None:
    # "think.gguf" is GPT4All's exact name, and the file name of LM Studio's "pub/Think/think.gguf"
    assert find(stocked, "think.gguf") == ("think.gguf", "gpt4all")


def test_ambiguous_name_lists_the_candidates(stocked: Path) -> None:
    with pytest.raises(ModelNotFoundError) as e:
        find(stocked, "org/Tiny-GGUF")
    message = str(e.value)
    assert "several local models" in message
    assert "org/Tiny-GGUF/tiny-Q8_0.gguf" in message and "org/Tiny-GGUF/tiny-Q4_0.gguf" in message
    assert "localkit models" in message


def test_unknown_name_suggests_close_names(stocked: Path) -> None:
    with pytest.raises(ModelNotFoundError) as e:
        find(stocked, "qwen3:8b")
    message = str(e.value)
    assert "No local model is called 'qwen3:8b'" in message
    assert "qwen3:4b" in message and "qwen3:latest" in message
    assert "Run `localkit models`" in message
    assert isinstance(e.value, FileNotFoundError)


def test_nothing_found_at_all(home: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="No local models were found"):
        find_model("anything", home=home, environ={}, sources={"ollama"})


def test_broken_entry_by_name_raises_its_problem(stocked: Path) -> None:
    with pytest.raises(InvalidModelFileError, match="not a GGUF model file") as e:
        find(stocked, "broken")
    assert e.value.path == stocked / "mine" / "broken.gguf"
    with pytest.raises(ModelNotFoundError, match="ollama pull gone:7b"):
        find(stocked, "gone:7b")
    with pytest.raises(ModelIsDirectoryError, match="is a directory"):
        find(stocked, "dir.gguf")


def test_finds_the_model_of_a_symlinked_path(stocked: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.gguf"
    os.symlink(stocked / ".cache" / "gpt4all" / "think.gguf", link)
    assert find_model(str(link), home=stocked, environ={}).source == "gpt4all"


@pytest.mark.parametrize(
    "module",
    ["langchain_localkit.discovery", "langchain_localkit._ollama_store"],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
