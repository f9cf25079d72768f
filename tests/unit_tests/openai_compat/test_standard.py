"""The langchain-tests standard unit suites (construction only: no server is contacted)."""

from __future__ import annotations

from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from langchain_localkit.chat_models.openai_compat import ChatOpenAICompatible
from langchain_localkit.embeddings.openai_compat import OpenAICompatibleEmbeddings
from tests.standard import LocalChatFeatures

NO_SERVER = {"base_url": "http://127.0.0.1:8000/v1", "model": "qwen3-4b"}


class TestChatOpenAICompatibleUnit(LocalChatFeatures, ChatModelUnitTests):
    chat_model_class = ChatOpenAICompatible
    chat_model_params = NO_SERVER


class TestOpenAICompatibleEmbeddingsUnit(EmbeddingsUnitTests):
    embeddings_class = OpenAICompatibleEmbeddings
    embedding_model_params = NO_SERVER
