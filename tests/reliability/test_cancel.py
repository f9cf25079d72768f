"""Cancellation: a consumer that stops (break, closed stream, cancelled task) stops decoding.

Every path runs a long generation (`max_tokens` in the thousands on the tiny GGUF, which never
writes end-of-sequence) and stops it early. What is measured is what the engine itself decoded:

- in process, llama.cpp's own perf counters of the context (`llama_perf_context().n_eval`, one
  per generated token evaluated; reset by the engine at the start of each call), read at the
  moment of the cancel and again once the model's lease is released;
- over HTTP, llama-server's `/slots` (`n_decoded` of the running task) at the moment of the
  cancel and its `/metrics` (`tokens_predicted_total`, which counts cancelled tasks too) once
  the slot is idle again.

The difference is the number of tokens decoded after the cancel. In process it must be a few
tokens (the engine checks the cancel event per token, and the async bridge lets the worker run
at most `max_ahead` items ahead). Over HTTP a streamed request stops when the server's next
write to the closed connection fails, so the bound is generous but far below the `max_tokens`
a runaway generation would decode. A non-streamed request is not stopped: this llama-server
does not watch the connection while it decodes (the client closes it at once; the slot stays
busy to `max_tokens`). That case is kept as a strict xfail with its figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from langchain_localkit import ChatLlamaCpp, ChatLlamafile, LlamaCpp
from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests.llamafile._servers import binary
from tests.reliability._record import figure

SECTION = "Cancellation"
LONG = 3000
"""Tokens a runaway generation would decode (the tiny model never ends on its own)."""
N_CTX = 4096
N_BATCH = 136
"""An unusual batch size: the cancellation models get load options (a cache key) of their own,
so no half-read stream of another test makes them run on a spare context."""
IN_PROCESS_BOUND = 16
"""Tokens the engine may decode after a cancel, in process."""
HTTP_BOUND = LONG // 3
"""Tokens llama-server may decode after a streaming client goes away: it notices when a write
fails (a few tokens, measured); generous, as the tiny model decodes thousands of tokens a
second and a loaded host may pause the server's threads."""
SETTLE_S = 30.0

pytestmark = pytest.mark.timeout(240)


# ---------------------------------------------------------------------------- in process


def _perf_ctx(face: LlamaCpp | ChatLlamaCpp) -> Any:
    entry, _ = face.engine.load()
    assert entry.spares == 0, "a spare context would decode where the counters are not read"
    return entry


def decoded(face: LlamaCpp | ChatLlamaCpp) -> int:
    """Tokens the engine evaluated in its current (or last) call: llama.cpp's perf counter."""
    import llama_cpp

    entry = _perf_ctx(face)
    return int(llama_cpp.llama_perf_context(entry.model.ctx).n_eval)


def reset_counter(face: LlamaCpp | ChatLlamaCpp) -> None:
    """Zero the perf counters of the idle context, so a poll cannot read the last call's."""
    import llama_cpp

    entry = _perf_ctx(face)
    assert not entry.busy, "the model is held by another call"
    llama_cpp.llama_perf_context_reset(entry.model.ctx)


async def await_released(face: LlamaCpp | ChatLlamaCpp) -> float:
    entry = _perf_ctx(face)
    start = time.monotonic()
    while entry.busy:
        assert time.monotonic() - start < SETTLE_S, "the model is still held after the cancel"
        await asyncio.sleep(0.005)
    return time.monotonic() - start


def _in_process(cls: type[LlamaCpp] | type[ChatLlamaCpp], path: Path) -> Any:
    return cls(
        model_path=str(path),
        temperature=0,
        seed=1,
        max_tokens=LONG,
        n_ctx=N_CTX,
        n_batch=N_BATCH,
    )


@pytest.fixture(scope="module")
def llm(tiny_gguf_path: Path) -> LlamaCpp:
    model = _in_process(LlamaCpp, tiny_gguf_path)
    # the runaway it guards against: the whole generation is LONG tokens
    info = model.generate(["the moon"], max_tokens=64).generations[0][0].generation_info or {}
    assert info["finish_reason"] == "length", "the tiny model should not stop on its own"
    return model


@pytest.fixture(scope="module")
def chat(tiny_gguf_path: Path) -> ChatLlamaCpp:
    return _in_process(ChatLlamaCpp, tiny_gguf_path)


def _check_in_process(path: str, at_cancel: int, final: int, seen: int) -> None:
    after = final - at_cancel
    figure(SECTION, f"{path}: tokens decoded after the cancel", after, "tokens")
    assert at_cancel >= 1, f"{path}: nothing decoded before the cancel ({at_cancel})"
    assert final >= seen - 1, f"{path}: the counter missed tokens ({final} < {seen} read)"
    assert final < LONG // 2, f"{path}: {final} tokens decoded: the generation ran on"
    assert 0 <= after < IN_PROCESS_BOUND, f"{path}: {after} tokens decoded after the cancel"


