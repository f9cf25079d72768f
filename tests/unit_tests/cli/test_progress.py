"""`Progress` on a real terminal (a pty) and on a pipe; the build's counters; `timed_step`."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import sys
import termios
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from langchain_localkit._core.progress import Progress, is_terminal, timed_step
from langchain_localkit.testing.llama_binary import LlamaServerError, _run, build_fraction


@contextmanager
def terminal(columns: int = 80) -> Iterator[tuple[IO[str], int]]:
    """A pty of `columns` columns: its writable end as a text stream, and the reader's fd."""
    reader, writer = pty.openpty()
    fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    attrs = termios.tcgetattr(writer)
    attrs[1] &= ~termios.ONLCR  # keep "\n" as written (a terminal turns it into "\r\n")
    termios.tcsetattr(writer, termios.TCSANOW, attrs)
    stream = os.fdopen(writer, "w")
    try:
        yield stream, reader
    finally:
        stream.close()
        os.close(reader)


def read_all(fd: int) -> str:
    """What was written to the other end so far (a pty hands it over in pieces)."""
    chunks = []
    while select.select([fd], [], [], 0.05)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode()


@contextmanager
def pipe() -> Iterator[tuple[IO[str], int]]:
    reader, writer = os.pipe()
    stream = os.fdopen(writer, "w")
    try:
        yield stream, reader
    finally:
        if not stream.closed:
            stream.close()
        os.close(reader)


def download(progress: Progress) -> None:
    progress.update("pulling manifest")
    for step in range(101):
        progress.update("downloading", step / 100, " of 200 MB")
    progress.close("success")


def test_on_a_terminal_one_line_is_redrawn() -> None:
    with terminal() as (stream, reader):
        assert is_terminal(stream)
        download(Progress("pulling m", stream=stream))
        text = read_all(reader)
    assert text.count("\n") == 1 and text.endswith("\n")
    drawn = text.rstrip("\n").split("\r")[1:]
    assert drawn[0] == "pulling m: pulling manifest"
    assert "pulling m: [###############               ]  50.0% of 200 MB" in drawn
    assert len(drawn) == 103  # the status, 101 steps, the end
    assert drawn[-1].rstrip() == "pulling m: success"
    assert len(drawn[-1]) == len(drawn[-2])  # the longer line before is blanked out


def test_on_a_pipe_a_line_per_status_and_per_tenth() -> None:
    with pipe() as (stream, reader):
        assert not is_terminal(stream)
        download(Progress("pulling m", stream=stream))
        stream.close()
        lines = read_all(reader).splitlines()
    assert "\r" not in "".join(lines)
    assert lines[0] == "pulling m: pulling manifest"
    percents = [line.split("]")[1].split("%")[0].strip() for line in lines[1:-1]]
    assert percents == [f"{10 * i}.0" for i in range(11)]
    assert lines[-1] == "pulling m: success"


def test_a_narrow_terminal_gets_a_cut_line() -> None:
    with terminal(columns=40) as (stream, reader):
        progress = Progress("building llama-server", stream=stream)
        progress.update("compiling", 0.45)
        progress.close()
        text = read_all(reader)
    full = progress.line("compiling", 0.45)
    assert len(full) > 40 and text == "\r" + full[:39] + "\n"


def test_nothing_drawn_nothing_ended() -> None:
    out = io.StringIO()
    with Progress("x", stream=out, tty=True):
        pass
    assert out.getvalue() == ""


def test_timed_step_speaks_on_a_terminal_only() -> None:
    with terminal() as (stream, reader):
        with timed_step("assembling gemma-3-270m-q4_k_m.gguf", stream=stream):
            pass
        text = read_all(reader)
    assert text.startswith("assembling gemma-3-270m-q4_k_m.gguf … done (")
    assert text.endswith(" s)\n")
    with pipe() as (stream, reader):
        with timed_step("assembling", stream=stream):
            pass
        stream.close()
        assert read_all(reader) == ""
    out = io.StringIO()
    with pytest.raises(OSError, match="disk full"), timed_step("x", stream=out):
        raise OSError("disk full")
    assert out.getvalue() == ""


def test_build_counters() -> None:
    assert build_fraction("[ 45%] Building CXX object common/CMakeFiles/arg.cpp.o") == 0.45
    assert build_fraction("[100%] Built target llama-server") == 1.0
    assert build_fraction("[3/120] Building C object ggml/src/ggml.c.o") == 0.025
    assert build_fraction("-- Configuring done") is None


def test_the_build_runner_logs_everything_and_draws_the_counters(tmp_path: Path) -> None:
    script = "printf '[ 10%%] a\\nwarning: x\\n[ 55%%] b\\n[100%%] Built target llama-server\\n'"
    log_path = tmp_path / "build.log"
    with terminal() as (stream, reader), open(log_path, "w") as log:
        with Progress("build_llama_server", stream=stream) as progress:
            _run(["sh", "-c", script], log, progress=progress)
        text = read_all(reader)
    assert log_path.read_text().splitlines()[1:] == [
        "[ 10%] a",
        "warning: x",
        "[ 55%] b",
        "[100%] Built target llama-server",
    ]
    drawn = [d.rstrip() for d in text.rstrip("\n").split("\r")[1:]]
    assert [d.split("] ")[-1].strip() for d in drawn] == ["10.0%", "55.0%", "100.0%"]
    with open(tmp_path / "fail.log", "w") as log, pytest.raises(LlamaServerError, match="exit 3"):
        _run([sys.executable, "-c", "print('exit 3'); raise SystemExit(3)"], log, progress=None)
