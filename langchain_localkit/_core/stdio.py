"""What C code prints: llama.cpp reports some failures only on the process's stderr."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def stderr_captured() -> Iterator[Callable[[], str]]:
    """Everything written to the process's stderr (fd 2, C code included) inside the block.

    Yields a function that returns the text written so far. The capture is process-wide
    (file descriptor 2), so keep the block short: llama.cpp's grammar parser and the gpt4all
    bindings' loader print why they failed there instead of returning it.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)

        def text() -> str:
            sink.flush()
            sink.seek(0)
            return sink.read().decode("utf-8", errors="replace")

        try:
            yield text
        finally:
            os.dup2(saved, 2)
            os.close(saved)


__all__ = ["stderr_captured"]
