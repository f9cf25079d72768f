"""The sync-to-async bridge: order, errors, and that stopping the consumer stops the producer."""

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from langchain_localkit._core.streaming import iterate_in_thread


async def test_yields_in_order() -> None:
    items = [x async for x in iterate_in_thread(lambda _cancel: iter(range(100)))]
    assert items == list(range(100))


async def test_runs_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    seen = []

    def gen(_cancel: threading.Event) -> Iterator[int]:
        seen.append(threading.get_ident())
        yield 1

    assert [x async for x in iterate_in_thread(gen)] == [1]
    assert seen and seen[0] != loop_thread


async def test_worker_errors_reach_the_consumer() -> None:
    def gen(_cancel: threading.Event) -> Iterator[int]:
        yield 1
        raise ValueError("decode failed")

    got: list[int] = []

    async def consume() -> None:
        async for x in iterate_in_thread(gen):
            got.append(x)

    with pytest.raises(ValueError, match="decode failed"):
        await consume()
    assert got == [1]


def _counting_producer(produced: list[int], closed: threading.Event) -> Iterator[int]:
    try:
        for i in range(10_000):
            produced.append(i)
            time.sleep(0.001)
            yield i
    finally:
        closed.set()


async def test_breaking_out_stops_the_producer() -> None:
    produced: list[int] = []
    closed = threading.Event()
    stream = iterate_in_thread(lambda _c: _counting_producer(produced, closed), max_ahead=4)
    async for x in stream:
        if x == 5:
            break
    await stream.aclose()
    assert closed.is_set(), "the iterator was not closed in its thread"
    count = len(produced)
    await asyncio.sleep(0.05)
    assert len(produced) == count, "the producer kept running after the consumer stopped"
    assert count <= 5 + 4 + 2


async def test_a_consumer_that_stops_pulling_pauses_the_producer() -> None:
    produced: list[int] = []
    closed = threading.Event()
    stream = iterate_in_thread(lambda _c: _counting_producer(produced, closed), max_ahead=3)
    first = await stream.__anext__()
    assert first == 0
    await asyncio.sleep(0.1)
    assert len(produced) <= 1 + 3 + 1
    await stream.aclose()
    assert closed.is_set()


async def test_cancelling_the_task_stops_the_producer() -> None:
    produced: list[int] = []
    closed = threading.Event()

    async def consume() -> None:
        async for _ in iterate_in_thread(lambda _c: _counting_producer(produced, closed)):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed.is_set()
    count = len(produced)
    await asyncio.sleep(0.05)
    assert len(produced) == count
    assert count < 10_000
