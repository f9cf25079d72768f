"""summarize_chain on texts several times the context window: every call fits the window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from langchain_localkit import ChatLlamaCpp, LlamaCpp
from langchain_localkit.chains import summarize_chain
from langchain_localkit.testing.corpus import DOCUMENTS

ARTICLE = "\n\n".join(d.page_content for d in DOCUMENTS)  # 24 paragraphs, ~860 Gemma tokens


class Prompts(BaseCallbackHandler):
    """Records the prompts (text models) and message lists (chat models) the model got."""

    def __init__(self) -> None:
        self.prompts: list[str] = []
        self.chats: list[Any] = []

    def on_llm_start(self, serialized: Any, prompts: list[str], **kwargs: Any) -> None:
        self.prompts.extend(prompts)

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.chats.extend(messages)


def test_tiny_text_four_times_the_window(tiny_gguf_path: Path) -> None:
    n_ctx, budget = 512, 32
    llm = LlamaCpp(model_path=str(tiny_gguf_path), n_ctx=n_ctx, n_batch=n_ctx, max_tokens=budget)
    text = ARTICLE
    size = llm.get_num_tokens(text)
    assert size >= 4 * n_ctx
    seen = Prompts()
    summary = summarize_chain(llm).invoke(text, {"callbacks": [seen]})
    assert isinstance(summary, str) and summary
    print(f"\ntiny: {size} tokens in a {n_ctx}-token window, {len(seen.prompts)} calls")
    assert len(seen.prompts) > size // n_ctx  # mapped in pieces, then reduced
    # every prompt left room for the summary in the window (llama.cpp would refuse otherwise)
    assert all(llm.get_num_tokens(p) + budget <= n_ctx for p in seen.prompts)


async def test_tiny_chat_async_four_times_the_window(tiny_gguf_path: Path) -> None:
    n_ctx = 512
    chat = ChatLlamaCpp(model_path=str(tiny_gguf_path), n_ctx=n_ctx, max_tokens=24)
    text = ARTICLE * 2
    assert chat.get_num_tokens(text) >= 4 * n_ctx
    seen = Prompts()
    summary = await summarize_chain(chat).ainvoke({"text": text}, {"callbacks": [seen]})
    assert isinstance(summary, str) and summary
    assert len(seen.chats) >= 5
    assert all(chat.get_num_tokens_from_messages(m) + 24 <= n_ctx for m in seen.chats)


@pytest.mark.gemma
def test_gemma_text_four_times_the_window(gemma_path: Path) -> None:
    n_ctx, budget = 384, 48
    llm = LlamaCpp(
        model_path=str(gemma_path), n_ctx=n_ctx, n_batch=n_ctx, max_tokens=budget, temperature=0
    )
    text = ARTICLE * 2
    size = llm.get_num_tokens(text)
    assert size >= 4 * n_ctx
    seen = Prompts()
    summary = summarize_chain(llm).invoke(text, {"callbacks": [seen]})
    print(f"\nGemma: {size} tokens, {n_ctx}-token window, {len(seen.prompts)} calls: {summary!r}")
    assert isinstance(summary, str) and summary.strip()
    assert all(llm.get_num_tokens(p) + budget <= n_ctx for p in seen.prompts)
