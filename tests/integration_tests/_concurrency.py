"""How the integration tests drive a model concurrently, or walk away from one of its streams."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

LONG_STORY = "Write a very long story about the sea."


def in_threads(target: Callable[[T], object], args: Iterable[T]) -> list[BaseException]:
    """Run `target(arg)` for every arg, each in its own thread, all at once; what they raised."""
    errors: list[BaseException] = []

    def run(arg: T) -> None:
        try:
            target(arg)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(arg,)) for arg in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


async def read_then_close(stream: AsyncGenerator[T, None], n: int = 3) -> list[T]:
    """Read `n` chunks of an async stream, then close it: a consumer that stops listening."""
    got: list[T] = []
    async for chunk in stream:
        got.append(chunk)
        if len(got) == n:
            break
    await stream.aclose()
    return got


async def cancel_mid_stream(stream: AsyncGenerator[Any, None], first_within_s: float = 30) -> None:
    """Consume `stream` in a task and cancel the task once the first chunk has come."""
    seen = asyncio.Event()

    async def consume() -> None:
        async for _ in stream:
            seen.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(seen.wait(), first_within_s)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def wait_until_idle(entry: Any, limit_s: float = 2.0) -> None:
    """Wait until no call holds the loaded model; fail if decoding goes on for `limit_s` s."""
    deadline = time.perf_counter() + limit_s
    while entry.busy:
        assert time.perf_counter() < deadline, "decoding went on after the consumer stopped"
        await asyncio.sleep(0.005)


async def assert_closing_astream_stops_decoding(face: Any) -> None:
    """Read three chunks of `face.astream(LONG_STORY)` (a face on a loaded llama.cpp model, with
    max_tokens=2000) and close it: decoding must stop at once."""
    entry, _ = face.engine.load()
    start = time.perf_counter()
    await read_then_close(face.astream(LONG_STORY))
    # langchain-core leaves closing our inner generator to asyncio's finaliser (next loop turn)
    await wait_until_idle(entry)
    elapsed = time.perf_counter() - start
    assert elapsed < 10, "2000 tokens would take far longer: decoding must have stopped"