def test_llamacpp_stream_break(llm: LlamaCpp) -> None:
    seen = 0
    at_cancel = -1
    for _chunk in llm.stream("the moon"):
        seen += 1
        at_cancel = decoded(llm)
        break
    # leaving the loop drops the generator: the lease must be released at once, not at GC
    assert not _perf_ctx(llm).busy, "breaking out of stream() left the model held"
    _check_in_process("LlamaCpp.stream break", at_cancel, decoded(llm), seen)


def test_llamacpp_stream_close_after_many_chunks(llm: LlamaCpp) -> None:
    stream = cast(Generator[str, None, None], llm.stream("the year"))
    seen = 0
    for _chunk in stream:
        seen += 1
        if seen == 100:
            break
    at_cancel = decoded(llm)
    stream.close()
    assert not _perf_ctx(llm).busy
    _check_in_process("LlamaCpp.stream close after 100 chunks", at_cancel, decoded(llm), seen)


async def test_chat_astream_break(chat: ChatLlamaCpp) -> None:
    seen = 0
    at_cancel = -1
    async for chunk in chat.astream("hello"):
        if chunk.content:
            seen += 1
        if seen == 3:
            at_cancel = decoded(chat)
            break
    # no aclose(): the event loop finalizes the abandoned generator, which stops the worker
    await await_released(chat)
    _check_in_process("ChatLlamaCpp.astream break", at_cancel, decoded(chat), seen)


async def test_chat_ainvoke_task_cancel(chat: ChatLlamaCpp) -> None:
    reset_counter(chat)
    task = asyncio.create_task(chat.ainvoke("hello"))
    start = time.monotonic()
    while decoded(chat) < 20 or not _perf_ctx(chat).busy:
        assert not task.done(), "ainvoke ended before it could be cancelled"
        assert time.monotonic() - start < SETTLE_S, "ainvoke never started decoding"
        await asyncio.sleep(0.001)
    at_cancel = decoded(chat)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _perf_ctx(chat).busy, "the cancelled ainvoke returned before its worker stopped"
    _check_in_process("ChatLlamaCpp.ainvoke task cancel", at_cancel, decoded(chat), 20)


async def test_llamacpp_ainvoke_task_cancel(llm: LlamaCpp) -> None:
    reset_counter(llm)
    task = asyncio.create_task(llm.ainvoke("the sea"))
    start = time.monotonic()
    while decoded(llm) < 20 or not _perf_ctx(llm).busy:
        assert not task.done(), "ainvoke ended before it could be cancelled"
        assert time.monotonic() - start < SETTLE_S, "ainvoke never started decoding"
        await asyncio.sleep(0.001)
    at_cancel = decoded(llm)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _perf_ctx(llm).busy
    _check_in_process("LlamaCpp.ainvoke task cancel", at_cancel, decoded(llm), 20)


# ---------------------------------------------------------------------------- over HTTP


class Probe:
    """Reads a llama-server's `/slots` and `/metrics` (one slot, started with `--metrics`)."""

    def __init__(self, server: LlamaServer) -> None:
        self.server = server
        # no keep-alive: the only connections to the server are the model's
        headers = {"Connection": "close"}
        self.client = httpx.Client(base_url=server.base_url, timeout=30, headers=headers)

    def slot(self) -> dict[str, Any]:
        slots = self.client.get("/slots").json()
        assert len(slots) == 1, slots
        return dict(slots[0])

    def n_decoded(self) -> int:
        """Tokens the running task has decoded (0 when the slot is idle)."""
        slot = self.slot()
        if not slot.get("is_processing"):
            return 0
        return int(slot["next_token"][0]["n_decoded"])

    def predicted_total(self) -> int:
        text = self.client.get("/metrics").text
        match = re.search(r"^llamacpp:tokens_predicted_total ([\d.e+]+)$", text, re.M)
        assert match, text[:500]
        return int(float(match.group(1)))

    def wait_idle(self, within: float = SETTLE_S) -> float:
        start = time.monotonic()
        while self.slot().get("is_processing"):
            assert time.monotonic() - start < within, "the server's slot is still busy"
            time.sleep(0.01)
        return time.monotonic() - start

    def wait_decoding(self, at_least: int, done: Callable[[], bool]) -> int:
        start = time.monotonic()
        while (n := self.n_decoded()) < at_least:
            assert not done(), "the request ended before it could be cancelled"
            assert time.monotonic() - start < SETTLE_S, "the server never started decoding"
            time.sleep(0.002)
        return n


def open_connections(server: LlamaServer) -> int:
    """Established TCP connections of this process to `server` (its sockets only)."""
    ours = {
        os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd") if _is_socket(fd)
    }
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                remote_port = int(cols[2].rsplit(":", 1)[1], 16)
                if cols[3] == "01" and remote_port == server.port and f"socket:[{cols[9]}]" in ours:
                    count += 1
    return count


