"""Embedding models (`Embeddings`), one per local runtime.

The module path community users import from: `from langchain_localkit.embeddings import
LlamaCppEmbeddings` works as `from langchain_community.embeddings import LlamaCppEmbeddings`
did. Names load on first use, so importing this package loads no runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_localkit._core.lazy import lazy_exports

if TYPE_CHECKING:
    from langchain_localkit.embeddings.gpt4all import GPT4AllEmbeddings
    from langchain_localkit.embeddings.llamacpp import LlamaCppEmbeddings
    from langchain_localkit.embeddings.llamafile import LlamafileEmbeddings
    from langchain_localkit.embeddings.ollama import OllamaEmbeddings

__all__ = ["GPT4AllEmbeddings", "LlamaCppEmbeddings", "LlamafileEmbeddings", "OllamaEmbeddings"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "GPT4AllEmbeddings": "langchain_localkit.embeddings.gpt4all",
        "LlamaCppEmbeddings": "langchain_localkit.embeddings.llamacpp",
        "LlamafileEmbeddings": "langchain_localkit.embeddings.llamafile",
        "OllamaEmbeddings": "langchain_localkit.embeddings.ollama",
    },
    globals(),
)
