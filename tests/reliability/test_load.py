"""Load: one model object used by many threads and tasks at once gives the answers it gives alone.

Greedy decoding (temperature 0, fixed seed) of the tiny GGUF is deterministic, so under load
every answer must equal the single-threaded answer for its prompt: a call that read another
call's tokens, a KV cache mixed up between threads or a spare context decoding differently
shows up as a wrong answer; a lock or pool problem as an error or a hang.

llama-server with one slot decodes requests one after another: answers are exact there too.
With several slots, requests are decoded in one batch, and llama.cpp does not promise the same
floating-point results for a batch as for one sequence. On the tiny model the words' scores are
far apart, so in practice answers still match, but only the shape of each answer (its length
and finish reason) is asserted there; the mismatches are counted as a figure.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from langchain_localkit import ChatLlamaCpp, ChatLlamafile, LlamaCpp, Llamafile
from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests.llamafile import _servers
from tests.reliability._record import figure

SECTION = "Load"
PROMPTS = ("the moon", "the year", "a king and a queen", "water fire earth air")
THREADS = 8
CALLS = 50
TASKS = 32
MAX_TOKENS = 16

pytestmark = [pytest.mark.heavy, pytest.mark.timeout(300)]


@dataclass
class Run:
    """What a load run saw: (prompt, answer) pairs, errors, wall time, slowest call."""

    answers: list[tuple[str, str]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    wall_s: float = 0.0
    slowest_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrong(self, expected: dict[str, str]) -> list[tuple[str, str]]:
        return [(p, a) for p, a in self.answers if a != expected[p]]

    def record(self, what: str) -> None:
        calls = len(self.answers) + len(self.errors)
        rate = calls / self.wall_s
        distinct = len({a for _, a in self.answers})
        figure(SECTION, f"{what}: calls/s", round(rate, 1), "calls/s")
        figure(
            SECTION,
            what,
            f"{calls} calls in {self.wall_s:.2f} s, slowest {self.slowest_s:.2f} s, "
            f"{distinct} distinct answers, {len(self.errors)} errors",
        )


def in_threads(call: Callable[[str], str], threads: int = THREADS, calls: int = CALLS) -> Run:
    """`threads` threads each make `calls` calls, cycling through the prompts."""
    run = Run()
    start_line = threading.Barrier(threads)

    def work(i: int) -> None:
        start_line.wait()
        for j in range(calls):
            prompt = PROMPTS[(i + j) % len(PROMPTS)]
            began = time.perf_counter()
            try:
                answer = call(prompt)
            except Exception as e:
                with run.lock:
                    run.errors.append(e)
                continue
            took = time.perf_counter() - began
            with run.lock:
                run.answers.append((prompt, answer))
                run.slowest_s = max(run.slowest_s, took)

    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(work, i) for i in range(threads)]:
            future.result()
    run.wall_s = time.perf_counter() - began
    return run


async def in_tasks(call: Callable[[str], Any], tasks: int = TASKS) -> Run:
    """`tasks` coroutines `call(prompt)` at once."""
    run = Run()
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(tasks)]
    began = time.perf_counter()
    results = await asyncio.wait_for(
        asyncio.gather(*(call(p) for p in prompts), return_exceptions=True), 240
    )
    run.wall_s = time.perf_counter() - began
    run.slowest_s = run.wall_s
    for prompt, result in zip(prompts, results, strict=True):
        if isinstance(result, BaseException):
            run.errors.append(result)
        else:
            run.answers.append((prompt, str(result)))
    return run


def check(run: Run, expected: dict[str, str], what: str) -> None:
    run.record(what)
    assert not run.errors, f"{what}: {len(run.errors)} errors, first: {run.errors[0]!r}"
    wrong = run.wrong(expected)
    assert not wrong, f"{what}: {len(wrong)} answers differ from greedy, first: {wrong[0]}"


def _chat_text(message: Any) -> str:
    return str(message.content)


# ---------------------------------------------------------------------------- in process


@pytest.fixture(scope="module")
def llm(tiny_gguf_path: Path) -> LlamaCpp:
    return LlamaCpp(
        model_path=str(tiny_gguf_path), temperature=0, seed=1, max_tokens=MAX_TOKENS, n_ctx=512
    )


@pytest.fixture(scope="module")
def chat(tiny_gguf_path: Path) -> ChatLlamaCpp:
    return ChatLlamaCpp(
        model_path=str(tiny_gguf_path), temperature=0, seed=1, max_tokens=MAX_TOKENS, n_ctx=512
    )


def test_llamacpp_threads(llm: LlamaCpp) -> None:
    expected = {p: llm.invoke(p) for p in PROMPTS}
    assert len(set(expected.values())) == len(PROMPTS), "the prompts should answer differently"
    run = in_threads(llm.invoke)
    check(run, expected, f"LlamaCpp.invoke, {THREADS} threads x {CALLS}")
    assert not llm.engine.load()[0].busy


def test_chat_llamacpp_threads(chat: ChatLlamaCpp) -> None:
    expected = {p: _chat_text(chat.invoke(p)) for p in PROMPTS}
    run = in_threads(lambda p: _chat_text(chat.invoke(p)))
    check(run, expected, f"ChatLlamaCpp.invoke, {THREADS} threads x {CALLS}")


async def test_llamacpp_concurrent_ainvoke(llm: LlamaCpp) -> None:
    expected = {p: llm.invoke(p) for p in PROMPTS}
    run = await in_tasks(llm.ainvoke)
    check(run, expected, f"LlamaCpp.ainvoke, {TASKS} at once")


async def test_chat_llamacpp_concurrent_ainvoke(chat: ChatLlamaCpp) -> None:
    expected = {p: _chat_text(chat.invoke(p)) for p in PROMPTS}

    async def call(prompt: str) -> str:
        return _chat_text(await chat.ainvoke(prompt))

    run = await in_tasks(call)
    check(run, expected, f"ChatLlamaCpp.ainvoke, {TASKS} at once")


def test_mixed_threads_and_streams(llm: LlamaCpp) -> None:
    """Half the threads stream (and read to the end), half invoke: the same answers."""
    expected = {p: llm.invoke(p) for p in PROMPTS}
    counter = iter(range(THREADS * CALLS))

    def call(prompt: str) -> str:
        if next(counter) % 2:
            return "".join(llm.stream(prompt))
        return llm.invoke(prompt)

    run = in_threads(call, calls=CALLS // 2)
    check(run, expected, f"LlamaCpp stream + invoke, {THREADS} threads x {CALLS // 2}")


# ---------------------------------------------------------------------------- llama-server


def _server_faces(server: LlamaServer) -> tuple[Llamafile, ChatLlamafile]:
    options: dict[str, Any] = {"temperature": 0, "seed": 7, "max_tokens": MAX_TOKENS}
    return (
        Llamafile(base_url=server.base_url, **options),
        ChatLlamafile(base_url=server.base_url, **options),
    )


def test_llamafile_threads_one_slot(tiny_server: LlamaServer) -> None:
    llm, _ = _server_faces(tiny_server)
    expected = {p: llm.invoke(p) for p in PROMPTS}
    run = in_threads(llm.invoke)
    check(run, expected, f"Llamafile.invoke over llama-server, {THREADS} threads x {CALLS}")


def test_chat_llamafile_threads_one_slot(tiny_server: LlamaServer) -> None:
    _, chat = _server_faces(tiny_server)
    expected = {p: _chat_text(chat.invoke(p)) for p in PROMPTS}
    run = in_threads(lambda p: _chat_text(chat.invoke(p)))
    check(run, expected, f"ChatLlamafile.invoke over llama-server, {THREADS} threads x {CALLS}")


async def test_chat_llamafile_concurrent_ainvoke(tiny_server: LlamaServer) -> None:
    _, chat = _server_faces(tiny_server)
    expected = {p: _chat_text(chat.invoke(p)) for p in PROMPTS}

    async def call(prompt: str) -> str:
        return _chat_text(await chat.ainvoke(prompt))

    run = await in_tasks(call)
    check(run, expected, f"ChatLlamafile.ainvoke over llama-server, {TASKS} at once")


def test_chat_llamafile_threads_two_slots() -> None:
    """Two slots decode concurrent requests in one batch: what is guaranteed is the shape."""
    server = _servers.server("tiny-parallel")
    _, chat = _server_faces(server)
    expected = {p: _chat_text(chat.invoke(p)) for p in PROMPTS}
    lengths: list[int] = []

    def call(prompt: str) -> str:
        message = chat.invoke(prompt)
        assert message.response_metadata["finish_reason"] == "length", message
        assert message.usage_metadata is not None, message
        lengths.append(message.usage_metadata["output_tokens"])
        return _chat_text(message)

    run = in_threads(call)
    what = f"ChatLlamafile.invoke over llama-server (2 slots), {THREADS} threads x {CALLS}"
    run.record(what)
    figure(SECTION, f"{what}: answers differing from one-at-a-time", len(run.wrong(expected)))
    assert not run.errors, f"{what}: {len(run.errors)} errors, first: {run.errors[0]!r}"
    assert set(lengths) == {MAX_TOKENS}, f"{what}: output lengths {sorted(set(lengths))}"
