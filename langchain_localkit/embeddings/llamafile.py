"""`LlamafileEmbeddings`: text embeddings from a llamafile or llama.cpp server, over HTTP."""

from __future__ import annotations

from langchain_localkit._faces.embeddings import ServerEmbeddings
from langchain_localkit._llamafile import LlamafileConnection


class LlamafileEmbeddings(LlamafileConnection, ServerEmbeddings):
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


__all__ = ["LlamafileEmbeddings"]
