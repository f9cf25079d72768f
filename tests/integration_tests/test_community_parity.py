"""What langchain-community's own tests check for these classes, on real models (our tests).

Community's tests for `LlamaCpp`, `ChatLlamaCpp`, `GPT4All`, `LlamaCppEmbeddings` and
`GPT4AllEmbeddings` (libs/community/tests) download GGML files or mock the runtime; here the
same behaviours run on the GGUFs this repository ships. Only the import differs from a
community user's code. The server faces' counterparts are in `llamafile/test_community_parity.py`.
"""

from __future__ import annotations

import inspect
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from pydantic import BaseModel, Field

from langchain_localkit.chat_models import ChatLlamaCpp
from langchain_localkit.embeddings import GPT4AllEmbeddings, LlamaCppEmbeddings
from langchain_localkit.llms import GPT4All, LlamaCpp


class CountTokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens = 0

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens += 1


def test_llamacpp_inference(gemma_path: Path) -> None:
    output = LlamaCpp(model_path=str(gemma_path)).invoke("Say foo:")
    assert isinstance(output, str) and len(output) > 1


def test_llamacpp_streaming_yields_strings_and_honours_stop(gemma_path: Path) -> None:
    llm = LlamaCpp(model_path=str(gemma_path), max_tokens=10, temperature=0)
    generator = llm.stream("Q: How do you say 'hello' in German? A:'", stop=["'"])
    assert inspect.isgenerator(generator)
    chunks = list(generator)
    assert chunks and all(isinstance(c, str) for c in chunks)
    assert "'" not in "".join(chunks)


def test_llamacpp_streaming_callback_with_verbose(gemma_path: Path, capsys: Any) -> None:
    handler = CountTokens()
    llm = LlamaCpp(model_path=str(gemma_path), callbacks=[handler], verbose=True, max_tokens=5)
    llm.invoke("Q: Can you count to 10? A:'1, ")
    assert 1 <= handler.tokens <= 5 + 1
    assert "eval time" in capsys.readouterr().err  # verbose=True: llama.cpp's timing report


def test_llamacpp_model_kwargs_reach_llama_cpp(smollm2_path: Path) -> None:
    llm = LlamaCpp(model_path=str(smollm2_path), model_kwargs={"offload_kqv": False})
    assert llm.model_kwargs == {"offload_kqv": False}
    assert llm.client.context_params.offload_kqv is False


def test_llamacpp_incorrect_field_warns_and_is_passed_on(smollm2_path: Path) -> None:
    with pytest.warns(UserWarning, match="offload_kqv"):
        llm = LlamaCpp(model_path=str(smollm2_path), offload_kqv=False, max_tokens=4)
    assert llm.model_kwargs == {"offload_kqv": False}
    assert llm.invoke("Hello")
    assert llm.client.context_params.offload_kqv is False


def test_llamacpp_name_llama_cpp_does_not_know_fails_at_load(smollm2_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        llm = LlamaCpp(model_path=str(smollm2_path), n_gqa=8)
    with pytest.raises(ValueError, match=r"Unknown llama_cpp\.Llama parameter.*n_gqa"):
        llm.invoke("Hello")


class Joke(BaseModel):
    """Joke to tell user."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


def test_chat_llamacpp_structured_output(smollm2_path: Path) -> None:
    # a 135M model: greedy decoding loops inside a free-text field without a repeat penalty
    llm = ChatLlamaCpp(model_path=str(smollm2_path), temperature=0, repeat_penalty=1.1)
    result = llm.with_structured_output(Joke).invoke("Tell me a short joke about cats.")
    assert isinstance(result, Joke)


def test_gpt4all_inference(tiny_gguf_path: Path) -> None:
    pytest.importorskip("gpt4all")
    output = GPT4All(model=str(tiny_gguf_path), max_tokens=8).invoke("Say foo:")
    assert isinstance(output, str) and output


def test_llamacpp_embedding_documents_and_query(smollm2_path: Path) -> None:
    embeddings = LlamaCppEmbeddings(model_path=str(smollm2_path))
    info = embeddings.engine.info()
    width = info.get(f"{info.architecture}.embedding_length")
    documents = embeddings.embed_documents(["foo bar"])
    assert len(documents) == 1 and len(documents[0]) == width
    assert len(embeddings.embed_query("foo bar")) == width
    assert len(embeddings.embed_documents(["a b c d e f g", "h"])) == 2  # one per text


def test_gpt4all_embeddings_community_call(tmp_path: Path) -> None:
    pytest.importorskip("gpt4all")
    from langchain_localkit.testing.minilm import minilm_gguf_path

    shutil.copy(minilm_gguf_path(), tmp_path / "all-MiniLM-L6-v2.gguf2.f16.gguf")
    embedding = GPT4AllEmbeddings(
        model_name="all-MiniLM-L6-v2.gguf2.f16.gguf",
        n_threads=4,
        device="cpu",
        gpt4all_kwargs={"allow_download": False, "model_path": str(tmp_path)},
    )
    assert embedding.model_name == "all-MiniLM-L6-v2.gguf2.f16.gguf"
    assert embedding.n_threads == 4 and embedding.device == "cpu"
    assert embedding.gpt4all_kwargs == {"allow_download": False, "model_path": str(tmp_path)}
    assert type(embedding.client).__name__ == "Embed4All"
    assert len(embedding.embed_query("hello")) == 384
    plain = GPT4AllEmbeddings(model=str(tmp_path / "all-MiniLM-L6-v2.gguf2.f16.gguf"))
    assert plain.gpt4all_kwargs == {}


def test_gpt4all_embeddings_missing_model_is_not_downloaded(tmp_path: Path) -> None:
    from langchain_localkit import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="allow_download"):
        GPT4AllEmbeddings(
            model_name="all-MiniLM-L6-v2.gguf2.f16.gguf",
            gpt4all_kwargs={"allow_download": False, "model_path": str(tmp_path)},
        )
