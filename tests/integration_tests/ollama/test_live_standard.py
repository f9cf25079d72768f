"""The langchain-tests standard integration suites against a live Ollama.

They run when Ollama answers at `OLLAMA_HOST` (default 127.0.0.1:11434) and
`OLLAMA_TEST_MODEL` names a pulled chat model (`OLLAMA_TEST_EMBED_MODEL` an embedding model);
otherwise they are skipped with that reason. Ollama cannot be installed on the CI machines, so
there the transcript-server tests (tests/unit_tests/ollama) stand in.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests

from langchain_localkit.chat_models.ollama import ChatOllama
from langchain_localkit.embeddings.ollama import OllamaEmbeddings
from tests.integration_tests.ollama import _live

pytestmark = pytest.mark.skipif(_live.skip_reason() is not None, reason=str(_live.skip_reason()))


class TestChatOllamaLive(ChatModelIntegrationTests):
    chat_model_class = ChatOllama
    has_tool_choice = False
    supports_json_mode = True

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": _live.MODEL or "", "base_url": _live.base_url(), "temperature": 0}


@pytest.mark.skipif(not _live.EMBED_MODEL, reason="OLLAMA_TEST_EMBED_MODEL is not set")
class TestOllamaEmbeddingsLive(EmbeddingsIntegrationTests):
    embeddings_class = OllamaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": _live.EMBED_MODEL or "", "base_url": _live.base_url()}
