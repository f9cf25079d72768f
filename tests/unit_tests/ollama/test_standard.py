"""The langchain-tests standard unit suites (construction only: no server is contacted)."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from langchain_localkit.chat_models.ollama import ChatOllama
from langchain_localkit.embeddings.ollama import OllamaEmbeddings


class TestChatOllamaUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatOllama]:
        return ChatOllama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "llama3.1:8b"}

    @property
    def has_tool_choice(self) -> bool:
        return False


class TestOllamaEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[OllamaEmbeddings]:
        return OllamaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "nomic-embed-text"}
