"""The langchain-tests standard unit suite for ChatLlamaCpp (construction only: no model loads)."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp
from tests.models import tiny_path
from tests.standard import LocalChatFeatures


class TestChatLlamaCppUnit(LocalChatFeatures, ChatModelUnitTests):
    chat_model_class = ChatLlamaCpp

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model_path": str(tiny_path())}
