"""The recipes' choices and argument checks (model objects are built, never run)."""

from __future__ import annotations

import doctest
import importlib

import pytest
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_ollama import ChatOllama as UpstreamChatOllama
from langchain_ollama import OllamaLLM as UpstreamOllamaLLM

from langchain_localkit import ChatLlamaCpp, LlamaCpp, LlamaCppEmbeddings, Llamafile
from langchain_localkit.chains import (
    context_window,
    local_agent,
    local_rag_chain,
    search_queries_chain,
    summarize_chain,
    supports_grammar,
)
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
