"""The langchain-tests standard integration suite for ChatLlamaCpp, on real llama.cpp.

Runs on the tiny generated model (the mechanics: invoke, stream, async, batch, usage, stop,
histories with tool messages) and on Gemma 3 270M (a real but small base model). Tests that
need more language ability than these models have are xfailed with that reason; set
LOCALKIT_CHAT_TEST_MODEL to the path of a bigger instruct GGUF to run the whole suite on it,
with no xfails.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp
from tests.models import chat_test_model, gemma_path, tiny_path

NO_LANGUAGE = "needs language ability; the tiny model has random weights"
FREE_TEXT = (
    "free-text string fields: random weights do not end a string within max_tokens (the "
    "grammar keeps every prefix valid but cannot make the model close it); the reply is then "
    "refused as truncated. Numbers, booleans, enums and maxLength strings are tested 20/20 in "
    "test_chat_llamacpp.py / test_chat_llamafile.py"
)
SCHEMA_TYPES = pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
SMALL_BASE = "needs instruction following beyond Gemma 3 270M, a small base model"


class _Base(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatLlamaCpp]:
        return ChatLlamaCpp

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True


class TestChatLlamaCppTiny(_Base):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model_path": str(tiny_path()), "max_tokens": 256, "n_ctx": 2048, "seed": 7}

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_tool_calling(self, model: BaseChatModel) -> None:
        super().test_tool_calling(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    async def test_tool_calling_async(self, model: BaseChatModel) -> None:
        await super().test_tool_calling_async(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_bind_runnables_as_tools(self, model: BaseChatModel) -> None:
        super().test_bind_runnables_as_tools(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_agent_loop(self, model: BaseChatModel) -> None:
        super().test_agent_loop(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_unicode_tool_call_integration(self, model: BaseChatModel) -> None:
        super().test_unicode_tool_call_integration(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)

    @pytest.mark.xfail(reason=FREE_TEXT)
    @SCHEMA_TYPES
    def test_structured_output(self, model: BaseChatModel, schema_type: Any) -> None:
        super().test_structured_output(model, schema_type)

    @pytest.mark.xfail(reason=FREE_TEXT)
    @SCHEMA_TYPES
    async def test_structured_output_async(self, model: BaseChatModel, schema_type: Any) -> None:
        await super().test_structured_output_async(model, schema_type)

    @pytest.mark.xfail(reason=FREE_TEXT)
    def test_structured_output_pydantic_2_v1(self, model: BaseChatModel) -> None:
        super().test_structured_output_pydantic_2_v1(model)

    @pytest.mark.xfail(reason=FREE_TEXT)
    def test_structured_output_optional_param(self, model: BaseChatModel) -> None:
        super().test_structured_output_optional_param(model)

    @pytest.mark.xfail(reason=FREE_TEXT)
    def test_tool_choice(self, model: BaseChatModel) -> None:
        super().test_tool_choice(model)


class TestChatLlamaCppGemma(_Base):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model_path": str(gemma_path()), "max_tokens": 128, "n_ctx": 4096, "seed": 7}

    @pytest.mark.xfail(reason=SMALL_BASE)
    def test_tool_calling(self, model: BaseChatModel) -> None:
        super().test_tool_calling(model)

    @pytest.mark.xfail(reason=SMALL_BASE)
    async def test_tool_calling_async(self, model: BaseChatModel) -> None:
        await super().test_tool_calling_async(model)

    @pytest.mark.xfail(reason=SMALL_BASE)
    def test_bind_runnables_as_tools(self, model: BaseChatModel) -> None:
        super().test_bind_runnables_as_tools(model)

    @pytest.mark.xfail(reason=SMALL_BASE)
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)

    @pytest.mark.xfail(reason=SMALL_BASE)
    def test_agent_loop(self, model: BaseChatModel) -> None:
        super().test_agent_loop(model)


@pytest.mark.skipif(chat_test_model() is None, reason="set LOCALKIT_CHAT_TEST_MODEL to a GGUF")
class TestChatLlamaCppBigger(_Base):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model_path": str(chat_test_model()), "max_tokens": 256, "n_ctx": 4096, "seed": 7}
