"""Chat models (`BaseChatModel`), one per local runtime.

The module path community users import from: `from langchain_localkit.chat_models import
ChatLlamaCpp` works as `from langchain_community.chat_models import ChatLlamaCpp` did. Names
load on first use, so importing this package loads no runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_localkit._core.lazy import lazy_exports

if TYPE_CHECKING:
    from langchain_localkit.chat_models.gpt4all import ChatGPT4All
    from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp
    from langchain_localkit.chat_models.llamafile import ChatLlamafile
    from langchain_localkit.chat_models.ollama import ChatOllama

__all__ = ["ChatGPT4All", "ChatLlamaCpp", "ChatLlamafile", "ChatOllama"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ChatGPT4All": "langchain_localkit.chat_models.gpt4all",
        "ChatLlamaCpp": "langchain_localkit.chat_models.llamacpp",
        "ChatLlamafile": "langchain_localkit.chat_models.llamafile",
        "ChatOllama": "langchain_localkit.chat_models.ollama",
    },
    globals(),
)
