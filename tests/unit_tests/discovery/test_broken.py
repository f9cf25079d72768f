"""Broken and partial entries are listed with a clear problem; discovery never raises or writes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import langchain_localkit.discovery as discovery
from langchain_localkit._core.errors import ModelFileError
from langchain_localkit.discovery import LocalModel, find_model, find_models
from langchain_localkit.testing.stores import (
    write_header_gguf,
    write_hf_cache,
    write_hf_dangling_snapshot,
    write_lmstudio_models,
    write_not_gguf,
    write_ollama_invalid_manifest,
    write_ollama_manifest,
    write_ollama_missing_blob,
    write_ollama_store,
    write_ollama_truncated_blob,
    write_truncated_gguf,
)
from tests.unit_tests.discovery.conftest import Sources, snapshot

STORES = {"ollama", "lmstudio", "huggingface", "gpt4all", "dirs"}


def problems(found: list[LocalModel]) -> dict[str, str | None]:
    return {m.name: m.problem for m in found}


@pytest.fixture
def broken_home(home: Path, src: Sources) -> Path:
    """A home whose stores hold one good model each and every kind of broken entry."""
    ollama = write_ollama_store(home / ".ollama" / "models", {"good:latest": src.tiny})
    write_ollama_missing_blob(ollama, "gone:7b")
    write_ollama_invalid_manifest(ollama, "garbled")
    write_ollama_truncated_blob(ollama, "cut-short", src.thinking)
    write_ollama_truncated_blob(ollama, "cut-quietly", src.thinking, keep=0.6, size_matches=True)
    write_ollama_manifest(ollama, "no-layers", [])
    write_ollama_manifest(
        ollama, "gpt-oss:120b-cloud", [], config={"remote_host": "https://ollama.com:443"}
    )
    write_ollama_manifest(
        ollama,
        "bad-digest",
        [{"mediaType": "application/vnd.ollama.image.model", "digest": "md5:1", "size": 1}],
    )
    (ollama / "manifests" / "registry.ollama.ai" / "library" / "folder" / "1" / "x").mkdir(
        parents=True
    )  # a folder where a manifest should be: skipped, as Ollama does
    # a folder where Ollama's blob should be
    digest = "sha256:" + "ab" * 32
    write_ollama_manifest(
        ollama, "blob-dir", [{"mediaType": "application/vnd.ollama.image.model", "digest": digest}]
    )
    (ollama / "blobs" / ("sha256-" + "ab" * 32)).mkdir()
    hub = home / ".cache" / "huggingface" / "hub"
    write_hf_cache(hub, "org/fine", {"fine.gguf": src.tiny})
    write_hf_dangling_snapshot(hub, "org/interrupted", "model-Q4_K_M.gguf")
    lms = home / ".lmstudio" / "models"
    write_lmstudio_models(lms, "pub", "repo", {"ok.gguf": src.tiny})
    write_not_gguf(lms / "pub" / "repo" / "error-page.gguf")
    mine = home / "mine"
    write_truncated_gguf(mine / "half.gguf", src.tiny)
    (mine / "folder.gguf").mkdir()
    os.symlink(mine / "loop-b.gguf", mine / "loop-a.gguf")
    os.symlink(mine / "loop-a.gguf", mine / "loop-b.gguf")
    (mine / "empty.gguf").write_bytes(b"")
    write_header_gguf(mine / "lora-F16.gguf", general_type="adapter", name="A LoRA")
    return home


def test_broken_entries_are_listed_with_their_problem(broken_home: Path) -> None:
    home = broken_home
    found = problems(find_models([home / "mine"], home=home, environ={}, sources=STORES))
    assert found.pop("good:latest") is None
    assert found.pop("org/fine/fine.gguf") is None
    assert found.pop("pub/repo/ok.gguf") is None
    expected = {
        "gone:7b": ["blob", "is missing", "ollama pull gone:7b"],
        "garbled:latest": ["not valid JSON", "ollama pull garbled:latest"],
        "cut-short:latest": ["bytes but the manifest says", "incomplete or damaged"],
        "cut-quietly:latest": ["is truncated"],
        "no-layers:latest": ["has no model layer"],
        "gpt-oss:120b-cloud": ["a cloud model", "ollama.com"],
        "bad-digest:latest": ["invalid digest"],
        "blob-dir:latest": ["is a directory"],
        "org/interrupted/model-Q4_K_M.gguf": ["dangling symlink", "is missing"],
        "pub/repo/error-page.gguf": ["not a GGUF model file"],
        "half.gguf": ["is truncated"],
        "folder.gguf": ["is a directory"],
        "loop-a.gguf": ["symlink that cannot be followed"],
        "loop-b.gguf": ["symlink that cannot be followed"],
        "empty.gguf": ["not a GGUF model file", "0 bytes"],
        "lora-F16.gguf": ["a LoRA adapter", "lora_path", "not a model"],
    }
    assert set(found) == set(expected)
    for name, words in expected.items():
        problem = found[name]
        assert problem is not None, name
        for word in words:
            assert word in problem, (name, problem)


def test_broken_entries_carry_what_is_known(broken_home: Path) -> None:
    found = {m.name: m for m in find_models(home=broken_home, environ={}, sources={"ollama"})}
    gone = found["gone:7b"]
    assert gone.path is None and gone.size == 0 and gone.model_string == ""
    assert gone.capabilities == () and not gone.usable
    cut = found["cut-short:latest"]
    assert cut.path is not None and cut.path.name.startswith("sha256-") and cut.size > 0
    json.dumps([m.to_dict() for m in found.values()])


def test_discovery_changes_nothing(broken_home: Path, src: Sources) -> None:
    write_hf_cache(
        broken_home / ".cache" / "huggingface" / "hub", "org/vision", {"m.gguf": src.qwen3}
    )
    before = snapshot(broken_home)
    sources_before = snapshot(src.tiny.parent)
    find_models([broken_home / "mine"], home=broken_home, environ={})
    find_model("good", home=broken_home, environ={})
    for name in ("gone:7b", "half.gguf", "nothing-like-it"):
        with pytest.raises(ModelFileError, match=re.escape(name)):
            find_model(name, [broken_home / "mine"], home=broken_home, environ={})
    assert snapshot(broken_home) == before
    assert snapshot(src.tiny.parent) == sources_before


def test_unreadable_file_is_a_problem_not_an_error(
    home: Path, src: Sources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tests run as root here, so a chmod cannot forbid reading: the reader is told to fail
    mine = home / "mine"
    mine.mkdir()
    os.link(src.tiny, mine / "secret.gguf")
    os.link(src.thinking, mine / "open.gguf")
    read = discovery.read_gguf_info

    def refuse(path: str | os.PathLike[str], **kwargs: bool) -> object:
        if Path(path).name == "secret.gguf":
            raise PermissionError(13, "Permission denied", str(path))
        return read(path, **kwargs)

    monkeypatch.setattr(discovery, "read_gguf_info", refuse)
    found = problems(find_models([mine], home=home, environ={}, sources={"dirs"}))
    assert found["open.gguf"] is None
    assert "Permission denied" in str(found["secret.gguf"])


def test_missing_roots_are_skipped(tmp_path: Path) -> None:
    env = {
        "OLLAMA_MODELS": str(tmp_path / "no-ollama"),
        "HF_HUB_CACHE": str(tmp_path / "no-hub"),
        "LOCALKIT_MODELS": str(tmp_path / "no-dir"),
    }
    assert find_models([tmp_path / "nope"], home=tmp_path / "no-home", environ=env) == [
        m for m in find_models(home=tmp_path / "no-home", environ={}, sources={"localkit"})
    ]


def test_a_header_nobody_foresaw_is_a_problem(
    home: Path, src: Sources, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = home / "mine"
    mine.mkdir()
    os.link(src.tiny, mine / "odd.gguf")

    def fail(info: object) -> object:
        raise KeyError("general.weird")

    monkeypatch.setattr(discovery, "gguf_capabilities", fail)
    (model,) = find_models([mine], home=home, environ={}, sources={"dirs"})
    assert model.problem is not None and "KeyError" in model.problem and not model.usable
