"""langchain-localkit: run LLMs on your own machine in LangChain, fast and private.

Model classes per local runtime (llama.cpp in-process, GPT4All, llamafile / llama.cpp server,
Ollama), a prompt pack of model families and chat templates, callback handlers for streaming
and timing, and LCEL recipes. Public names are imported lazily: `import langchain_localkit`
loads no runtime until a class is used.

Example:
    >>> from langchain_localkit import LlamaCpp
    >>> llm = LlamaCpp(model_path="model.gguf")  # doctest: +SKIP
    >>> llm.invoke("The first man on the moon was")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from importlib import metadata
from typing import TYPE_CHECKING

from langchain_localkit._core.lazy import lazy_exports

if TYPE_CHECKING:
    from langchain_localkit._core.errors import (
        ContextOverflowError,
        InvalidModelFileError,
        LocalKitError,
        ModelBusyError,
        ModelFileError,
        ModelIsDirectoryError,
        ModelLoadError,
        ModelNotFoundError,
        ModelNotPulledError,
        RuntimeNotInstalledError,
        ServerDisconnectedError,
        ServerError,
        ServerTimeoutError,
        ServerUnavailableError,
        TemplateError,
        UnsupportedArchitectureError,
    )
    from langchain_localkit._core.gguf import GGUFInfo, read_gguf_info
    from langchain_localkit._core.timings import Timings
    from langchain_localkit.chat_models.gpt4all import ChatGPT4All
    from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp
    from langchain_localkit.chat_models.llamafile import ChatLlamafile
    from langchain_localkit.chat_models.ollama import ChatOllama
    from langchain_localkit.embeddings.gpt4all import GPT4AllEmbeddings
    from langchain_localkit.embeddings.llamacpp import LlamaCppEmbeddings
    from langchain_localkit.embeddings.llamafile import LlamafileEmbeddings
    from langchain_localkit.embeddings.ollama import OllamaEmbeddings
    from langchain_localkit.engines.llamacpp import clear_model_cache
    from langchain_localkit.llms.gpt4all import GPT4All
    from langchain_localkit.llms.llamacpp import LlamaCpp
    from langchain_localkit.llms.llamafile import Llamafile
    from langchain_localkit.llms.ollama import OllamaLLM

try:
    __version__ = metadata.version("langchain-localkit")
except metadata.PackageNotFoundError:
    __version__ = ""
del metadata

logging.getLogger(__name__).addHandler(logging.NullHandler())

_ERRORS = "langchain_localkit._core.errors"
_LAZY: dict[str, str] = {
    "LlamaCpp": "langchain_localkit.llms.llamacpp",
    "ChatLlamaCpp": "langchain_localkit.chat_models.llamacpp",
    "LlamaCppEmbeddings": "langchain_localkit.embeddings.llamacpp",
    "GPT4All": "langchain_localkit.llms.gpt4all",
    "ChatGPT4All": "langchain_localkit.chat_models.gpt4all",
    "GPT4AllEmbeddings": "langchain_localkit.embeddings.gpt4all",
    "Llamafile": "langchain_localkit.llms.llamafile",
    "ChatLlamafile": "langchain_localkit.chat_models.llamafile",
    "LlamafileEmbeddings": "langchain_localkit.embeddings.llamafile",
    "OllamaLLM": "langchain_localkit.llms.ollama",
    "ChatOllama": "langchain_localkit.chat_models.ollama",
    "OllamaEmbeddings": "langchain_localkit.embeddings.ollama",
    "Timings": "langchain_localkit._core.timings",
    "GGUFInfo": "langchain_localkit._core.gguf",
    "read_gguf_info": "langchain_localkit._core.gguf",
    "clear_model_cache": "langchain_localkit.engines.llamacpp",
    "ContextOverflowError": _ERRORS,
    "InvalidModelFileError": _ERRORS,
    "LocalKitError": _ERRORS,
    "ModelBusyError": _ERRORS,
    "ModelFileError": _ERRORS,
    "ModelIsDirectoryError": _ERRORS,
    "ModelLoadError": _ERRORS,
    "ModelNotFoundError": _ERRORS,
    "ModelNotPulledError": _ERRORS,
    "RuntimeNotInstalledError": _ERRORS,
    "ServerDisconnectedError": _ERRORS,
    "ServerError": _ERRORS,
    "ServerTimeoutError": _ERRORS,
    "ServerUnavailableError": _ERRORS,
    "TemplateError": _ERRORS,
    "UnsupportedArchitectureError": _ERRORS,
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "GPT4AllEmbeddings",
    "ChatGPT4All",
    "GPT4All",
    "ServerTimeoutError",
    "ServerDisconnectedError",
    "LlamafileEmbeddings",
    "Llamafile",
    "ChatLlamafile",
    "ChatLlamaCpp",
    "ChatOllama",
    "ContextOverflowError",
    "GGUFInfo",
    "InvalidModelFileError",
    "LlamaCpp",
    "LlamaCppEmbeddings",
    "LocalKitError",
    "ModelBusyError",
    "ModelFileError",
    "ModelIsDirectoryError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelNotPulledError",
    "OllamaEmbeddings",
    "OllamaLLM",
    "RuntimeNotInstalledError",
    "ServerError",
    "ServerUnavailableError",
    "TemplateError",
    "Timings",
    "UnsupportedArchitectureError",
    "__version__",
    "clear_model_cache",
    "read_gguf_info",
]
