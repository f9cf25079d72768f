"""The langchain-tests standard unit suite for ChatGPT4All (construction only: no model loads)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_localkit.chat_models.gpt4all import ChatGPT4All
from tests.models import tiny_path
from tests.standard import LocalChatFeatures

pytest.importorskip("gpt4all")


class TestChatGPT4AllUnit(LocalChatFeatures, ChatModelUnitTests):
    chat_model_class = ChatGPT4All

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": str(tiny_path())}
