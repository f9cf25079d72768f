"""The recipes' choices and argument checks (model objects are built, never run)."""

from __future__ import annotations

import doctest
import importlib
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.embeddings import FakeEmbeddings
from langchain_core.outputs import LLMResult
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_ollama import ChatOllama as UpstreamChatOllama
from langchain_ollama import OllamaLLM as UpstreamOllamaLLM

from langchain_localkit import ChatLlamaCpp, LlamaCpp, LlamaCppEmbeddings, Llamafile
from langchain_localkit.chains import (
    RECIPE_PROMPT_LOOKUP,
    context_window,
    local_agent,
    local_rag_chain,
    search_queries_chain,
    summarize_chain,
    supports_grammar,
)
from langchain_localkit.chains._common import with_prompt_lookup
from langchain_localkit.chains.search_queries import _default_prompt
from langchain_localkit.prompts import (
    SEARCH_QUERIES_CHAT_PROMPT,
    SEARCH_QUERIES_LLAMA_PROMPT,
    SEARCH_QUERIES_PROMPT,
)
from tests.models import tiny_path

MODULES = [
    "langchain_localkit.chains",
    "langchain_localkit.chains._text",
    "langchain_localkit.chains.agent",
    "langchain_localkit.chains.rag",
    "langchain_localkit.chains.search_queries",
    "langchain_localkit.chains.summarize",
    "langchain_localkit.testing.corpus",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_grammar_support_is_seen_through_bind() -> None:
    llm = LlamaCpp(model_path=str(tiny_path()))
    assert supports_grammar(llm)
    assert supports_grammar(llm.bind(stop=["\n"]))
    assert supports_grammar(ChatLlamaCpp(model_path=str(tiny_path())))
    assert supports_grammar(Llamafile(base_url="http://127.0.0.1:9"))
    assert not supports_grammar(UpstreamChatOllama(model="llama3.1:8b"))
    assert not supports_grammar(object())


def test_search_prompt_per_model() -> None:
    # the guide's selector: Llama 2 special tokens for llama.cpp models
    assert _default_prompt(LlamaCpp(model_path=str(tiny_path()))) is SEARCH_QUERIES_LLAMA_PROMPT
    # Llama 2 models on other runtimes too; other text models get the plain prompt
    assert _default_prompt(UpstreamOllamaLLM(model="llama2:13b")) is SEARCH_QUERIES_LLAMA_PROMPT
    assert _default_prompt(UpstreamOllamaLLM(model="mistral:7b")) is SEARCH_QUERIES_PROMPT
    # chat models apply their own template
    assert _default_prompt(ChatLlamaCpp(model_path=str(tiny_path()))) is SEARCH_QUERIES_CHAT_PROMPT
    assert _default_prompt(UpstreamChatOllama(model="llama2")) is SEARCH_QUERIES_CHAT_PROMPT


def test_search_chain_arguments() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        search_queries_chain(LlamaCpp(model_path=str(tiny_path())), max_attempts=0)
    with pytest.raises(ValueError, match=r"takes no llama\.cpp grammar"):
        search_queries_chain(UpstreamChatOllama(model="llama3.1:8b"), constrain=True)
    chain = search_queries_chain(UpstreamChatOllama(model="llama3.1:8b"))
    with pytest.raises(TypeError, match="question"):
        chain.invoke(42)


def test_rag_chain_arguments() -> None:
    llm = LlamaCpp(model_path=str(tiny_path()))
    with pytest.raises(ValueError, match="Pass the documents"):
        local_rag_chain(llm)
    with pytest.raises(ValueError, match="Pass `embeddings`"):
        local_rag_chain(llm, None, ["some text"])
    store = InMemoryVectorStore(LlamaCppEmbeddings(model_path=str(tiny_path())))
    with pytest.raises(ValueError, match="either `documents` or `retriever`"):
        local_rag_chain(llm, documents=[Document("x")], retriever=store.as_retriever())


def test_agent_arguments() -> None:
    chat = ChatLlamaCpp(model_path=str(tiny_path()))
    with pytest.raises(ValueError, match="max_tool_rounds"):
        local_agent(chat, [len], max_tool_rounds=0)
    with pytest.raises(ValueError, match="at least one tool"):
        local_agent(chat, [])


def test_context_window_from_fields() -> None:
    assert context_window(UpstreamChatOllama(model="x", num_ctx=4096)) == 4096
    assert context_window(UpstreamChatOllama(model="x")) is None
    assert context_window(object()) is None


def test_summary_needs_room_in_the_window() -> None:
    chain = summarize_chain(
        LlamaCpp(model_path=str(tiny_path())),
        context_window_tokens=64,
        max_summary_tokens=60,
        token_counter=len,
    )
    with pytest.raises(ValueError, match="leaves no room"):
        chain.invoke("Some text.")


def _lookup(model: Any) -> Any:
    """The `prompt_lookup` call option bound around `model` (None when none is)."""
    while model is not None:
        kwargs = getattr(model, "kwargs", {}) or {}
        if "prompt_lookup" in kwargs:
            return kwargs["prompt_lookup"]
        model = getattr(model, "bound", None)
    return None


def test_recipes_turn_prompt_lookup_on_only_where_nobody_chose() -> None:
    llm = LlamaCpp(model_path=str(tiny_path()))
    assert _lookup(with_prompt_lookup(llm, None)) == RECIPE_PROMPT_LOOKUP
    assert _lookup(with_prompt_lookup(llm.bind(stop=["\n"]), None)) == RECIPE_PROMPT_LOOKUP
    chat = ChatLlamaCpp(model_path=str(tiny_path()))
    assert _lookup(with_prompt_lookup(chat, None)) == RECIPE_PROMPT_LOOKUP
    assert _lookup(with_prompt_lookup(llm, 7)) == 7
    assert with_prompt_lookup(llm, 0) is llm
    # the model's field or an earlier bind wins over the recipe's default
    chosen = LlamaCpp(model_path=str(tiny_path()), prompt_lookup=0)
    assert with_prompt_lookup(chosen, None) is chosen
    bound = llm.bind(prompt_lookup=2)
    assert with_prompt_lookup(bound, None) is bound
    # other runtimes are left alone, unless asked for what they cannot do
    ollama = UpstreamChatOllama(model="llama3.1:8b")
    assert with_prompt_lookup(ollama, None) is ollama
    assert with_prompt_lookup(ollama, 0) is ollama
    retriever = InMemoryVectorStore(FakeEmbeddings(size=4)).as_retriever()
    with pytest.raises(ValueError, match=r"in-process llama\.cpp model"):
        local_rag_chain(ollama, retriever=retriever, prompt_lookup=4)
    for bad in (-1, True, 2.5):
        with pytest.raises(ValueError, match="prompt_lookup must be"):
            summarize_chain(llm, prompt_lookup=bad)


def test_the_summary_recipe_decodes_with_prompt_lookup_and_the_same_text() -> None:
    llm = LlamaCpp(model_path=str(tiny_path()), temperature=0, max_tokens=24)
    text = "The cat sat on the mat. " * 12

    def summarise(prompt_lookup: int | None) -> tuple[str, dict[str, Any]]:
        timings: list[dict[str, Any]] = []

        class Keep(BaseCallbackHandler):
            def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
                info = response.generations[0][0].generation_info or {}
                timings.append(info["timings"])

        chain = summarize_chain(llm, context_window_tokens=512, prompt_lookup=prompt_lookup)
        summary = chain.invoke(text, {"callbacks": [Keep()]})
        assert len(timings) == 1
        return summary, timings[0]

    fast, on = summarise(None)
    plain, off = summarise(0)
    assert fast == plain
    assert on["draft_tokens"] > 0
    assert off.get("draft_tokens", 0) == 0
