"""The bridge from a blocking token generator to an async iterator that stops when you stop.

In-process runtimes decode in C while holding the GIL only briefly; running them on the event
loop would block it. `iterate_in_thread` runs the blocking iterator in a worker thread and hands
items to the loop. When the consumer stops (breaks, closes the stream, or its task is cancelled)
the worker is told to stop, closes the iterator in its own thread (which halts decoding and
releases the model lock), and the consumer waits for it: no decoding continues in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_ITEM, _ERROR, _END = 0, 1, 2


async def iterate_in_thread(
    make_iter: Callable[[threading.Event], Iterator[T]], *, max_ahead: int = 8
) -> AsyncGenerator[T, None]:
    """Iterate a blocking iterator in a worker thread, asynchronously.

    Args:
        make_iter: Called in the worker thread with a cancel event; returns the iterator. The
            iterator should check the event between items (the engines check it per token).
        max_ahead: How many items the worker may produce before the consumer takes them; a
            consumer that stops pulling therefore also stops the computation.

    Yields:
        The iterator's items, in order. Exceptions raised in the worker are re-raised here.

    Example:
        >>> async def main():
        ...     return [x async for x in iterate_in_thread(lambda cancel: iter(range(3)))]
        >>> asyncio.run(main())
        [0, 1, 2]
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
    credits = threading.Semaphore(max_ahead)
    cancel = threading.Event()
    finished: asyncio.Future[None] = loop.create_future()

    def post(kind: int, value: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is closed: nobody is listening any more
            cancel.set()

    def mark_finished() -> None:
        if not finished.done():
            finished.set_result(None)

    def worker() -> None:
        iterator: Iterator[T] | None = None
        try:
            iterator = make_iter(cancel)
            for item in iterator:
                while not credits.acquire(timeout=0.05):
                    if cancel.is_set():
                        return
                if cancel.is_set():
                    return
                post(_ITEM, item)
        except BaseException as e:
            post(_ERROR, e)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as e:
                    post(_ERROR, e)
            post(_END, None)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(mark_finished)

    thread = threading.Thread(target=worker, name="localkit-decode", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = await queue.get()
            if kind == _ITEM:
                credits.release()
                yield value
            elif kind == _ERROR:
                raise value
            else:
                return
    finally:
        cancel.set()
        credits.release()
        if not finished.done():
            await asyncio.shield(finished)


__all__ = ["iterate_in_thread"]
