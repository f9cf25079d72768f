"""local_rag_chain and retrieval on local embeddings, with nothing leaving loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.outputs import LLMResult
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_localkit import ChatLlamaCpp, LlamaCpp, LlamaCppEmbeddings, Llamafile
from langchain_localkit.chains import build_retriever, local_rag_chain
from langchain_localkit.testing.corpus import DOCUMENTS, QUESTIONS, retrieval_recall


def test_recall_at_3_minilm(minilm: LlamaCppEmbeddings) -> None:
    retriever = build_retriever(minilm, DOCUMENTS, k=3)
    at1, at3 = retrieval_recall(retriever, 1), retrieval_recall(retriever, 3)
    print(f"\nall-MiniLM-L6-v2 (llama.cpp): recall@1 {at1:.3f}, recall@3 {at3:.3f}")
    assert at3 >= 0.9


@pytest.mark.gemma
def test_recall_at_3_gemma(gemma_path: Path) -> None:
    # Gemma 3 270M is a generative model: its mean-pooled hidden states still rank the
    # right document in the top 3 for most questions (measured 23/24, recall@1 19/24)
    embeddings = LlamaCppEmbeddings(model_path=str(gemma_path), pooling="mean")
    retriever = build_retriever(embeddings, DOCUMENTS, k=3)
    at1, at3 = retrieval_recall(retriever, 1), retrieval_recall(retriever, 3)
    print(f"\nGemma 3 270M mean-pooled: recall@1 {at1:.3f}, recall@3 {at3:.3f}")
    assert at3 >= 0.85


def test_tiny_rag_mechanics_and_sources(tiny_gguf_path: Path, minilm: LlamaCppEmbeddings) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), max_tokens=16)
    rag = local_rag_chain(llm, minilm, DOCUMENTS, k=2)
    out = rag.invoke({"question": "Who discovered the first antibiotic?"})
    assert set(out) == {"answer", "sources"}
    assert isinstance(out["answer"], str) and out["answer"]
    assert len(out["sources"]) == 2
    assert out["sources"][0].metadata["source"] == "penicillin"


def test_accepts_a_retriever_or_a_vector_store(
    tiny_gguf_path: Path, minilm: LlamaCppEmbeddings
) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), max_tokens=8)
    store = InMemoryVectorStore(minilm)
    store.add_documents(DOCUMENTS)
    question = "How high is the world's tallest mountain?"
    for source in (store, store.as_retriever(search_kwargs={"k": 1})):
        out = local_rag_chain(llm, documents=source, k=1).invoke(question)
        assert [d.metadata["source"] for d in out["sources"]] == ["mount-everest"]
    # a store of yours filled by the chain, and plain strings as documents
    other = InMemoryVectorStore(minilm)
    texts = ["The kettle boils water.", "Cats sleep most of the day."]
    out = local_rag_chain(llm, documents=texts, vectorstore=other, k=1).invoke("Do cats sleep?")
    assert out["sources"][0].metadata["source"] == "document 2"
    assert len(other.store) == 2


def test_in_process_rag_opens_no_socket(
    tiny_gguf_path: Path, minilm: LlamaCppEmbeddings, loopback_only: list[str]
) -> None:
    for model in (
        LlamaCpp(model_path=str(tiny_gguf_path), max_tokens=8),
        ChatLlamaCpp(model_path=str(tiny_gguf_path), max_tokens=8),
    ):
        out = local_rag_chain(model, minilm, DOCUMENTS).invoke("What is the event horizon?")
        assert out["answer"] and out["sources"][0].metadata["source"] == "black-holes"
    assert loopback_only == []  # in-process: not one connection, not even to loopback


@pytest.mark.gemma
def test_gemma_rag_cites_sources(gemma_path: Path, minilm: LlamaCppEmbeddings) -> None:
    # Gemma 3 270M (base) mostly echoes the prompt: answer quality needs an instruct model,
    # so this checks the mechanics on a real model: an answer, and the right sources cited
    llm = LlamaCpp(model_path=str(gemma_path), temperature=0, max_tokens=32, n_ctx=2048)
    chat = ChatLlamaCpp(model_path=str(gemma_path), temperature=0, max_tokens=32, n_ctx=2048)
    for model in (llm, chat):
        rag = local_rag_chain(model, minilm, DOCUMENTS)
        timings: list[dict[str, Any]] = []
        for question, source in QUESTIONS[:2]:
            out = rag.invoke(question, {"callbacks": [_KeepTimings(timings)]})
            assert isinstance(out["answer"], str) and out["answer"]
            cited = [d.metadata["source"] for d in out["sources"]]
            assert cited[0] == source, (question, cited)
            assert len(cited) == 3 and all(isinstance(d, Document) for d in out["sources"])
        # the recipe decodes with prompt lookup, and the answers copy enough to keep guesses
        assert sum(t.get("draft_accepted", 0) for t in timings) > 0, timings


class _KeepTimings(BaseCallbackHandler):
    def __init__(self, into: list[dict[str, Any]]) -> None:
        self.into = into

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        generation = response.generations[0][0]
        message = getattr(generation, "message", None)
        if message is not None:
            self.into.append(message.response_metadata["timings"])
        else:
            self.into.append((generation.generation_info or {})["timings"])


def test_llamafile_rag_connects_to_loopback_only(
    llamafile_url: str, minilm: LlamaCppEmbeddings, loopback_only: list[str]
) -> None:
    rag = local_rag_chain(Llamafile(base_url=llamafile_url, max_tokens=8), minilm, DOCUMENTS)
    out = rag.invoke("Where were the first modern Olympic Games held?")
    assert out["sources"][0].metadata["source"] == "olympics"
    assert loopback_only, "the server was not reached"
    assert set(loopback_only) <= {"127.0.0.1", "::1", "localhost"}
