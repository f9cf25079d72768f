"""Local RAG: split, embed on this machine, retrieve, and answer with the sources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseLanguageModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import BasePromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import (
    Runnable,
    RunnableLambda,
    RunnableParallel,
    RunnablePassthrough,
)
from langchain_core.vectorstores import InMemoryVectorStore, VectorStore

from langchain_localkit.chains._common import field_of, with_prompt_lookup
from langchain_localkit.chains._text import split_text

Source = Sequence[Document | str] | BaseRetriever | VectorStore
"""What `local_rag_chain` answers from: documents (or strings), a retriever or a filled
vector store."""


def _as_documents(documents: Sequence[Document | str]) -> list[Document]:
    if isinstance(documents, str | Document):
        raise TypeError("Pass a list of documents (or strings), not a single one.")
    out: list[Document] = []
    for i, doc in enumerate(documents):
        if isinstance(doc, str):
            doc = Document(page_content=doc, metadata={"source": f"document {i + 1}"})
        elif not isinstance(doc, Document):
            raise TypeError(f"Expected a Document or a string, not {type(doc).__name__}")
        elif "source" not in doc.metadata:
            doc = Document(
                page_content=doc.page_content,
                metadata={**doc.metadata, "source": f"document {i + 1}"},
                id=doc.id,
            )
        out.append(doc)
    return out


def split_documents(
    documents: Sequence[Document | str], *, chunk_size: int = 800, chunk_overlap: int = 80
) -> list[Document]:
    """Cut documents into pieces of at most `chunk_size` characters, on natural borders.

    Each piece keeps its document's metadata (with `source`: given, or "document N" for the
    N-th) and adds `chunk`, its index in the document.

    Example:
        >>> from langchain_localkit.chains import split_documents
        >>> pieces = split_documents(["One. Two.", "Three."], chunk_size=6, chunk_overlap=0)
        >>> [(d.page_content, d.metadata["source"], d.metadata["chunk"]) for d in pieces]
        [('One.', 'document 1', 0), ('Two.', 'document 1', 1), ('Three.', 'document 2', 0)]
    """
    if chunk_overlap >= chunk_size:
        raise ValueError("chunk_overlap must be smaller than chunk_size")
    chunks: list[Document] = []
    for doc in _as_documents(documents):
        pieces = split_text(doc.page_content, chunk_size, overlap=chunk_overlap)
        for j, piece in enumerate(pieces):
            chunks.append(Document(page_content=piece, metadata={**doc.metadata, "chunk": j}))
    return chunks


def build_retriever(
    embeddings: Embeddings | None,
    documents: Sequence[Document | str],
    *,
    k: int = 3,
    chunk_size: int = 800,
    chunk_overlap: int = 80,
    vectorstore: VectorStore | None = None,
) -> BaseRetriever:
    """Split `documents`, embed the pieces locally and return a retriever of the `k` nearest.

    Args:
        embeddings: Local embeddings (`LlamaCppEmbeddings`, `GPT4AllEmbeddings`, ...); may
            be None when `vectorstore` is given.
        documents: `Document`s or strings (a string's source is "document N").
        k: Pieces retrieved per question.
        chunk_size: Characters per piece at most.
        chunk_overlap: Characters shared by neighbouring pieces.
        vectorstore: Where to store them (default: a new `InMemoryVectorStore(embeddings)`;
            a store you pass embeds with its own embeddings).

    Example:
        >>> from langchain_core.embeddings import DeterministicFakeEmbedding
        >>> from langchain_localkit.chains import build_retriever
        >>> retriever = build_retriever(DeterministicFakeEmbedding(size=8), ["a", "b"], k=1)
        >>> len(retriever.invoke("a"))
        1
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    if vectorstore is None and embeddings is None:
        raise ValueError("Pass `embeddings` to embed the documents (or a `vectorstore`).")
    chunks = split_documents(documents, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    if vectorstore is not None:
        store = vectorstore
    else:
        assert embeddings is not None  # checked above
        store = InMemoryVectorStore(embeddings)
    if chunks:
        store.add_documents(chunks)
    return store.as_retriever(search_kwargs={"k": k})


def format_sources(documents: Sequence[Document]) -> str:
    """The retrieved pieces as numbered context, each with its source: `[1] (source) text`.

    Example:
        >>> from langchain_core.documents import Document
        >>> from langchain_localkit.chains import format_sources
        >>> print(format_sources([Document("Paris is in France.", metadata={"source": "geo"})]))
        [1] (geo) Paris is in France.
    """
    return "\n\n".join(
        f"[{i}] ({doc.metadata.get('source', 'unknown')}) {doc.page_content}"
        for i, doc in enumerate(documents, 1)
    )


def local_rag_chain(
    llm: BaseLanguageModel[Any],
    embeddings: Embeddings | None = None,
    documents: Source | None = None,
    *,
    retriever: BaseRetriever | None = None,
    k: int = 3,
    chunk_size: int = 800,
    chunk_overlap: int = 80,
    vectorstore: VectorStore | None = None,
    prompt: BasePromptTemplate | None = None,
    prompt_lookup: int | None = None,
) -> Runnable[Any, dict[str, Any]]:
    """Answer questions from your documents, all on this machine, with the sources.

    The documents are split, embedded with `embeddings` and stored (in a new
    `InMemoryVectorStore` unless you pass `vectorstore`); or pass your own retriever or a
    filled vector store instead of documents. A question retrieves the `k` nearest pieces,
    which go, numbered with their sources, into the model family's RAG prompt
    (`RAG_PROMPT_SELECTOR`: the chat wording for chat models, the family's special tokens for
    text models). Nothing leaves the machine unless one of your components sends it.

    Args:
        llm: Any LangChain LLM or chat model.
        embeddings: Local embeddings (needed when `documents` are documents).
        documents: `Document`s or strings, a retriever, or a filled vector store.
        retriever: A retriever to use instead of `documents` (same as passing it there).
        k: Pieces retrieved per question (documents and vector stores).
        chunk_size: Characters per piece at most.
        chunk_overlap: Characters shared by neighbouring pieces.
        vectorstore: Where to store the pieces (default: a new `InMemoryVectorStore`).
        prompt: Another prompt (inputs `context` and `question`).
        prompt_lookup: Guessed tokens checked per decoding step (prompt-lookup speculative
            decoding, see `LlamaCpp.prompt_lookup`): answers quote their sources, so on
            `LlamaCpp` / `ChatLlamaCpp` it is on by default (`RECIPE_PROMPT_LOOKUP` tokens)
            unless the model or a `bind` already sets it; 0 turns it off. Other models are
            used as they are.

    Returns:
        A runnable: a question (or `{"question": ...}`) to `{"answer": str, "sources":
        list[Document]}`; `sources` are the retrieved pieces, in the order the prompt numbers
        them (`[1]`, `[2]`, ...), each with `metadata["source"]`.

    Raises:
        ValueError: Neither documents nor a retriever, documents without `embeddings`, or
            a `prompt_lookup` the model cannot use.

    Example:
        >>> from langchain_localkit import LlamaCpp, LlamaCppEmbeddings
        >>> rag = local_rag_chain(
        ...     LlamaCpp(model_path="model.gguf"),
        ...     LlamaCppEmbeddings(model_path="all-MiniLM-L6-v2.gguf"),
        ...     ["Apollo 11 landed on the Moon on 20 July 1969.", "Tea is made from leaves."],
        ... )  # doctest: +SKIP
        >>> out = rag.invoke("When did Apollo 11 land?")  # doctest: +SKIP
        >>> out["answer"], [d.metadata["source"] for d in out["sources"]]  # doctest: +SKIP
    """
    from langchain_localkit.prompts import RAG_PROMPT_SELECTOR

    if retriever is not None and documents is not None:
        raise ValueError("Pass either `documents` or `retriever`, not both.")
    source = retriever if retriever is not None else documents
    if source is None:
        raise ValueError("Pass the documents (with `embeddings`), a retriever or a vector store.")
    if isinstance(source, BaseRetriever):
        found = source
    elif isinstance(source, VectorStore):
        found = source.as_retriever(search_kwargs={"k": k})
    else:
        found = build_retriever(
            embeddings,
            source,
            k=k,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            vectorstore=vectorstore,
        )
    chosen = prompt if prompt is not None else RAG_PROMPT_SELECTOR.get_prompt(llm)
    question: Runnable[Any, str] = RunnableLambda(
        lambda value: field_of(value, "question"), name="question"
    )
    answer = chosen | with_prompt_lookup(llm, prompt_lookup) | StrOutputParser()
    chain = (
        RunnableParallel(question=question, sources=question | found)
        | RunnablePassthrough.assign(context=lambda x: format_sources(x["sources"]))
        | RunnablePassthrough.assign(answer=answer)
        | RunnableLambda(lambda x: {"answer": x["answer"].strip(), "sources": x["sources"]})
    )
    return chain.with_config(run_name="local_rag")


__all__ = [
    "Source",
    "build_retriever",
    "format_sources",
    "local_rag_chain",
    "split_documents",
]
