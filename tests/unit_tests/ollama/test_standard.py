"""The langchain-tests standard unit suites (construction only: no server is contacted)."""

from __future__ import annotations

from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from langchain_localkit.chat_models.ollama import ChatOllama
from langchain_localkit.embeddings.ollama import OllamaEmbeddings


class TestChatOllamaUnit(ChatModelUnitTests):
    chat_model_class = ChatOllama
    chat_model_params = {"model": "llama3.1:8b"}
    has_tool_choice = False


class TestOllamaEmbeddingsUnit(EmbeddingsUnitTests):
    embeddings_class = OllamaEmbeddings
    embedding_model_params = {"model": "nomic-embed-text"}
