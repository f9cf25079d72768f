"""What the tiny random model cannot do in the standard chat suites, shared by its classes.

The tiny generated GGUF has random weights: it runs every mechanism (streaming, usage, stop,
async, batch, histories with tool messages, grammar-constrained JSON), but it cannot choose
what to say. `TinyModelXfails` marks the standard tests that need that, with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel

NO_LANGUAGE = "needs language ability; the tiny model has random weights"
FREE_TEXT = (
    "free-text string fields: random weights do not end a string within max_tokens (the "
    "grammar keeps every prefix valid but cannot make the model close it); the reply is then "
    "refused as truncated. Numbers, booleans, enums and maxLength strings are tested 20/20 in "
    "test_chat_llamacpp.py / test_chat_llamafile.py"
)
SCHEMA_TYPES = pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])


class TinyModelXfails:
    """A mixin to put before a `ChatModelIntegrationTests` subclass among a suite's bases: its
    overrides mark the tests and then run them as usual (`super()` is the standard test)."""

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
