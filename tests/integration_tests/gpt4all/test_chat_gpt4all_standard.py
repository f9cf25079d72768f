"""The langchain-tests standard integration suite for ChatGPT4All, on the real bindings.

Runs on the tiny generated llama model (gpt4all 2.8.2 cannot load Gemma 3). Tool calling and
structured output are best effort in these bindings (no grammar) and need language ability the
tiny model does not have: those tests are xfailed with that reason. Set
LOCALKIT_GPT4ALL_TEST_MODEL to a gpt4all-loadable instruct GGUF (llama, qwen2, phi3, gemma2)
to run them for real.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_localkit.chat_models.gpt4all import ChatGPT4All
from tests.models import tiny_path

pytest.importorskip("gpt4all")

NO_LANGUAGE = "needs language ability; the tiny model has random weights (and no grammar here)"


class _Base(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatGPT4All]:
        return ChatGPT4All

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True


class TestChatGPT4AllTiny(_Base):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": str(tiny_path()), "max_tokens": 16, "temp": 0.0, "max_retries": 0}

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
    def test_tool_calling_with_no_arguments(self, model: BaseChatModel) -> None:
        super().test_tool_calling_with_no_arguments(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_tool_choice(self, model: BaseChatModel) -> None:
        super().test_tool_choice(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_structured_few_shot_examples(self, model: BaseChatModel) -> None:
        super().test_structured_few_shot_examples(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_agent_loop(self, model: BaseChatModel) -> None:
        super().test_agent_loop(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_unicode_tool_call_integration(self, model: BaseChatModel) -> None:
        super().test_unicode_tool_call_integration(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    def test_structured_output(self, model: BaseChatModel, schema_type: str) -> None:
        super().test_structured_output(model, schema_type)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    async def test_structured_output_async(self, model: BaseChatModel, schema_type: str) -> None:
        await super().test_structured_output_async(model, schema_type)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_structured_output_pydantic_2_v1(self, model: BaseChatModel) -> None:
        super().test_structured_output_pydantic_2_v1(model)

    @pytest.mark.xfail(reason=NO_LANGUAGE)
    def test_structured_output_optional_param(self, model: BaseChatModel) -> None:
        super().test_structured_output_optional_param(model)


@pytest.mark.skipif(
    not os.environ.get("LOCALKIT_GPT4ALL_TEST_MODEL"),
    reason="set LOCALKIT_GPT4ALL_TEST_MODEL to a gpt4all-loadable instruct GGUF",
)
class TestChatGPT4AllBigger(_Base):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": os.environ["LOCALKIT_GPT4ALL_TEST_MODEL"], "max_tokens": 256}
