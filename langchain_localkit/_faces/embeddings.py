"""`LocalEmbeddings`: the skeleton every runtime's `Embeddings` face stands on."""

from __future__ import annotations

import asyncio

from langchain_core.embeddings import Embeddings


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


__all__ = ["LocalEmbeddings"]