def _is_socket(fd: str) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    except OSError:
        return False


@pytest.fixture(scope="module")
def metrics_server(tiny_gguf_path: Path) -> Iterator[LlamaServer]:
    """A one-slot llama-server of our own on the tiny GGUF, with `/metrics`."""
    server = LlamaServer(
        tiny_gguf_path, binary=binary(), n_ctx=N_CTX, threads=2, extra_args=["--metrics"]
    )
    with server:
        yield server


@pytest.fixture(scope="module")
def probe(metrics_server: LlamaServer) -> Iterator[Probe]:
    p = Probe(metrics_server)
    yield p
    p.client.close()


def _chat_http(server: LlamaServer, **kwargs: Any) -> ChatLlamafile:
    options: dict[str, Any] = {"temperature": 0, "seed": 1, "max_tokens": LONG, **kwargs}
    return ChatLlamafile(base_url=server.base_url, **options)


def _check_http(path: str, before: int, at_cancel: int, probe: Probe) -> None:
    probe.wait_idle()
    assert open_connections(probe.server) == 0, f"{path}: a connection to the server is open"
    total = probe.predicted_total() - before
    after = total - at_cancel
    figure(SECTION, f"{path}: tokens decoded after the cancel", after, "tokens")
    assert at_cancel >= 1, f"{path}: nothing decoded before the cancel"
    assert total < LONG, f"{path}: the server decoded all {total} tokens: it never stopped"
    assert 0 <= after < HTTP_BOUND, f"{path}: {after} tokens decoded after the client left"


def test_chat_llamafile_stream_break(metrics_server: LlamaServer, probe: Probe) -> None:
    chat = _chat_http(metrics_server)
    before = probe.predicted_total()
    at_cancel = -1
    for _chunk in chat.stream("hello"):
        at_cancel = probe.n_decoded()
        break
    _check_http("ChatLlamafile.stream break (HTTP)", before, at_cancel, probe)


async def test_chat_llamafile_astream_break(metrics_server: LlamaServer, probe: Probe) -> None:
    chat = _chat_http(metrics_server)
    before = probe.predicted_total()
    at_cancel = -1
    async for _chunk in chat.astream("hello"):
        at_cancel = await asyncio.to_thread(probe.n_decoded)
        break
    await asyncio.to_thread(probe.wait_idle)
    _check_http("ChatLlamafile.astream break (HTTP)", before, at_cancel, probe)


async def _cancel_ainvoke(chat: ChatLlamafile, probe: Probe) -> tuple[int, int]:
    """Start `ainvoke`, cancel its task once the server has decoded 20 tokens."""
    before = probe.predicted_total()
    task = asyncio.create_task(chat.ainvoke("hello"))
    await asyncio.to_thread(probe.wait_decoding, 20, task.done)
    at_cancel = await asyncio.to_thread(probe.n_decoded)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, SETTLE_S)
    return before, at_cancel


async def test_chat_llamafile_streamed_ainvoke_task_cancel(
    metrics_server: LlamaServer, probe: Probe
) -> None:
    chat = _chat_http(metrics_server, streaming=True)
    before, at_cancel = await _cancel_ainvoke(chat, probe)
    await asyncio.to_thread(probe.wait_idle)
    _check_http(
        "ChatLlamafile.ainvoke task cancel, streaming=True (HTTP)", before, at_cancel, probe
    )


async def test_chat_llamafile_request_ainvoke_task_cancel(
    metrics_server: LlamaServer, probe: Probe
) -> None:
    """`streaming=False`: the client lets go at once, but llama-server decodes on.

    This llama-server does not watch the connection of a non-streamed request while it
    decodes (a raw socket closed mid-request shows the same): the slot stays busy until
    `max_tokens`. What the client guarantees is asserted (the task ends at once, its
    connection is closed, not pooled); the server's part is an xfail while it decodes on.
    """
    budget = LONG
    chat = _chat_http(metrics_server, max_tokens=budget, streaming=False)
    before, at_cancel = await _cancel_ainvoke(chat, probe)
    assert open_connections(metrics_server) == 0, "the cancelled request's connection is open"
    await asyncio.to_thread(probe.wait_idle, 120.0)
    total = probe.predicted_total() - before
    figure(
        SECTION,
        "ChatLlamafile(streaming=False).ainvoke task cancel (HTTP): tokens decoded after the "
        "cancel (llama-server decodes on)",
        total - at_cancel,
        "tokens",
    )
    if total >= budget:
        pytest.xfail(
            f"llama-server decoded all {total} tokens of a cancelled non-streamed request "
            "(it does not notice the closed connection)"
        )
    assert total - at_cancel < HTTP_BOUND
