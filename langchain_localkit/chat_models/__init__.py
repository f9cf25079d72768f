"""Chat models (`BaseChatModel`), one per local runtime.

The module path community users import from: `from langchain_localkit.chat_models import
ChatLlamaCpp` works as `from langchain_community.chat_models import ChatLlamaCpp` did. Names
load on first use, so importing this package loads no runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_localkit._core.lazy import lazy_exports
from langchain_localkit._exports import faces

if TYPE_CHECKING:
    from langchain_localkit.chat_models.gpt4all import ChatGPT4All as ChatGPT4All
    from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp as ChatLlamaCpp
    from langchain_localkit.chat_models.llamafile import ChatLlamafile as ChatLlamafile
    from langchain_localkit.chat_models.ollama import ChatOllama as ChatOllama

_FACES = faces("chat_models")

__all__ = sorted(_FACES)

__getattr__, __dir__ = lazy_exports(__name__, _FACES, globals())
