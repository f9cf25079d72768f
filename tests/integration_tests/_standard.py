"""The shared base of the standard chat suites on real runtimes, and what small models cannot do.

Each runtime's suite (test_chat_llamacpp_standard.py, llamafile/test_chat_llamafile_standard.py,
gpt4all/test_chat_gpt4all_standard.py) keeps one `ChatModelIntegrationTests` subclass per model,
as langchain-tests expects, each a short declaration on `LocalChatSuite`: which model (`weights`),
with which options (`params`), and which standard tests the model cannot pass (`xfails`).

An `xfails` table maps a standard test's name to its xfail mark, with the reason: the model's
real limit. tests/integration_tests/conftest.py marks the collected tests from the table, so the
standard tests run unchanged, with langchain-tests' own parametrization (a table entry marks
every parametrized case), and `test_no_overrides_DO_NOT_OVERRIDE` sees no override at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from tests.models import chat_test_model
from tests.standard import LocalChatFeatures

Xfails = Mapping[str, pytest.MarkDecorator]


def xfail(reason: str, *tests: str, strict: bool | None = None) -> dict[str, pytest.MarkDecorator]:
    """The table entries that mark each of `tests` as expected to fail, for `reason`."""
    mark = pytest.mark.xfail(reason=reason, **({} if strict is None else {"strict": strict}))
    return dict.fromkeys(tests, mark)


class KnownFailures:
    """Put before a langchain-tests suite among a class's bases: `xfails` is checked to name
    only tests the class has (a typo would silently mark nothing)."""

    xfails: ClassVar[Xfails] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        unknown = sorted(name for name in cls.xfails if not callable(getattr(cls, name, None)))
        if unknown:
            raise TypeError(f"{cls.__name__}.xfails names tests it does not have: {unknown}")


class LocalChatSuite(KnownFailures, LocalChatFeatures, ChatModelIntegrationTests):
    """One runtime's standard suite on one model.

    A runtime's base sets `chat_model_class` and turns the model's name into the face's options
    (`model_params`: a file path, a server's URL); a subclass per model names its `weights`
    ("tiny", "gemma", "smollm2", "bigger") and adds the sampling `params`. (Not `model`: that
    name is langchain-tests' fixture.)
    """

    weights: ClassVar[str] = ""
    params: ClassVar[dict[str, Any]] = {}

    def model_params(self) -> dict[str, Any]:
        """The options that point the face at `weights` (the file is found, the server started,
        only when a test asks: a model that is not installed fails those tests, not collection)."""
        raise NotImplementedError

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {**self.model_params(), **self.params}


# The suites on LOCALKIT_CHAT_TEST_MODEL, a bigger instruct GGUF: the whole suite, no xfails.
NEEDS_BIGGER = pytest.mark.skipif(
    chat_test_model() is None, reason="set LOCALKIT_CHAT_TEST_MODEL to a GGUF"
)

# --- what each model runs with, in process and on llama-server alike ----------------------------
SAMPLING: dict[str, dict[str, Any]] = {
    "tiny": {"max_tokens": 256, "seed": 7},
    # A base model loops inside free-text JSON fields without a repeat penalty (11 and 3 of 40
    # seeds measured, repacking on / off); with 1.1, community's old default, 0 of 80.
    "gemma": {"max_tokens": 128, "seed": 7, "repeat_penalty": 1.1},
    # greedy, so what passes does not depend on one host's sampled continuation; a repeat
    # penalty keeps a 135M model out of loops inside JSON strings
    "smollm2": {"max_tokens": 256, "temperature": 0, "repeat_penalty": 1.1},
    "bigger": {"max_tokens": 256, "seed": 7},
}

# --- what the models cannot do --------------------------------------------------------------------
TOOL_CALLING = ("test_tool_calling", "test_tool_calling_async")
STRUCTURED_OUTPUT = (
    "test_structured_output",
    "test_structured_output_async",
    "test_structured_output_pydantic_2_v1",
    "test_structured_output_optional_param",
)

# The tiny generated GGUF has random weights: it runs every mechanism (streaming, usage, stop,
# async, batch, histories with tool messages, grammar-constrained JSON), but it cannot choose
# what to say.
NO_LANGUAGE = "needs language ability; the tiny model has random weights"
FREE_TEXT = (
    "free-text string fields: random weights do not end a string within max_tokens (the "
    "grammar keeps every prefix valid but cannot make the model close it); the reply is then "
    "refused as truncated. Numbers, booleans, enums and maxLength strings are tested 20/20 in "
    "test_chat_llamacpp.py / test_chat_llamafile.py"
)
TINY_XFAILS: Xfails = xfail(
    NO_LANGUAGE,
    *TOOL_CALLING,
    "test_bind_runnables_as_tools",
    "test_agent_loop",
    "test_unicode_tool_call_integration",
    "test_json_mode",
) | xfail(FREE_TEXT, *STRUCTURED_OUTPUT)

# Gemma 3 270M: a real but small base model.
SMALL_BASE = "needs instruction following beyond Gemma 3 270M, a small base model"
GEMMA_XFAILS: Xfails = xfail(SMALL_BASE, *TOOL_CALLING, "test_json_mode", "test_agent_loop")

# SmolLM2-135M-Instruct: every call it makes is valid and matches the tool's schema (the grammar
# sees to that); what it gets wrong is what a 135M model gets wrong: which number to copy into
# a call, what to do with a tool's result.
SMALL_INSTRUCT = (
    "needs more than SmolLM2-135M-Instruct, a 135M model: its calls are valid and match the "
    "schema, but it copies the wrong number into magic_function (102 or 123 for 3 through "
    "/completion, 10 or 1024 through /v1) and does not use a tool's result"
)
SMOLLM2_XFAILS: Xfails = xfail(SMALL_INSTRUCT, *TOOL_CALLING, "test_agent_loop")
