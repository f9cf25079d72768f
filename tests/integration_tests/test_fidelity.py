"""Fidelity in process: `ChatLlamaCpp` and `LlamaCpp` answer what llama-cpp-python answers.

On SmolLM2-135M-Instruct (a real instruct model whose GGUF carries its ChatML template),
greedy, with the package's defaults: `ChatLlamaCpp.invoke` and `.stream` against
`Llama.create_chat_completion` (which renders the same template itself), `LlamaCpp.invoke`
against `Llama.create_completion`. Both sides share one loaded model and start from an empty
KV cache (see `fidelity.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from langchain_localkit import ChatLlamaCpp, LlamaCpp
from tests.integration_tests import fidelity

pytestmark = pytest.mark.smollm2


@pytest.fixture(scope="module")
def chat(smollm2_path: Path) -> ChatLlamaCpp:
    return ChatLlamaCpp(model_path=str(smollm2_path), temperature=0, max_tokens=fidelity.MAX_TOKENS)


@pytest.fixture(scope="module")
def llm(smollm2_path: Path) -> LlamaCpp:
    return LlamaCpp(model_path=str(smollm2_path), temperature=0, max_tokens=fidelity.MAX_TOKENS)


def _raw(face: ChatLlamaCpp | LlamaCpp, call: str, *args: Any) -> Any:
    """llama-cpp-python's own `Llama.<call>(*args)` on the face's model, greedy; from an empty
    KV cache, which it leaves empty for the face's call."""
    llama = face.client
    llama.reset()
    raw = getattr(llama, call)(*args, temperature=0, max_tokens=fidelity.MAX_TOKENS)
    llama.reset()
    return raw


def test_defaults_are_llama_cpps() -> None:
    """No repeat penalty, llama.cpp's top-k / top-p / min-p: a deliberate change from
    community `LlamaCpp` (repeat_penalty=1.1), which made greedy output differ."""
    import inspect

    import llama_cpp

    raw = inspect.signature(llama_cpp.Llama.create_completion).parameters
    ours = LlamaCpp.model_fields
    for name in ("repeat_penalty", "top_k", "top_p", "min_p", "typical_p"):
        assert ours[name].default == raw[name].default, name


@fidelity.by_conversation
def test_chat_invoke_equals_create_chat_completion(
    chat: ChatLlamaCpp, messages: list[dict[str, str]]
) -> None:
    raw = _raw(chat, "create_chat_completion", messages)
    reply = chat.invoke(fidelity.as_langchain(messages))
    assert fidelity.content(reply) == raw["choices"][0]["message"]["content"]
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == raw["usage"]["prompt_tokens"]
    assert reply.usage_metadata["output_tokens"] == raw["usage"]["completion_tokens"]
    assert reply.response_metadata["finish_reason"] == raw["choices"][0]["finish_reason"]


@fidelity.by_conversation
def test_chat_stream_equals_create_chat_completion(
    chat: ChatLlamaCpp, messages: list[dict[str, str]]
) -> None:
    raw = _raw(chat, "create_chat_completion", messages)
    assert fidelity.streamed(chat, messages) == raw["choices"][0]["message"]["content"]


@fidelity.by_prompt
def test_llm_invoke_equals_create_completion(llm: LlamaCpp, prompt: str) -> None:
    raw = _raw(llm, "create_completion", prompt)
    assert llm.invoke(prompt) == raw["choices"][0]["text"]
