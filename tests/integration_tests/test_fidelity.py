"""Fidelity in process: `ChatLlamaCpp` and `LlamaCpp` answer what llama-cpp-python answers.

On SmolLM2-135M-Instruct (a real instruct model whose GGUF carries its ChatML template),
greedy, with the package's defaults: `ChatLlamaCpp.invoke` and `.stream` against
`Llama.create_chat_completion` (which renders the same template itself), `LlamaCpp.invoke`
against `Llama.create_completion`. Both sides share one loaded model and start from an empty
KV cache (see `fidelity.py`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_localkit import ChatLlamaCpp, LlamaCpp
from tests.integration_tests.fidelity import (
    CONVERSATIONS,
    MAX_TOKENS,
    PROMPTS,
    as_langchain,
    content,
)

pytestmark = pytest.mark.smollm2


@pytest.fixture(scope="module")
def chat(smollm2_path: Path) -> ChatLlamaCpp:
    return ChatLlamaCpp(model_path=str(smollm2_path), temperature=0, max_tokens=MAX_TOKENS)


@pytest.fixture(scope="module")
def llm(smollm2_path: Path) -> LlamaCpp:
    return LlamaCpp(model_path=str(smollm2_path), temperature=0, max_tokens=MAX_TOKENS)


def test_defaults_are_llama_cpps() -> None:
    """No repeat penalty, llama.cpp's top-k / top-p / min-p: a deliberate change from
    community `LlamaCpp` (repeat_penalty=1.1), which made greedy output differ."""
    import inspect

    import llama_cpp

    raw = inspect.signature(llama_cpp.Llama.create_completion).parameters
    ours = LlamaCpp.model_fields
    for name in ("repeat_penalty", "top_k", "top_p", "min_p", "typical_p"):
        assert ours[name].default == raw[name].default, name


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_chat_invoke_equals_create_chat_completion(chat: ChatLlamaCpp, name: str) -> None:
    messages = CONVERSATIONS[name]
    llama = chat.client
    llama.reset()
    raw = llama.create_chat_completion(messages, temperature=0, max_tokens=MAX_TOKENS)
    expected = raw["choices"][0]["message"]["content"]
    llama.reset()
    reply = chat.invoke(as_langchain(messages))
    assert content(reply) == expected
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == raw["usage"]["prompt_tokens"]
    assert reply.usage_metadata["output_tokens"] == raw["usage"]["completion_tokens"]
    assert reply.response_metadata["finish_reason"] == raw["choices"][0]["finish_reason"]


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_chat_stream_equals_create_chat_completion(chat: ChatLlamaCpp, name: str) -> None:
    messages = CONVERSATIONS[name]
    llama = chat.client
    llama.reset()
    raw = llama.create_chat_completion(messages, temperature=0, max_tokens=MAX_TOKENS)
    llama.reset()
    streamed = "".join(content(c) for c in chat.stream(as_langchain(messages)))
    assert streamed == raw["choices"][0]["message"]["content"]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_llm_invoke_equals_create_completion(llm: LlamaCpp, prompt: str) -> None:
    llama = llm.client
    llama.reset()
    raw = llama.create_completion(prompt, temperature=0, max_tokens=MAX_TOKENS)
    llama.reset()
    assert llm.invoke(prompt) == raw["choices"][0]["text"]
