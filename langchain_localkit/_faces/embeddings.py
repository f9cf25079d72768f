"""`LocalEmbeddings`: the skeleton every runtime's `Embeddings` face stands on."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, Field


class LocalEmbeddings(Embeddings):
    """Documents and queries, sync and async, from one hook.

    Hooks:
        `_embed(texts, query)`: the vectors of non-empty `texts` (required); `query` says
            they are search queries (some models embed them with another prefix).
        `_aembed(texts, query)`: its native async twin (default: `_embed` in a worker thread,
            so the event loop stays free).
    """

    def _embed(self, texts: list[str], query: bool) -> list[list[float]]:
        raise NotImplementedError

    async def _aembed(self, texts: list[str], query: bool) -> list[list[float]]:
        return await asyncio.to_thread(self._embed, texts, query)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed a list of documents, one vector each."""
        return self._embed(list(texts), False) if texts else []

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self._embed([text], True)[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed a list of documents without blocking the event loop."""
        return await self._aembed(list(texts), False) if texts else []

    async def aembed_query(self, text: str) -> list[float]:
        """Embed one query without blocking the event loop."""
        return (await self._aembed([text], True))[0]


class ServerEmbeddings(BaseModel, LocalEmbeddings):
    """Embeddings from an HTTP server's engine: batched requests, unit-length vectors.

    The face supplies `engine` (with `embed(texts, model)` and `aembed`) and may name the
    `model` to ask for.
    """

    batch_size: int = Field(default=32, ge=1)
    """Texts per request to `/v1/embeddings`."""
    normalize: bool = True
    """Scale every vector to unit length (cosine similarity becomes a dot product)."""

    if TYPE_CHECKING:

        @property
        def engine(self) -> Any:
            """The face's HTTP engine."""

    def _batches(self, texts: Sequence[str]) -> list[list[str]]:
        return [list(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]

    def _finish(self, vectors: list[list[float]]) -> list[list[float]]:
        if not self.normalize:
            return vectors
        out = []
        for vec in vectors:
            norm = math.sqrt(math.fsum(x * x for x in vec))
            out.append([x / norm for x in vec] if norm > 0 else vec)
        return out

    def _embed(self, texts: list[str], query: bool) -> list[list[float]]:
        vectors: list[list[float]] = []
        for batch in self._batches(texts):
            vectors.extend(self.engine.embed(batch, getattr(self, "model", None)))
        return self._finish(vectors)

    async def _aembed(self, texts: list[str], query: bool) -> list[list[float]]:
        vectors: list[list[float]] = []
        for batch in self._batches(texts):
            vectors.extend(await self.engine.aembed(batch, getattr(self, "model", None)))
        return self._finish(vectors)


__all__ = ["LocalEmbeddings", "ServerEmbeddings"]
