"""`LlamaCppEmbeddings`: text embeddings from a GGUF model in llama.cpp, in-process."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from pydantic import Field

from langchain_localkit._faces.embeddings import LocalEmbeddings
from langchain_localkit._llamacpp import LlamaCppLoadParams
from langchain_localkit.engines.llamacpp import LlamaLoadOptions, import_llama_cpp

Pooling = Literal["mean", "cls", "last"]


class LlamaCppEmbeddings(LlamaCppLoadParams, LocalEmbeddings):
    """Embeddings from a GGUF model run by llama.cpp (llama-cpp-python), fully offline.

    The model is loaded in embedding mode, on first use, and cached apart from a generation
    load of the same file (the two modes cannot share a llama.cpp context).

    Key init args:
        model_path: the `.gguf` file (an embedding model such as nomic-embed or bge, or any
            generative model). pooling: "mean", "cls" or "last"; None takes the model's own
            pooling when its GGUF declares one, else "mean". normalize: unit-length vectors.

    Example:
        .. code-block:: python

            from langchain_localkit.embeddings.llamacpp import LlamaCppEmbeddings

            emb = LlamaCppEmbeddings(model_path="models/nomic-embed-text-v1.5.Q8_0.gguf")
            vectors = emb.embed_documents(["Paris is in France.", "The Moon orbits Earth."])
            query = emb.embed_query("Where is Paris?")
    """

    _community_name: ClassVar[str] = "LlamaCppEmbeddings"

    n_batch: int = Field(default=2048, ge=1)
    """Tokens per batch (at most the model's trained context, e.g. 512 for BERT models); a
    text longer than this is truncated (or refused, see `truncate`)."""
    pooling: Pooling | None = None
    """How token vectors become one vector; None: the model's own, else mean."""
    normalize: bool = True
    """Scale every vector to unit length (cosine similarity becomes a dot product)."""
    truncate: bool = True
    """Cut texts longer than `n_batch` tokens; False raises `ContextOverflowError` instead."""

    def _load_options(self, **overrides: object) -> LlamaLoadOptions:
        from langchain_localkit._core.gguf import read_gguf_info

        trained = read_gguf_info(self.model_path).context_length
        n_ctx = self.n_ctx if self.n_ctx is not None else min(self.n_batch, trained or self.n_batch)
        options = super()._load_options(n_ctx=n_ctx, embedding=True, **overrides)
        # Encoder models (BERT) evaluate a whole batch at once: the physical batch must hold it.
        batch = min(self.n_batch, n_ctx) if n_ctx > 0 else self.n_batch
        options = dataclasses.replace(options, n_batch=batch, n_ubatch=batch)
        pooling = self._pooling_type()
        if pooling is not None:
            options = dataclasses.replace(options, pooling_type=pooling)
        return options

    def _pooling_type(self) -> int | None:
        llama_cpp = import_llama_cpp()
        names = {
            "mean": llama_cpp.LLAMA_POOLING_TYPE_MEAN,
            "cls": llama_cpp.LLAMA_POOLING_TYPE_CLS,
            "last": llama_cpp.LLAMA_POOLING_TYPE_LAST,
        }
        if self.pooling is not None:
            return int(names[self.pooling])
        from langchain_localkit._core.gguf import read_gguf_info

        info = read_gguf_info(self.model_path)
        if info.get(f"{info.architecture}.pooling_type") is not None:
            return None  # the model says how it pools
        return int(names["mean"])

    def _embed(self, texts: list[str], query: bool) -> list[list[float]]:
        return self.engine.embed(texts, normalize=self.normalize, truncate=self.truncate)


__all__ = ["LlamaCppEmbeddings"]
