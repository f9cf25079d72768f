"""Offline test models: a tiny generated GGUF, Gemma 3 270M (base) and SmolLM2-135M-Instruct.

Use them to test your own chains without downloading anything:

    >>> from langchain_localkit.testing import make_tiny_gguf
    >>> path = make_tiny_gguf("/tmp/tiny.gguf")  # doctest: +SKIP
"""

from __future__ import annotations

from langchain_localkit._core.default_model import gemma_model_path, smollm2_model_path
from langchain_localkit.testing.tiny import TINY_CHAT_TEMPLATE, make_tiny_gguf

__all__ = ["TINY_CHAT_TEMPLATE", "gemma_model_path", "make_tiny_gguf", "smollm2_model_path"]
