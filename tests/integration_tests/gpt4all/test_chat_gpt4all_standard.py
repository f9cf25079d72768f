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

from langchain_localkit.chat_models.gpt4all import ChatGPT4All
from tests.integration_tests._standard import (
    STRUCTURED_OUTPUT,
    TOOL_CALLING,
    LocalChatSuite,
    xfail,
)
from tests.models import tiny_path

pytest.importorskip("gpt4all")

NO_LANGUAGE = "needs language ability; the tiny model has random weights (and no grammar here)"
BIGGER = "LOCALKIT_GPT4ALL_TEST_MODEL"


class _GPT4All(LocalChatSuite):
    chat_model_class = ChatGPT4All

    def model_params(self) -> dict[str, Any]:
        return {"model": os.environ[BIGGER] if self.weights == "bigger" else str(tiny_path())}


class TestChatGPT4AllTiny(_GPT4All):
    weights = "tiny"
    params = {"max_tokens": 16, "temp": 0.0, "max_retries": 0}
    xfails = xfail(
        NO_LANGUAGE,
        *TOOL_CALLING,
        "test_bind_runnables_as_tools",
        "test_tool_calling_with_no_arguments",
        "test_tool_choice",
        "test_structured_few_shot_examples",
        "test_json_mode",
        "test_agent_loop",
        "test_unicode_tool_call_integration",
        *STRUCTURED_OUTPUT,
    )


@pytest.mark.skipif(
    not os.environ.get(BIGGER), reason=f"set {BIGGER} to a gpt4all-loadable instruct GGUF"
)
class TestChatGPT4AllBigger(_GPT4All):
    weights = "bigger"
    params = {"max_tokens": 256}
