"""`GPT4AllEmbeddings`: a local BERT embedding GGUF in the gpt4all bindings, offline."""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from langchain_localkit._core.gguf import check_model_path, read_gguf_info
from langchain_localkit._core.models import LoadedModel, ModelCache
from langchain_localkit.engines.gpt4all import check_architecture, import_gpt4all, load_or_raise

_CACHE: ModelCache[Any] = ModelCache()


def _load(path: Path, n_threads: int | None, device: str | None) -> Any:
    gpt4all = import_gpt4all()
    return load_or_raise(
        lambda: gpt4all.Embed4All(
            path.name,
            model_path=str(path.parent),
            allow_download=False,
            n_threads=n_threads,
            device=device,
        ),
        path,
        lambda built: built.gpt4all.model,
        "embedding model",
    )


class GPT4AllEmbeddings(BaseModel, Embeddings):
    """Embeddings from a local BERT GGUF (`bert`, `nomic-bert`) in the gpt4all bindings.

    The successor of langchain-community's `GPT4AllEmbeddings`, without its download: `model`
    is the path of an embedding GGUF (all-MiniLM-L6-v2, nomic-embed-text, ...). gpt4all 2.8.2
    embeds only with BERT architectures; a generation model (llama, qwen2, ...) raises
    `UnsupportedArchitectureError` (use `LlamaCppEmbeddings` for those). The package can write
    all-MiniLM-L6-v2 for you, offline: `langchain_localkit.testing.minilm.minilm_gguf_path()`.

    Example:
        .. code-block:: python

            from langchain_localkit import GPT4AllEmbeddings

            embeddings = GPT4AllEmbeddings(model="models/all-MiniLM-L6-v2.F32.gguf")
            vector = embeddings.embed_query("What is the capital of France?")
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model: str
    """Path of the embedding `.gguf` file."""
    n_threads: int | None = Field(default=None, ge=1)
    """CPU threads (None: the bindings' default)."""
    device: str | None = "cpu"
    """"cpu" (default), "gpu", "kompute", "cuda", ..."""
    prefix: str | None = None
    """Task prefix for models that need one (nomic: "search_document"); `embed_query` uses
    `query_prefix` instead."""
    query_prefix: str | None = None
    """Task prefix for queries (nomic: "search_query")."""
    dimensionality: int | None = Field(default=None, ge=1)
    """Truncate vectors to this size (Matryoshka models such as nomic-embed-text v1.5)."""
    long_text_mode: Literal["mean", "truncate"] = "mean"
    """Texts longer than the context: average the parts' vectors, or truncate."""

    _entry: LoadedModel[Any] | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        path = check_model_path(self.model)
        check_architecture(read_gguf_info(path), embedding=True)
        self.model = str(path)

    def _embedder(self) -> LoadedModel[Any]:
        with self._lock:
            if self._entry is None:
                path = Path(self.model)
                stat = path.stat()
                key = ("embed4all", str(path), stat.st_mtime_ns, self.n_threads, self.device)
                load = functools.partial(_load, path, self.n_threads, self.device)
                self._entry, _ = _CACHE.get_or_load(key, load)
            return self._entry

    def _embed(self, texts: list[str], prefix: str | None) -> list[list[float]]:
        if not texts:
            return []
        entry = self._embedder()
        with entry.lease() as lease:
            vectors = lease.model.embed(
                texts,
                prefix=prefix if prefix is not None else "",
                dimensionality=self.dimensionality,
                long_text_mode=self.long_text_mode,
            )
        return [list(map(float, v)) for v in vectors]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed `texts`."""
        return self._embed(list(texts), self.prefix)

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        prefix = self.query_prefix if self.query_prefix is not None else self.prefix
        return self._embed([text], prefix)[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed `texts` in a worker thread."""
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """Embed one query in a worker thread."""
        return await asyncio.to_thread(self.embed_query, text)


__all__ = ["GPT4AllEmbeddings"]
