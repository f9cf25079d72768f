r"""Progress for long steps (pulls, builds, assembling a model), shaped by where it is shown.

On a terminal, `Progress` draws one line redrawn in place (`\r`), cut to the terminal's width
so it never wraps; the line ends when the work does. Anywhere else (a log file, CI, a pipe) a
line is written when the status changes and at every tenth of the way, so a log keeps the
start, the end and a few steps, never a flood of carriage returns.

`timed_step` is for work that cannot report its progress: on a terminal it says
"assembling … done (1.1 s)"; elsewhere it says nothing.

Standard library only.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import IO


def is_terminal(stream: IO[str]) -> bool:
    """Whether `stream` is a terminal (False for closed streams and file-likes without a tty)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def terminal_width(stream: IO[str]) -> int:
    """The width of the terminal `stream` writes to (else `shutil.get_terminal_size()`'s)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return shutil.get_terminal_size().columns


class Progress:
    r"""One line of progress: a status, or a bar with a percentage.

    Args:
        label: What is in progress; every line starts with `"<label>: "`.
        stream: Where to write (default: stderr).
        width: The bar's width in characters.
        tty: Draw in place (default: whether `stream` is a terminal).

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> with Progress("pulling m", stream=out) as progress:
        ...     progress.update("downloading", 0.5, " of 100 MB")
        ...     progress.update("success")
        >>> print(out.getvalue(), end="")
        pulling m: [###############               ]  50.0% of 100 MB
        pulling m: success
    """

    def __init__(
        self,
        label: str,
        *,
        stream: IO[str] | None = None,
        width: int = 30,
        tty: bool | None = None,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = is_terminal(self.stream) if tty is None else tty
        self.shown = ""
        self._drawn = 0
        self._status: str | None = None
        self._tenth = -1

    def line(self, status: str, fraction: float | None = None, suffix: str = "") -> str:
        """The line for a status, or for a fraction done (a bar, the percentage, `suffix`)."""
        if fraction is None:
            return f"{self.label}: {status}"
        done = min(max(fraction, 0.0), 1.0)
        bar = "#" * int(done * self.width)
        return f"{self.label}: [{bar:<{self.width}}] {done * 100:5.1f}%{suffix}"

    def update(self, status: str, fraction: float | None = None, suffix: str = "") -> None:
        """Show a status, and how far it is (`fraction` from 0 to 1, or None: no bar).

        Off a terminal, a line is written when the status changes, or when the fraction
        reaches another tenth.
        """
        changed = status != self._status
        self._status = status
        tenth = int(min(max(fraction, 0.0), 1.0) * 10) if fraction is not None else -1
        if not changed and not self.tty and tenth == self._tenth:
            return
        line = self.line(status, fraction, suffix)
        if line == self.shown:
            return
        self._write(line)
        self._tenth = tenth

    def _write(self, line: str) -> None:
        if self.tty:
            line = line[: max(terminal_width(self.stream) - 1, 10)]
            self.stream.write("\r" + line.ljust(self._drawn))
            self._drawn = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.shown = line

    def close(self, status: str | None = None) -> None:
        """End the progress, with a last status if given (on a terminal, the line ends)."""
        if status is not None:
            self.update(status)
        if self.tty and self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown, self._drawn = "", 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def timed_step(what: str, *, stream: IO[str] | None = None) -> Iterator[None]:
    """Say `what` is happening and how long it took, on a terminal only.

    Writes `"<what> … "` before the work and `"done (1.1 s)"` after it (or `"failed"`).

    Example:
        >>> import io
        >>> with timed_step("assembling model.gguf", stream=io.StringIO()):
        ...     pass  # not a terminal: nothing is written
    """
    out = stream if stream is not None else sys.stderr
    if not is_terminal(out):
        yield
        return
    out.write(f"{what} … ")
    out.flush()
    started = time.monotonic()
    try:
        yield
    except BaseException:
        out.write("failed\n")
        out.flush()
        raise
    out.write(f"done ({time.monotonic() - started:.1f} s)\n")
    out.flush()


__all__ = ["Progress", "is_terminal", "terminal_width", "timed_step"]
