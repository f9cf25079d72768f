"""The langchain-tests standard unit suites (construction only: no server is contacted)."""

from __future__ import annotations

from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from langchain_localkit.chat_models.llamafile import ChatLlamafile
from langchain_localkit.embeddings.llamafile import LlamafileEmbeddings
from tests.standard import LocalChatFeatures

NO_SERVER = {"base_url": "http://127.0.0.1:8080"}


class TestChatLlamafileUnit(LocalChatFeatures, ChatModelUnitTests):
    chat_model_class = ChatLlamafile
    chat_model_params = NO_SERVER


class TestLlamafileEmbeddingsUnit(EmbeddingsUnitTests):
    embeddings_class = LlamafileEmbeddings
    embedding_model_params = NO_SERVER
