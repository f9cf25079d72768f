"""Embedding models (`Embeddings`), one per local runtime.

The module path community users import from: `from langchain_localkit.embeddings import
LlamaCppEmbeddings` works as `from langchain_community.embeddings import LlamaCppEmbeddings`
did. Names load on first use, so importing this package loads no runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_localkit._core.lazy import lazy_exports
from langchain_localkit._exports import faces

if TYPE_CHECKING:
    from langchain_localkit.embeddings.gpt4all import GPT4AllEmbeddings as GPT4AllEmbeddings
    from langchain_localkit.embeddings.llamacpp import LlamaCppEmbeddings as LlamaCppEmbeddings
    from langchain_localkit.embeddings.llamafile import LlamafileEmbeddings as LlamafileEmbeddings
    from langchain_localkit.embeddings.ollama import OllamaEmbeddings as OllamaEmbeddings

_FACES = faces("embeddings")

__all__ = sorted(_FACES)

__getattr__, __dir__ = lazy_exports(__name__, _FACES, globals())
