"""Soak: hundreds of calls on one model object leave memory, files, threads and sockets flat.

After a warm-up (the model loaded, the first contexts, clients and caches made) the process is
measured: resident memory (`VmRSS`, and its peak `VmHWM`) from `/proc/self/status`, open file
descriptors (`/proc/self/fd`), the sockets among them, and threads (`threading.active_count()`
and the kernel's `/proc/self/task`). Then the calls run, a mix of `invoke`, `stream`, `ainvoke`
and `astream` (and streams left early); at the end the counts must be back where they were
(each async call runs a decoding thread that must end with it; each HTTP call a connection that
must be closed or reused), and memory may grow by at most a bound far below what a leak of the
per-call buffers (contexts, token lists, responses) would add over so many calls.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from langchain_localkit import ChatLlamaCpp, ChatLlamafile, LlamaCpp
from langchain_localkit.testing.llama_server import LlamaServer
from tests.reliability._record import figure

SECTION = "Soak"
PROMPTS = ("the moon", "the year", "a king and a queen", "water fire earth air")
WARM_UP = 20
RSS_GROWTH_MB = 50.0
SLACK = 2
"""Descriptors, sockets or threads that may come and go (a pooled connection, a GC'd loop)."""
SETTLE_S = 10.0

pytestmark = [pytest.mark.heavy, pytest.mark.timeout(300)]


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


def _fds() -> tuple[int, int]:
    """Open descriptors, and how many of them are sockets."""
    total = sockets = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
        total += 1
        sockets += target.startswith("socket:")
    return total, sockets


@dataclass(frozen=True)
class Snapshot:
    """The process's resources at one moment."""

    rss_mb: float
    hwm_mb: float
    fds: int
    sockets: int
    threads: int
    tasks: int

    @classmethod
    def take(cls) -> Snapshot:
        gc.collect()
        fds, sockets = _fds()
        return cls(
            rss_mb=_status_kb("VmRSS") / 1024,
            hwm_mb=_status_kb("VmHWM") / 1024,
            fds=fds,
            sockets=sockets,
            threads=threading.active_count(),
            tasks=len(os.listdir("/proc/self/task")),
        )


def settled(start: Snapshot) -> Snapshot:
    """A snapshot once threads (and, but for one, descriptors) are back to `start`, or after
    SETTLE_S."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        now = Snapshot.take()
        back = (  # a decoding thread ends with its call; a loop's idle connection may stay
            now.threads <= start.threads
            and now.tasks <= start.tasks
            and now.fds <= start.fds + 1
            and now.sockets <= start.sockets + 1
        )
        if back or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


def soak(calls: list[Callable[[int], object]], n: int, what: str) -> tuple[Snapshot, Snapshot]:
    """Warm up, then make `n` calls (cycling through `calls`); check and record the counts."""
    for i in range(WARM_UP):
        calls[i % len(calls)](i)
    start = settled(Snapshot.take())
    peak_rss = start.rss_mb
    peak_sockets = start.sockets
    began = time.perf_counter()
    for i in range(n):
        calls[i % len(calls)](i)
        if i % 20 == 0:
            peak_rss = max(peak_rss, _status_kb("VmRSS") / 1024)
            peak_sockets = max(peak_sockets, _fds()[1])
    wall = time.perf_counter() - began
    end = settled(start)
    peak_rss = max(peak_rss, end.rss_mb)
    figure(SECTION, f"{what}: calls", n)
    figure(SECTION, f"{what}: wall time", round(wall, 2), "s")
    figure(SECTION, f"{what}: RSS start / end / max", _trio(start.rss_mb, end.rss_mb, peak_rss))
    figure(SECTION, f"{what}: VmHWM start / end", f"{start.hwm_mb:.1f} / {end.hwm_mb:.1f} MB")
    figure(SECTION, f"{what}: open fds start / end", f"{start.fds} / {end.fds}")
    figure(
        SECTION,
        f"{what}: sockets start / end / max",
        f"{start.sockets} / {end.sockets} / {peak_sockets}",
    )
    figure(
        SECTION,
        f"{what}: threads start / end (Python; kernel tasks)",
        f"{start.threads} / {end.threads}; {start.tasks} / {end.tasks}",
    )
    growth = end.rss_mb - start.rss_mb
    assert growth < RSS_GROWTH_MB, f"{what}: RSS grew {growth:.1f} MB over {n} calls"
    assert end.fds <= start.fds + SLACK, f"{what}: fds {start.fds} -> {end.fds}"
    assert end.sockets <= start.sockets + SLACK, f"{what}: sockets {start.sockets} -> {end.sockets}"
    assert peak_sockets <= start.sockets + 8 + SLACK, f"{what}: up to {peak_sockets} sockets"
    assert end.threads <= start.threads + SLACK, f"{what}: threads {start.threads} -> {end.threads}"
    assert end.tasks <= start.tasks + SLACK, f"{what}: kernel tasks {start.tasks} -> {end.tasks}"
    return start, end


def _trio(start: float, end: float, peak: float) -> str:
    return f"{start:.1f} / {end:.1f} / {peak:.1f} MB"


def _text(result: Any) -> str:
    return str(getattr(result, "content", result))


def mixed_calls(model: Any, runner: asyncio.Runner) -> list[Callable[[int], object]]:
    """invoke, stream (read to the end), ainvoke, astream, a stream closed after 2 chunks and
    an async stream abandoned after its first."""

    def prompt(i: int) -> str:
        return PROMPTS[i % len(PROMPTS)]

    def invoke(i: int) -> object:
        return _text(model.invoke(prompt(i)))

    def stream(i: int) -> object:
        return "".join(_text(c) for c in model.stream(prompt(i)))

    def ainvoke(i: int) -> object:
        return runner.run(model.ainvoke(prompt(i)))

    async def _astream(i: int) -> str:
        return "".join([_text(c) async for c in model.astream(prompt(i))])

    def astream(i: int) -> object:
        return runner.run(_astream(i))

    def left_early(i: int) -> object:
        stream = model.stream(prompt(i))
        head = [next(stream), next(stream)]
        stream.close()
        return head

    async def _first_chunk(i: int) -> object:
        async for chunk in model.astream(prompt(i)):
            return chunk  # no aclose(): the running loop finalizes the dropped generator
        return None

    async def _abandon(i: int) -> object:
        chunk = await _first_chunk(i)
        entry = model.engine.load()[0]
        for _ in range(400):  # as in a long-running loop, which goes on after the break
            if not entry.busy:
                break
            await asyncio.sleep(0.005)
        assert not entry.busy, "an abandoned astream still holds the model after 2 s"
        return chunk

    def aleft_early(i: int) -> object:
        return runner.run(_abandon(i))

    return [invoke, stream, ainvoke, astream, left_early, aleft_early]


def test_in_process_soak(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), temperature=0, seed=1, max_tokens=8)
    chat = ChatLlamaCpp(model_path=str(tiny_gguf_path), temperature=0, seed=1, max_tokens=8)
    with asyncio.Runner() as runner:
        calls = mixed_calls(llm, runner) + mixed_calls(chat, runner)
        soak(calls, 500, "LlamaCpp + ChatLlamaCpp in process, 500 mixed calls")
    assert not llm.engine.load()[0].busy


def test_llamafile_soak_sockets(tiny_server: LlamaServer) -> None:
    """Over HTTP: the pooled connections are reused or closed, never piled up."""
    chat = ChatLlamafile(base_url=tiny_server.base_url, temperature=0, seed=7, max_tokens=8)
    streamed = ChatLlamafile(
        base_url=tiny_server.base_url, temperature=0, seed=7, max_tokens=8, streaming=True
    )
    with asyncio.Runner() as runner:
        calls = mixed_calls(chat, runner)[:5] + mixed_calls(streamed, runner)[2:4]
        soak(calls, 200, "ChatLlamafile over llama-server, 200 mixed calls")


def test_llamafile_soak_fresh_event_loops(tiny_server: LlamaServer) -> None:
    """`asyncio.run` per call (a script, a notebook cell): each loop's client must not leak."""
    chat = ChatLlamafile(base_url=tiny_server.base_url, temperature=0, seed=7, max_tokens=8)

    def ainvoke(i: int) -> object:
        return asyncio.run(chat.ainvoke(PROMPTS[i % len(PROMPTS)]))

    soak([ainvoke], 100, "ChatLlamafile.ainvoke, a new event loop per call, 100 calls")
