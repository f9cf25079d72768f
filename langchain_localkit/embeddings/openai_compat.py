"""`OpenAICompatibleEmbeddings`: text embeddings from any OpenAI-compatible server."""

from __future__ import annotations

from langchain_localkit._faces.embeddings import ServerEmbeddings
from langchain_localkit._openai_compat import OpenAICompatConnection


class OpenAICompatibleEmbeddings(OpenAICompatConnection, ServerEmbeddings):
    """Embeddings from an OpenAI-compatible server's `POST /v1/embeddings`.

    Many texts per request (`batch_size`), vectors scaled to unit length (`normalize`). On a
    llama.cpp server that refuses `/v1/embeddings` (`--pooling none`), llama.cpp's own
    `/embedding` is asked instead. `model` None asks for the server's first model.

    Setup:
        An embedding model served by llama-server (`--embeddings --pooling mean`), vLLM
        (`vllm serve <model> --task embed`), LM Studio, Ollama, LocalAI.

    Example:
        .. code-block:: python

            from langchain_localkit import OpenAICompatibleEmbeddings

            emb = OpenAICompatibleEmbeddings(server="ollama", model="nomic-embed-text")
            vectors = emb.embed_documents(["Paris is in France.", "The Moon orbits Earth."])
    """


__all__ = ["OpenAICompatibleEmbeddings"]
