"""LlamaCppEmbeddings on real llama.cpp: the standard suite and our own checks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from langchain_localkit import ContextOverflowError, LlamaCpp
from langchain_localkit.embeddings.llamacpp import LlamaCppEmbeddings
from tests.models import gemma_path, tiny_path


class TestLlamaCppEmbeddingsTiny(EmbeddingsIntegrationTests):
    embeddings_class = LlamaCppEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model_path": str(tiny_path())}


class TestLlamaCppEmbeddingsGemma(EmbeddingsIntegrationTests):
    embeddings_class = LlamaCppEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model_path": str(gemma_path()), "n_batch": 512}


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_are_unit_length_and_deterministic(tiny_gguf_path: Path) -> None:
    emb = LlamaCppEmbeddings(model_path=str(tiny_gguf_path))
    first = emb.embed_documents(["the moon", "the team won"])
    assert first == emb.embed_documents(["the moon", "the team won"])
    for v in first:
        assert math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-5)
    assert emb.embed_query("the moon") == pytest.approx(first[0], abs=1e-6)


def test_raw_vectors_when_not_normalised(tiny_gguf_path: Path) -> None:
    raw = LlamaCppEmbeddings(model_path=str(tiny_gguf_path), normalize=False)
    v = raw.embed_query("the moon")
    assert not math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-3)


def test_gemma_ranks_the_related_sentence_first(gemma_path: Path) -> None:
    emb = LlamaCppEmbeddings(model_path=str(gemma_path), n_batch=512)
    docs = emb.embed_documents(
        ["Paris is the capital of France.", "Photosynthesis happens in leaves."]
    )
    q = emb.embed_query("Which city is the capital of France?")
    assert _cos(q, docs[0]) > _cos(q, docs[1])


def test_embedding_model_is_cached_apart_from_generation(tiny_gguf_path: Path) -> None:
    emb = LlamaCppEmbeddings(model_path=str(tiny_gguf_path), n_ctx=512, n_batch=512)
    llm = LlamaCpp(model_path=str(tiny_gguf_path), n_ctx=512)
    assert emb.client is not llm.client
    assert (
        emb.client
        is LlamaCppEmbeddings(model_path=str(tiny_gguf_path), n_ctx=512, n_batch=512).client
    )


def test_too_long_text_without_truncation_is_an_error(tiny_gguf_path: Path) -> None:
    emb = LlamaCppEmbeddings(model_path=str(tiny_gguf_path), n_batch=32, truncate=False)
    with pytest.raises(ContextOverflowError):
        emb.embed_query("the moon " * 50)


async def test_async_matches_sync(tiny_gguf_path: Path) -> None:
    emb = LlamaCppEmbeddings(model_path=str(tiny_gguf_path))
    assert await emb.aembed_documents(["a", "b"]) == emb.embed_documents(["a", "b"])
