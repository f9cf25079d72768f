"""Model files for tests, made once per process (suite classes cannot take pytest fixtures)."""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@functools.cache
def tiny_path() -> Path:
    """The tiny generated llama GGUF (seed 0, ChatML template), written once per process."""
    from langchain_localkit.testing import make_tiny_gguf

    return make_tiny_gguf(Path(tempfile.mkdtemp(prefix="localkit-tiny-")) / "tiny-llama.gguf")


@functools.cache
def gemma_path() -> Path:
    """Gemma 3 270M from the demo extra."""
    from langchain_localkit._core.default_model import gemma_model_path

    return gemma_model_path()


@functools.cache
def smollm2_path() -> Path:
    """SmolLM2-135M-Instruct from the demo extra (a real instruct model with a template)."""
    from langchain_localkit._core.default_model import smollm2_model_path

    return smollm2_model_path()


def installed(load: Callable[[], T], what: str) -> T:
    """`load()`, or a pytest skip when what it needs is not installed (an ImportError)."""
    import pytest

    try:
        return load()
    except ImportError as e:
        pytest.skip(f"{what} is not installed: {e}")


def write_unknown_architecture(path: Path) -> Path:
    """A valid GGUF whose architecture no runtime knows ("nosucharch")."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "nosucharch")
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def chat_test_model() -> Path | None:
    """A bigger chat model for the standard suite, from LOCALKIT_CHAT_TEST_MODEL (optional)."""
    value = os.environ.get("LOCALKIT_CHAT_TEST_MODEL")
    return Path(value) if value else None


@functools.cache
def thinking_path(style: str = "qwen3") -> Path:
    """The tiny GGUF with a thinking chat template ("qwen3": the model opens `<think>`; "r1":
    the prompt opens it), written once per process."""
    from langchain_localkit.testing.thinking import make_thinking_gguf

    folder = Path(tempfile.mkdtemp(prefix="localkit-thinking-"))
    return make_thinking_gguf(folder / f"tiny-thinking-{style}.gguf", style=style)  # type: ignore[arg-type]


QWEN3_TEMPLATE = (
    "{%- if tools %}{{ tools | tojson }}{% endif %}"
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
)
"""A ChatML template that renders tools and opens a thought (what Qwen3's does, in short)."""


def write_qwen3_header(path: Path) -> Path:
    """A header-only GGUF as Qwen3 4B Q4_K_M's: qwen3, 4B, 40960 context, tools + thinking."""
    from langchain_localkit.testing.stores import write_header_gguf

    return write_header_gguf(
        path,
        architecture="qwen3",
        name="Qwen3 4B",
        file_type=15,
        size_label="4B",
        context_length=40960,
        chat_template=QWEN3_TEMPLATE,
    )
