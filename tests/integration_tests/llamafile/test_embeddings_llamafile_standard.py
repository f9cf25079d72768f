"""The langchain-tests standard integration suite for LlamafileEmbeddings, on a real server."""

from __future__ import annotations

from typing import Any

from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from langchain_localkit.embeddings.llamafile import LlamafileEmbeddings
from tests.integration_tests.llamafile import _servers


class TestLlamafileEmbeddings(EmbeddingsIntegrationTests):
    embeddings_class = LlamafileEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"base_url": _servers.url("embeddings")}
