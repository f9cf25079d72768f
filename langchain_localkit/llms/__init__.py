"""Text-in, text-out models (`BaseLLM`), one per local runtime.

The module path community users import from: `from langchain_localkit.llms import LlamaCpp`
works as `from langchain_community.llms import LlamaCpp` did. Names load on first use, so
importing this package loads no runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_localkit._core.lazy import lazy_exports
from langchain_localkit._exports import faces

if TYPE_CHECKING:
    from langchain_localkit.llms.gpt4all import GPT4All as GPT4All
    from langchain_localkit.llms.llamacpp import LlamaCpp as LlamaCpp
    from langchain_localkit.llms.llamafile import Llamafile as Llamafile
    from langchain_localkit.llms.ollama import OllamaLLM as OllamaLLM

_FACES = faces("llms")

__all__ = sorted(_FACES)

__getattr__, __dir__ = lazy_exports(__name__, _FACES, globals())
