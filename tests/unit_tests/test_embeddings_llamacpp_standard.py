"""The langchain-tests standard unit suite for LlamaCppEmbeddings (construction only)."""

from typing import Any

from langchain_tests.unit_tests import EmbeddingsUnitTests

from langchain_localkit.embeddings.llamacpp import LlamaCppEmbeddings
from tests.models import tiny_path


class TestLlamaCppEmbeddingsUnit(EmbeddingsUnitTests):
    embeddings_class = LlamaCppEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model_path": str(tiny_path())}
