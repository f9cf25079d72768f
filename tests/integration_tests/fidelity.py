"""The conversations of the fidelity tests: our faces must answer what the runtime answers.

Greedy decoding, the package's defaults otherwise. llama.cpp is not batch-invariant: a prompt
evaluated in one batch and the same prompt partly taken from the KV cache give slightly
different logits. So every comparison starts both sides from the same cache state (an empty
one), and the runtime's own defaults (no repeat penalty) are ours.
"""

from __future__ import annotations

from typing import Any

import pytest

CONVERSATIONS: dict[str, list[dict[str, str]]] = {
    "user": [{"role": "user", "content": "What is the capital of France?"}],
    "system": [
        {"role": "system", "content": "You are a terse assistant. Answer in one word."},
        {"role": "user", "content": "What colour is the sky on a clear day?"},
    ],
    "multi-turn": [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada!"},
        {"role": "user", "content": "What is my name?"},
    ],
    "unicode": [{"role": "user", "content": "Traduis en français : « the cat sleeps » 🐱"}],
}
"""SmolLM2's template has no tool turns, so there is no tool-result conversation: our faces
write tool calls in their own `<tool_call>` format, which no template of these models knows."""

PROMPTS = ["The first man on the moon was", "Les trois couleurs du drapeau français sont"]

MAX_TOKENS = 48

_ROLES = {"user": "human", "assistant": "ai", "system": "system"}


by_conversation = pytest.mark.parametrize(
    "messages", list(CONVERSATIONS.values()), ids=list(CONVERSATIONS)
)
by_prompt = pytest.mark.parametrize("prompt", PROMPTS)


def as_langchain(messages: list[dict[str, str]]) -> list[tuple[str, str]]:
    """The OpenAI-style messages as LangChain message tuples."""
    return [(_ROLES[m["role"]], m["content"]) for m in messages]


def content(message: Any) -> str:
    """A message's text."""
    return str(message.content)


def invoked(chat: Any, messages: list[dict[str, str]]) -> str:
    """What `chat.invoke` answers to the OpenAI-style `messages`."""
    return content(chat.invoke(as_langchain(messages)))


def streamed(chat: Any, messages: list[dict[str, str]]) -> str:
    """What `chat.stream` answers to the OpenAI-style `messages`, joined."""
    return "".join(content(c) for c in chat.stream(as_langchain(messages)))
