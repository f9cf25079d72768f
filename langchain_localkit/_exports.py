"""The one table of the model classes: which module defines each public face.

The top-level package and `llms`, `chat_models`, `embeddings` export their names from it
(lazily, so importing them loads no runtime); a new runtime adds its faces here once.
"""

from __future__ import annotations

FACES: dict[str, str] = {
    "LlamaCpp": "llms.llamacpp",
    "ChatLlamaCpp": "chat_models.llamacpp",
    "LlamaCppEmbeddings": "embeddings.llamacpp",
    "GPT4All": "llms.gpt4all",
    "ChatGPT4All": "chat_models.gpt4all",
    "GPT4AllEmbeddings": "embeddings.gpt4all",
    "Llamafile": "llms.llamafile",
    "ChatLlamafile": "chat_models.llamafile",
    "LlamafileEmbeddings": "embeddings.llamafile",
    "OllamaLLM": "llms.ollama",
    "ChatOllama": "chat_models.ollama",
    "OllamaEmbeddings": "embeddings.ollama",
    "OpenAICompatible": "llms.openai_compat",
    "ChatOpenAICompatible": "chat_models.openai_compat",
    "OpenAICompatibleEmbeddings": "embeddings.openai_compat",
}
"""Public class name -> its module under `langchain_localkit`."""


def faces(kind: str | None = None) -> dict[str, str]:
    """Public name -> full module name, for one kind ("llms", "chat_models", "embeddings").

    Example:
        >>> sorted(faces("llms"))
        ['GPT4All', 'LlamaCpp', 'Llamafile', 'OllamaLLM', 'OpenAICompatible']
    """
    return {
        name: f"langchain_localkit.{module}"
        for name, module in FACES.items()
        if kind is None or module.split(".")[0] == kind
    }


__all__ = ["FACES", "faces"]
