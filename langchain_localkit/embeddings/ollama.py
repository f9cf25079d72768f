"""`OllamaEmbeddings`: langchain-ollama's embeddings, with the package's errors."""

from __future__ import annotations

import asyncio

from langchain_ollama import OllamaEmbeddings as _OllamaEmbeddings

from langchain_localkit._ollama import (
    CLIENT_ERRORS,
    host_of,
    is_missing_model,
    pull_model,
    translate,
)


class OllamaEmbeddings(_OllamaEmbeddings):
    """langchain-ollama's `OllamaEmbeddings`, with clear errors and optional pulling.

    A model the server does not have raises `ModelNotPulledError` (or is pulled first with
    `pull=True`); no server at the host raises `ServerUnavailableError`.

    Example:
        .. code-block:: python

            from langchain_localkit import OllamaEmbeddings

            embeddings = OllamaEmbeddings(model="nomic-embed-text")
            vector = embeddings.embed_query("What is the capital of France?")
    """

    pull: bool = False
    """Pull the model when the server does not have it (once, on first use)."""

    def _host(self) -> str:
        return host_of(self._client, self.base_url)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed `texts` (one request)."""
        try:
            return super().embed_documents(texts)
        except CLIENT_ERRORS as e:
            if self.pull and is_missing_model(e):
                pull_model(self._client, self.model, host=self._host())
                return super().embed_documents(texts)
            raise translate(e, self.model, self._host()) from e

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed `texts` (one request), asynchronously."""
        try:
            return await super().aembed_documents(texts)
        except CLIENT_ERRORS as e:
            if self.pull and is_missing_model(e):
                await asyncio.to_thread(pull_model, self._client, self.model, host=self._host())
                return await super().aembed_documents(texts)
            raise translate(e, self.model, self._host()) from e


__all__ = ["OllamaEmbeddings"]
