"""The langchain-tests standard integration suite for ChatLlamaCpp, on real llama.cpp.

Runs on the tiny generated model (the mechanics: invoke, stream, async, batch, usage, stop,
histories with tool messages), on Gemma 3 270M (a real but small base model) and on
SmolLM2-135M-Instruct (a real instruct model, its own ChatML template from the GGUF). Tests that
need more language ability than these models have are xfailed with that reason (see
`_standard.py`); set LOCALKIT_CHAT_TEST_MODEL to the path of a bigger instruct GGUF to run the
whole suite on it, with no xfails.
"""

from __future__ import annotations

from typing import Any

from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp
from tests.integration_tests._standard import (
    FREE_TEXT,
    GEMMA_XFAILS,
    NEEDS_BIGGER,
    SAMPLING,
    SMALL_BASE,
    SMOLLM2_XFAILS,
    TINY_XFAILS,
    LocalChatSuite,
    xfail,
)
from tests.models import chat_test_model, gemma_path, smollm2_path, tiny_path

FILES = {"tiny": tiny_path, "gemma": gemma_path, "smollm2": smollm2_path, "bigger": chat_test_model}


class _LlamaCpp(LocalChatSuite):
    chat_model_class = ChatLlamaCpp

    def model_params(self) -> dict[str, Any]:
        return {"model_path": str(FILES[self.weights]())}


class TestChatLlamaCppTiny(_LlamaCpp):
    weights = "tiny"
    params = {**SAMPLING["tiny"], "n_ctx": 2048}
    xfails = TINY_XFAILS | xfail(FREE_TEXT, "test_tool_choice")


class TestChatLlamaCppGemma(_LlamaCpp):
    weights = "gemma"
    params = {**SAMPLING["gemma"], "n_ctx": 4096}
    xfails = GEMMA_XFAILS | xfail(SMALL_BASE, "test_bind_runnables_as_tools")


@NEEDS_BIGGER
class TestChatLlamaCppBigger(_LlamaCpp):
    weights = "bigger"
    params = {**SAMPLING["bigger"], "n_ctx": 4096}


class TestChatLlamaCppSmolLM2(_LlamaCpp):
    weights = "smollm2"
    params = {**SAMPLING["smollm2"], "n_ctx": 4096}
    xfails = SMOLLM2_XFAILS
