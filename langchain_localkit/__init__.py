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
from langchain_localkit._exports import faces

if TYPE_CHECKING:
    from langchain_localkit._core.errors import (
        ContextOverflowError as ContextOverflowError,
    )
    from langchain_localkit._core.errors import (
        GrammarError as GrammarError,
    )
    from langchain_localkit._core.errors import (
        InvalidModelFileError as InvalidModelFileError,
    )
    from langchain_localkit._core.errors import (
        InvalidRequestError as InvalidRequestError,
    )
    from langchain_localkit._core.errors import (
        LocalKitError as LocalKitError,
    )
    from langchain_localkit._core.errors import (
        ModelBusyError as ModelBusyError,
    )
    from langchain_localkit._core.errors import (
        ModelFileError as ModelFileError,
    )
    from langchain_localkit._core.errors import (
        ModelIsDirectoryError as ModelIsDirectoryError,
    )
    from langchain_localkit._core.errors import (
        ModelLoadError as ModelLoadError,
    )
    from langchain_localkit._core.errors import (
        ModelNotFoundError as ModelNotFoundError,
    )
    from langchain_localkit._core.errors import (
        ModelNotPulledError as ModelNotPulledError,
    )
    from langchain_localkit._core.errors import (
        RuntimeNotInstalledError as RuntimeNotInstalledError,
    )
    from langchain_localkit._core.errors import (
        ServerDisconnectedError as ServerDisconnectedError,
    )
    from langchain_localkit._core.errors import (
        ServerError as ServerError,
    )
    from langchain_localkit._core.errors import (
        ServerTimeoutError as ServerTimeoutError,
    )
    from langchain_localkit._core.errors import (
        ServerUnavailableError as ServerUnavailableError,
    )
    from langchain_localkit._core.errors import (
        TemplateError as TemplateError,
    )
    from langchain_localkit._core.errors import (
        UnsupportedArchitectureError as UnsupportedArchitectureError,
    )
    from langchain_localkit._core.gguf import GGUFInfo as GGUFInfo
    from langchain_localkit._core.gguf import read_gguf_info as read_gguf_info
    from langchain_localkit._core.timings import Timings as Timings
    from langchain_localkit.chat_models.gpt4all import ChatGPT4All as ChatGPT4All
    from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp as ChatLlamaCpp
    from langchain_localkit.chat_models.llamafile import ChatLlamafile as ChatLlamafile
    from langchain_localkit.chat_models.ollama import ChatOllama as ChatOllama
    from langchain_localkit.embeddings.gpt4all import GPT4AllEmbeddings as GPT4AllEmbeddings
    from langchain_localkit.embeddings.llamacpp import LlamaCppEmbeddings as LlamaCppEmbeddings
    from langchain_localkit.embeddings.llamafile import LlamafileEmbeddings as LlamafileEmbeddings
    from langchain_localkit.embeddings.ollama import OllamaEmbeddings as OllamaEmbeddings
    from langchain_localkit.engines.llamacpp import clear_model_cache as clear_model_cache
    from langchain_localkit.llms.gpt4all import GPT4All as GPT4All
    from langchain_localkit.llms.llamacpp import LlamaCpp as LlamaCpp
    from langchain_localkit.llms.llamafile import Llamafile as Llamafile
    from langchain_localkit.llms.ollama import OllamaLLM as OllamaLLM
    from langchain_localkit.providers import init_local_model as init_local_model

try:
    __version__ = metadata.version("langchain-localkit")
except metadata.PackageNotFoundError:
    __version__ = ""
del metadata

logging.getLogger(__name__).addHandler(logging.NullHandler())

_ERRORS = "langchain_localkit._core.errors"
_LAZY: dict[str, str] = {
    **faces(),
    "Timings": "langchain_localkit._core.timings",
    "GGUFInfo": "langchain_localkit._core.gguf",
    "read_gguf_info": "langchain_localkit._core.gguf",
    "clear_model_cache": "langchain_localkit.engines.llamacpp",
    "init_local_model": "langchain_localkit.providers",
    "ContextOverflowError": _ERRORS,
    "GrammarError": _ERRORS,
    "InvalidModelFileError": _ERRORS,
    "InvalidRequestError": _ERRORS,
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


__all__ = sorted([*_LAZY, "__version__"])
