"""`LlamafileEmbeddings`: text embeddings from a llamafile or llama.cpp server, over HTTP."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import Field

from langchain_localkit._faces.embeddings import LocalEmbeddings
from langchain_localkit._llamafile import LlamafileConnection


class LlamafileEmbeddings(LlamafileConnection, LocalEmbeddings):
    """Embeddings from a model served by a llamafile or by llama.cpp's `llama-server`.

    Texts go to the OpenAI-compatible `POST /v1/embeddings`, many per request; servers that
    lack it or refuse it (llamafile's older server, or `--pooling none`, whose per-token
    vectors are then mean-pooled) are asked through the native `POST /embedding`, one text at
    a time. Vectors are scaled to unit length here, whatever the server does. No server at
    `base_url` raises `ServerUnavailableError`; a refusal (e.g. a server not started in
    embedding mode) raises `ServerError` with the server's message and the flag to add.

    Setup:
        Start the server in embedding mode: `./model.llamafile --server --nobrowser
        --embedding` or `llama-server -m model.gguf --embeddings --pooling mean`.

    Key init args:
        base_url: the server (default `http://localhost:8080`). batch_size: texts per
        request. normalize: unit-length vectors.

    Example:
        .. code-block:: python

            from langchain_localkit import LlamafileEmbeddings

            emb = LlamafileEmbeddings()  # http://localhost:8080
            vectors = emb.embed_documents(["Paris is in France.", "The Moon orbits Earth."])
            query = emb.embed_query("Where is Paris?")
    """

    batch_size: int = Field(default=32, ge=1)
    """Texts per request to `/v1/embeddings`."""
    normalize: bool = True
    """Scale every vector to unit length (cosine similarity becomes a dot product)."""

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
            vectors.extend(self.engine.embed(batch))
        return self._finish(vectors)

    async def _aembed(self, texts: list[str], query: bool) -> list[list[float]]:
        vectors: list[list[float]] = []
        for batch in self._batches(texts):
            vectors.extend(await self.engine.aembed(batch))
        return self._finish(vectors)


__all__ = ["LlamafileEmbeddings"]
