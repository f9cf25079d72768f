"""The langchain-tests standard unit suites (construction only: no server is contacted)."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from langchain_localkit.chat_models.llamafile import ChatLlamafile
from langchain_localkit.embeddings.llamafile import LlamafileEmbeddings


class TestChatLlamafileUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatLlamafile]:
        return ChatLlamafile

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"base_url": "http://127.0.0.1:8080"}

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True


class TestLlamafileEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[LlamafileEmbeddings]:
        return LlamafileEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"base_url": "http://127.0.0.1:8080"}
