"""`from_ollama` / `from_local`: a face built on a discovered file, and loaded for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_localkit._core.errors import InvalidModelFileError, ModelNotFoundError
from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp
from langchain_localkit.embeddings.llamacpp import LlamaCppEmbeddings
from langchain_localkit.llms.llamacpp import LlamaCpp
from langchain_localkit.testing.stores import (
    file_sha256,
    write_gpt4all_folder,
    write_hf_cache,
    write_ollama_store,
    write_ollama_truncated_blob,
)
from langchain_localkit.testing.tiny import TINY_WORDS
from tests.unit_tests.discovery.conftest import Sources


@pytest.fixture
def ollama_home(home: Path, src: Sources) -> Path:
    store = write_ollama_store(
        home / ".ollama" / "models", {"tiny:latest": src.tiny, "embed:v1": src.bert}
    )
    write_ollama_truncated_blob(store, "cut:1b", src.thinking)
    return home


def test_from_ollama_loads_the_blob_and_answers(ollama_home: Path, src: Sources) -> None:
    chat = ChatLlamaCpp.from_ollama(
        "tiny", home=ollama_home, environ={}, n_ctx=512, max_tokens=8, temperature=0
    )
    blob = ollama_home / ".ollama" / "models" / "blobs" / f"sha256-{file_sha256(src.tiny)}"
    assert chat.model_path == str(blob.resolve())
    assert (chat.n_ctx, chat.max_tokens) == (512, 8)
    try:
        reply = chat.invoke("the moon")
    finally:
        chat.unload()
    words = str(reply.content).split()
    assert words and all(word in TINY_WORDS for word in words)


def test_from_ollama_reads_ollama_models_variable(home: Path, src: Sources) -> None:
    store = write_ollama_store(home / "elsewhere", {"tiny:q": src.tiny})
    llm = LlamaCpp.from_ollama("tiny:q", home=home, environ={"OLLAMA_MODELS": str(store)})
    assert Path(llm.model_path).parent == (store / "blobs").resolve()
    embeddings = LlamaCppEmbeddings.from_ollama(
        "tiny:q", home=home, environ={"OLLAMA_MODELS": str(store)}
    )
    assert embeddings.model_path == llm.model_path


def test_from_ollama_absent_model_says_pull(ollama_home: Path) -> None:
    with pytest.raises(ModelNotFoundError) as e:
        ChatLlamaCpp.from_ollama("llama3.1:8b", home=ollama_home, environ={})
    message = str(e.value)
    assert "ollama pull llama3.1:8b" in message
    assert "nothing is downloaded" in message


def test_from_ollama_broken_model_quotes_its_problem(ollama_home: Path) -> None:
    with pytest.raises(InvalidModelFileError, match="incomplete or damaged"):
        ChatLlamaCpp.from_ollama("cut:1b", home=ollama_home, environ={})


def test_from_ollama_looks_only_at_ollama(home: Path, src: Sources) -> None:
    write_gpt4all_folder(home / ".cache" / "gpt4all", {"tiny.gguf": src.tiny})
    with pytest.raises(ModelNotFoundError, match="ollama pull tiny"):
        ChatLlamaCpp.from_ollama("tiny", home=home, environ={})


def test_from_local_finds_any_store(home: Path, src: Sources, tmp_path: Path) -> None:
    repo = write_hf_cache(
        home / ".cache" / "huggingface" / "hub", "org/Tiny-GGUF", {"tiny-F32.gguf": src.tiny}
    )
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "think.gguf").hardlink_to(src.thinking)
    chat = ChatLlamaCpp.from_local("tiny-F32", home=home, environ={}, temperature=0.2)
    assert chat.model_path == str(repo / "blobs" / file_sha256(src.tiny))
    assert chat.temperature == 0.2
    llm = LlamaCpp.from_local("think", dirs=[tmp_path / "mine"], home=home, environ={})
    assert llm.model_path == str(tmp_path / "mine" / "think.gguf")
    with pytest.raises(ModelNotFoundError, match=r"Close names: org/Tiny-GGUF/tiny-F32\.gguf"):
        LlamaCpp.from_local("tiny-F3", home=home, environ={}, sources={"huggingface"})
