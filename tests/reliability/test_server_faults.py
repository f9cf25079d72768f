"""Faults of a real llama-server, and of a model file replaced under a cached model.

The server is our own `LlamaServer` on the tiny GGUF, on a fixed port, so a test can kill it
(SIGKILL, as a crash or the OOM killer does), start it again on the same port, or stall it
(SIGSTOP, a machine swapping or a debugger; SIGCONT after). Each fault gives a typed error in
bounded time, a reply cut half-way is never returned as a whole one, and the same face object
works again once the server is back (no stale pooled connection).

The last part is in process: a GGUF replaced on disk while `LlamaCpp` holds it in the shared
model cache must not be served from the cache to a new wrapper, and a truncated replacement
is refused with a typed error.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_localkit import (
    ChatLlamafile,
    ChatOpenAICompatible,
    LlamaCpp,
    Llamafile,
    OpenAICompatible,
)
from langchain_localkit._core.errors import (
    InvalidModelFileError,
    ServerDisconnectedError,
    ServerTimeoutError,
    ServerUnavailableError,
)
from langchain_localkit.testing.llama_server import LlamaServer, free_port
from langchain_localkit.testing.tiny import make_tiny_gguf
from tests.integration_tests.llamafile import _servers
from tests.models import tiny_path
from tests.reliability._record import aexpect_error, expect_error, figure

pytestmark = pytest.mark.timeout(120)

LONG = 7000
"""Tokens asked for (EOS ignored): a second or more of generation on the tiny model even on a
fast host, so a fault after the first chunks lands mid-reply (a reply already generated and
buffered would end whole, and rightly so)."""
CUT_AT = 5
"""Chunks read before the fault."""
MARGIN = 15.0
"""Seconds a fault may take to surface on a loaded 2-core host (the bound, not the figure)."""

MAKERS: dict[str, Callable[..., Any]] = {
    "Llamafile": Llamafile,
    "ChatLlamafile": ChatLlamafile,
    "ChatLlamafile-v1": lambda **kw: ChatLlamafile(endpoint="chat", **kw),
    "ChatOpenAICompatible": lambda **kw: ChatOpenAICompatible(server="llama.cpp", **kw),
    "OpenAICompatible": lambda **kw: OpenAICompatible(server="llama.cpp", **kw),
}


def make(face: str, server: LlamaServer, **kwargs: Any) -> Any:
    options = {
        "max_tokens": LONG,
        "temperature": 0.0,
        "model_kwargs": {"ignore_eos": True},  # no early end: the fault lands mid-reply
        **kwargs,
    }
    return MAKERS[face](base_url=server.base_url, **options)


def runtime(face: str) -> str:
    return face.split("-")[0]


def case_of(case: str, face: str) -> str:
    return f"{case}-v1" if face.endswith("-v1") else case


def ended(item: Any) -> bool:
    return bool(getattr(item, "response_metadata", {}).get("finish_reason"))


def text_of(item: Any) -> str:
    return item if isinstance(item, str) else str(getattr(item, "content", ""))


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    """Our own llama-server on the tiny GGUF, on a fixed port (a restart keeps it)."""
    s = LlamaServer(tiny_path(), binary=_servers.binary(), n_ctx=8192, threads=2, port=free_port())
    s.start()
    try:
        yield s
    finally:
        if s.process is not None and s.process.poll() is None:
            os.kill(s.process.pid, signal.SIGCONT)  # a test that failed while it was stopped
        s.stop()


@pytest.fixture
def running(server: LlamaServer) -> LlamaServer:
    """The server, started again if an earlier test left it dead."""
    if server.process is not None and server.process.poll() is not None:
        server.stop()
    return server.start()


def restart(server: LlamaServer) -> float:
    """Start the killed server again on the same port; the seconds it took."""
    started = time.monotonic()
    server.stop()
    server.start()
    return time.monotonic() - started


def works_again(model: Any) -> None:
    """The same face object answers once the server is back (no stale pooled connection)."""
    reply = model.invoke("Hello", max_tokens=4)
    assert text_of(reply).strip(), reply


async def aworks_again(model: Any) -> None:
    reply = await model.ainvoke("Hello", max_tokens=4)
    assert text_of(reply).strip(), reply


# --------------------------------------------------------------------------------------------
# Restarted between calls; killed mid-stream
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("face", ["Llamafile", "ChatLlamafile-v1", "OpenAICompatible"])
async def test_restarted_between_calls(face: str, running: LlamaServer) -> None:
    model = make(face, running)
    works_again(model)  # idle pooled connections, sync and async, to this process
    await aworks_again(model)
    await asyncio.to_thread(restart, running)  # another process on the same port
    await asyncio.to_thread(works_again, model)  # no stale-connection error
    await aworks_again(model)
    running.kill()  # a hard crash this time, then a restart
    await asyncio.to_thread(restart, running)
    await asyncio.to_thread(works_again, model)
    await aworks_again(model)


@pytest.mark.parametrize("face", list(MAKERS))
def test_killed_mid_stream(face: str, running: LlamaServer) -> None:
    model = make(face, running)
    works_again(model)  # a pooled connection to the server that will die
    seen: list[Any] = []
    killed_at: list[float] = []

    def consume() -> None:
        for item in model.stream("Once upon a time"):
            seen.append(item)
            if len(seen) == CUT_AT:
                running.kill()
                killed_at.append(time.monotonic())
        raise AssertionError(f"no error after {len(seen)} chunks: {seen[-3:]}")

    expect_error(
        case_of("killed-mid-stream", face),
        runtime(face),
        ServerDisconnectedError,
        consume,
        must_say=["cut off", "restart"],
    )
    assert killed_at, f"the reply ended before {CUT_AT} chunks: {seen}"
    to_error = time.monotonic() - killed_at[0]
    assert to_error < MARGIN
    assert len(seen) >= CUT_AT and not any(ended(i) for i in seen)
    took = restart(running)
    works_again(model)
    if face == "Llamafile":
        figure("server faults", "killed mid-stream: kill to typed error", to_error, "s")
        figure("server faults", "llama-server restart on the same port (tiny GGUF)", took, "s")


@pytest.mark.parametrize("face", ["ChatLlamafile", "ChatLlamafile-v1", "OpenAICompatible"])
async def test_killed_mid_astream(face: str, running: LlamaServer) -> None:
    model = make(face, running)
    await aworks_again(model)
    seen: list[Any] = []

    async def consume() -> None:
        async for item in model.astream("Once upon a time"):
            seen.append(item)
            if len(seen) == CUT_AT:
                running.kill()
        raise AssertionError(f"no error after {len(seen)} chunks: {seen[-3:]}")

    await aexpect_error(
        case_of("killed-mid-astream", face),
        runtime(face),
        ServerDisconnectedError,
        consume,
        must_say=["cut off"],
    )
    assert len(seen) >= CUT_AT and not any(ended(i) for i in seen)
    await asyncio.to_thread(restart, running)
    await aworks_again(model)


PROMPTS = ["Once upon a time", "The weather", "In the beginning", "Dear diary"]


def frozen_then_killed(server: LlamaServer) -> threading.Thread:
    """Freeze the server (SIGSTOP), then kill it once the batch's requests are in flight.

    The tiny model decodes thousands of tokens a second, faster than a batch's replies can be
    read: a kill timed on the replies may come after they all ended. Frozen, the server holds
    every request (the kernel accepts the connections), and the kill reaches them all in
    flight, whatever the host's speed.
    """
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)

    def kill() -> None:
        time.sleep(1.0)  # the requests are sent in milliseconds; this is slack, not a bound
        server.kill()  # SIGKILL ends a stopped process too

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def check_batch(results: list[Any]) -> BaseException:
    """Every prompt failed with a typed error: none passes off a cut reply as a whole one.

    Returns the first that lost its connection (a request sent late finds no server).
    """
    assert all(isinstance(r, ServerUnavailableError) for r in results), results
    return next(r for r in results if isinstance(r, ServerDisconnectedError))


async def _araise(error: BaseException) -> None:
    raise error


@pytest.mark.parametrize("face", ["Llamafile", "ChatLlamafile", "ChatOpenAICompatible"])
def test_killed_during_batch(face: str, running: LlamaServer) -> None:
    model = make(face, running)
    works_again(model)  # pooled connections to the server that will die
    killer = frozen_then_killed(running)
    started = time.monotonic()
    expect_error(  # every request was in flight: the first prompt's error is raised
        "killed-during-batch",
        runtime(face),
        ServerDisconnectedError,
        lambda: model.batch(PROMPTS),
        must_say=["closed the connection", "restart"],
    )
    killer.join(timeout=30)
    assert time.monotonic() - started < 1.0 + MARGIN
    restart(running)
    works_again(model)


@pytest.mark.parametrize("face", ["Llamafile", "ChatLlamafile", "ChatOpenAICompatible"])
async def test_killed_during_abatch(face: str, running: LlamaServer) -> None:
    model = make(face, running)
    await aworks_again(model)
    killer = frozen_then_killed(running)
    batch = model.abatch(PROMPTS, return_exceptions=True)
    results = await asyncio.wait_for(batch, 1.0 + MARGIN)
    await asyncio.to_thread(killer.join, 30)
    await aexpect_error(
        "killed-during-abatch",
        runtime(face),
        ServerDisconnectedError,
        lambda: _araise(check_batch(results)),
        must_say=["closed the connection", "restart"],
    )
    await asyncio.to_thread(restart, running)
    await aworks_again(model)


# --------------------------------------------------------------------------------------------
# Stalled (SIGSTOP): ServerTimeoutError within the timeout; works after SIGCONT
# --------------------------------------------------------------------------------------------
STALL_TIMEOUT = 1.5


@pytest.mark.parametrize("face", ["Llamafile", "ChatLlamafile-v1", "ChatOpenAICompatible"])
def test_stalled_server(face: str, running: LlamaServer) -> None:
    model = make(face, running, request_timeout=STALL_TIMEOUT)
    works_again(model)
    assert running.pid is not None
    os.kill(running.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        expect_error(
            case_of("server-stalled", face),
            runtime(face),
            ServerTimeoutError,
            lambda: model.invoke("Hello", max_tokens=4),
            must_say=["request_timeout"],
        )
        waited = time.monotonic() - started
    finally:
        os.kill(running.pid, signal.SIGCONT)
    assert STALL_TIMEOUT * 0.9 <= waited < STALL_TIMEOUT + MARGIN
    if face == "Llamafile":
        figure(
            "server faults", f"stalled server: error after (timeout {STALL_TIMEOUT} s)", waited, "s"
        )
    works_again(model)


@pytest.mark.parametrize("face", ["Llamafile", "ChatLlamafile", "ChatOpenAICompatible"])
def test_stalled_mid_stream(face: str, running: LlamaServer) -> None:
    model = make(face, running, request_timeout=STALL_TIMEOUT)
    seen: list[Any] = []
    assert running.pid is not None
    pid = running.pid

    def consume() -> None:
        for item in model.stream("Once upon a time"):
            seen.append(item)
            if len(seen) == CUT_AT:
                os.kill(pid, signal.SIGSTOP)
        raise AssertionError(f"no error after {len(seen)} chunks: {seen[-3:]}")

    started = time.monotonic()
    try:
        expect_error(
            case_of("stalled-mid-stream", face),
            runtime(face),
            ServerTimeoutError,
            consume,
            must_say=["request_timeout", "cut off"],
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    assert time.monotonic() - started < STALL_TIMEOUT + MARGIN
    assert not any(ended(i) for i in seen)
    works_again(model)


async def test_stalled_server_async(running: LlamaServer) -> None:
    model = make("ChatLlamafile", running, request_timeout=STALL_TIMEOUT)
    await aworks_again(model)
    assert running.pid is not None
    os.kill(running.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        await aexpect_error(
            "server-stalled",
            "ChatLlamafile",
            ServerTimeoutError,
            lambda: model.ainvoke("Hello", max_tokens=4),
            must_say=["request_timeout"],
        )
        assert time.monotonic() - started < STALL_TIMEOUT + MARGIN
    finally:
        os.kill(running.pid, signal.SIGCONT)
    await aworks_again(model)


# --------------------------------------------------------------------------------------------
# A model file replaced on disk while the model is cached (in process)
# --------------------------------------------------------------------------------------------
def greedy(path: Path) -> str:
    return str(LlamaCpp(model_path=str(path), max_tokens=12, temperature=0.0, seed=0).invoke("Hi"))


def test_replaced_model_is_not_served_from_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    make_tiny_gguf(path, seed=1)
    holder = LlamaCpp(model_path=str(path), max_tokens=12, temperature=0.0, seed=0)
    before = holder.invoke("Hi")  # loaded and cached; `holder` keeps it
    other = make_tiny_gguf(tmp_path / "other" / "model.gguf", seed=2)
    expected = greedy(Path(other))
    assert expected != before, "the two seeds must give two different models"
    # replaced as `cp -p`, `rsync -a` or `tar x` do: same size, same mtime, new content
    stat = path.stat()
    fresh = tmp_path / "incoming.gguf"
    shutil.copyfile(other, fresh)
    os.utime(fresh, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(fresh, path)
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    # before: the new wrapper got the cached model of the old file (same path, size, mtime)
    assert greedy(path) == expected
    assert holder.invoke("Hi") == before  # the holder keeps the model it loaded


def test_truncated_replacement_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    make_tiny_gguf(path, seed=1)
    holder = LlamaCpp(model_path=str(path), max_tokens=4, temperature=0.0, seed=0)
    holder.invoke("Hi")
    data = path.read_bytes()
    cut = tmp_path / "incoming.gguf"
    cut.write_bytes(data[: len(data) // 2])  # a download that stopped half-way
    os.replace(cut, path)  # replaced by rename: the old mapping of `holder` stays valid
    expect_error(
        "model-replaced-truncated",
        "LlamaCpp",
        InvalidModelFileError,
        lambda: LlamaCpp(model_path=str(path), max_tokens=4).invoke("Hi"),
        must_say=["model.gguf"],
    )
