"""The langchain-tests standard integration suite for OpenAICompatibleEmbeddings, on a real
llama-server in embedding mode (`--embeddings --pooling mean`, the tiny GGUF)."""

from __future__ import annotations

from typing import Any

from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from langchain_localkit.embeddings.openai_compat import OpenAICompatibleEmbeddings
from tests.integration_tests.llamafile import _servers


class TestOpenAICompatibleEmbeddings(EmbeddingsIntegrationTests):
    embeddings_class = OpenAICompatibleEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"base_url": _servers.url("embeddings") + "/v1"}
