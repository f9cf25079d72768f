"""The langchain-tests standard integration suite for ChatLlamafile, on a real llama-server.

Runs on the tiny generated model (the mechanics) and on Gemma 3 270M (a real but small base
model), as the ChatLlamaCpp suite does. Tests that need more language ability than a model has
are xfailed with that reason. Set
LOCALKIT_CHAT_TEST_MODEL to the path of a bigger instruct GGUF to run the whole suite on it,
with no xfails.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_localkit.chat_models.llamafile import ChatLlamafile
from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests._smollm2_xfails import SMALL_INSTRUCT, SmolLM2Xfails
from tests.integration_tests._tiny_xfails import SCHEMA_TYPES, TinyModelXfails
from tests.integration_tests.llamafile import _servers
from tests.models import chat_test_model

SMALL_BASE = "needs instruction following beyond Gemma 3 270M, a small base model"
LOOPS = (
    "Gemma 3 270M (a base model) loops inside a free-text field on about 5 % of seeds under "
    "llama-server's JSON-schema grammar (3 of 80 measured with repeat_penalty 1.1, repacking on "
    "and off), and which "
    "seeds loop depends on the host's CPU kernels, so no fixed seed passes on every host; "
    "test_chat_llamafile.py checks the rate over ten seeds instead"
)


class _Base(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatLlamafile]:
        return ChatLlamafile

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True


class TestChatLlamafileTiny(TinyModelXfails, _Base):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"base_url": _servers.url("tiny"), "max_tokens": 256, "seed": 7}


class TestChatLlamafileGemma(_Base):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        # as the in-process Gemma suite: a repeat penalty keeps a base model out of loops
        return {
            "base_url": _servers.url("gemma"),
            "max_tokens": 128,
            "seed": 7,
            "repeat_penalty": 1.1,
        }

    @pytest.mark.xfail(reason=SMALL_BASE)
    def test_tool_calling(self, model: BaseChatModel) -> None:
        super().test_tool_calling(model)

    @pytest.mark.xfail(reason=SMALL_BASE)
    async def test_tool_calling_async(self, model: BaseChatModel) -> None:
        await super().test_tool_calling_async(model)

    @pytest.mark.xfail(reason=SMALL_BASE + ": it does not copy the Japanese name into the call")
    def test_unicode_tool_call_integration(self, model: BaseChatModel) -> None:
        super().test_unicode_tool_call_integration(model)

    @pytest.mark.xfail(reason=SMALL_BASE)
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)

    @pytest.mark.xfail(reason=SMALL_BASE)
    def test_agent_loop(self, model: BaseChatModel) -> None:
        super().test_agent_loop(model)

    @pytest.mark.xfail(reason=LOOPS)
    @SCHEMA_TYPES
    def test_structured_output(self, model: BaseChatModel, schema_type: Any) -> None:
        super().test_structured_output(model, schema_type)

    @pytest.mark.xfail(reason=LOOPS)
    @SCHEMA_TYPES
    async def test_structured_output_async(self, model: BaseChatModel, schema_type: Any) -> None:
        await super().test_structured_output_async(model, schema_type)

    @pytest.mark.xfail(reason=LOOPS)
    def test_structured_output_pydantic_2_v1(self, model: BaseChatModel) -> None:
        super().test_structured_output_pydantic_2_v1(model)

    @pytest.mark.xfail(reason=LOOPS)
    def test_structured_output_optional_param(self, model: BaseChatModel) -> None:
        super().test_structured_output_optional_param(model)


_bigger: dict[str, LlamaServer] = {}


@pytest.mark.skipif(chat_test_model() is None, reason="set LOCALKIT_CHAT_TEST_MODEL to a GGUF")
class TestChatLlamafileBigger(_Base):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        if "server" not in _bigger:
            path = chat_test_model()
            assert path is not None
            _bigger["server"] = LlamaServer(path, binary=_servers.binary(), n_ctx=4096).start()
            _servers._RUNNING["bigger"] = _bigger["server"]
        return {"base_url": _bigger["server"].base_url, "max_tokens": 256, "seed": 7}


class TestChatLlamafileSmolLM2(SmolLM2Xfails, _Base):
    """SmolLM2-135M-Instruct on llama-server: a real instruct model with its own template."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # greedy, so what passes does not depend on one host's sampled continuation; a repeat
        # penalty keeps a 135M model out of loops inside JSON strings
        return {
            "base_url": _servers.url("smollm2"),
            "max_tokens": 256,
            "temperature": 0,
            "repeat_penalty": 1.1,
        }

    @pytest.mark.xfail(
        reason=SMALL_INSTRUCT + "; under llama-server's JSON grammar (not llama-cpp-python's, "
        "as in process) its free JSON uses keys of its own ('title') instead of the asked ones"
    )
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)
