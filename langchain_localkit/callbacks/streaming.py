"""Token streaming handlers: to a text stream with a separator, and to an async iterator.

Both work with LLMs and chat models, sync and async calls, and with several runs sharing one
handler: state is kept per run id and guarded by a lock, because LangChain calls handlers from
whatever thread runs the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections import deque
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.callbacks import (
    StreamingStdOutCallbackHandler as _CoreStreamingStdOutCallbackHandler,
)
from langchain_core.outputs import LLMResult

logger = logging.getLogger(__name__)


def token_text(token: Any) -> str:
    """The text of a token as `on_llm_new_token` receives it.

    Chat models with `output_version="v1"` pass a list of content blocks instead of a string;
    their text blocks are joined and other blocks (tool calls, reasoning) are ignored.

    Example:
        >>> token_text("Hello")
        'Hello'
        >>> token_text([{"type": "text", "text": "Hi"}, {"type": "tool_call_chunk"}])
        'Hi'
    """
    if isinstance(token, str):
        return token
    if isinstance(token, Sequence):
        parts: list[str] = []
        for block in token:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
        return "".join(parts)
    return ""


class StreamingStdOutCallbackHandler(_CoreStreamingStdOutCallbackHandler):
    r"""Print tokens as they arrive, each followed by a separator, and flush.

    The handler form of the streaming loop `print(chunk, end="|", flush=True)`, for LLMs and
    chat models, and a drop-in for langchain-core's handler of the same name (it subclasses
    it). Empty tokens (the final chunk that carries usage and timings) print nothing. Each
    token and its separator are written together under a lock, so concurrent runs interleave
    whole tokens; `end` is written once per run that printed something, when it finishes.

    Args:
        separator: Written after every token (default: nothing, as langchain-core does).
        end: Written when a run that printed tokens ends or fails (e.g. `"\\n"`).
        file: Where to write; `sys.stdout` (looked up at write time) when None.
        flush: Flush after every token.

    Example:
        >>> from langchain_core.language_models import GenericFakeChatModel
        >>> chat = GenericFakeChatModel(messages=iter(["hello local world"]))
        >>> handler = StreamingStdOutCallbackHandler("|", end="\n")
        >>> for _ in chat.stream("hi", config={"callbacks": [handler]}):
        ...     pass
        hello| |local| |world|
    """

    run_inline = True
    """Called in the model's own thread or task, so tokens print in order and at once."""

    def __init__(
        self,
        separator: str = "",
        *,
        end: str = "",
        file: TextIO | None = None,
        flush: bool = True,
    ) -> None:
        self.separator = separator
        self.end = end
        self.file = file
        self.flush = flush
        self._lock = threading.Lock()
        self._printed: set[UUID] = set()

    def _out(self) -> TextIO:
        return self.file if self.file is not None else sys.stdout

    def on_llm_new_token(self, token: str | list[str | dict[str, Any]], **kwargs: Any) -> None:
        """Write the token and the separator (nothing for an empty token)."""
        text = token_text(token)
        if not text:
            return
        run_id = kwargs.get("run_id")
        with self._lock:
            out = self._out()
            out.write(text + self.separator)
            if self.flush:
                out.flush()
            if run_id is not None and self.end:
                self._printed.add(run_id)

    def _finish(self, run_id: UUID | None) -> None:
        if not self.end or run_id is None:
            return
        with self._lock:
            if run_id in self._printed:
                self._printed.discard(run_id)
                out = self._out()
                out.write(self.end)
                if self.flush:
                    out.flush()

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Write `end` if this run printed tokens."""
        self._finish(kwargs.get("run_id"))

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        """Write `end` if this run printed tokens, so the next output starts cleanly."""
        self._finish(kwargs.get("run_id"))


class _Waiter:
    """Wakes one `aiter()` consumer in its own event loop, from any thread."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()

    def wake(self) -> None:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the consumer's loop is closed
                self.loop.call_soon_threadsafe(self.event.set)


@dataclass(eq=False)
class _Stream:
    """The tokens of one top-level run, buffered until its consumer reads them."""

    run_id: UUID
    tokens: deque[str] = field(default_factory=deque)
    done: bool = False
    error: BaseException | None = None
    claimed: bool = False
    abandoned: bool = False
    waiters: list[_Waiter] = field(default_factory=list)

    def wake(self) -> None:
        for waiter in self.waiters:
            waiter.wake()


class AsyncIteratorCallbackHandler(BaseCallbackHandler):
    """Serve tokens as an async iterator: `async for token in handler.aiter()`.

    Tokens are buffered per top-level run (the outermost run the handler sees: a chain when the
    handler is passed in `config`, the model call when it is passed to the model), so iteration
    starting after the run began, or even after it ended, still sees every token. The iterator
    ends when that run ends and raises the run's exception when it fails (an error a chain
    recovers from does not end the stream; but langchain-core 1.8's `with_fallbacks` drops the
    parent run id of the runnables it tries, so each attempt looks like a top-level run).

    Several runs may share one handler. `aiter()` takes the oldest run not yet being iterated
    (waiting for one to start); `aiter(run_id)` follows the run started with
    `config={"run_id": run_id}`, which is how concurrent requests each get their own tokens.
    Works with async and sync calls (a sync call in a worker thread wakes the consumer's loop).

    Args:
        max_pending_runs: Finished or running top-level runs kept for a later `aiter()` that
            nobody iterates yet; beyond this the oldest is dropped, so a long-lived handler on a
            server does not grow without bound.

    Example:
        >>> import asyncio
        >>> from langchain_core.language_models import GenericFakeChatModel
        >>> async def main() -> list[str]:
        ...     chat = GenericFakeChatModel(messages=iter(["hello world"]))
        ...     handler = AsyncIteratorCallbackHandler()
        ...
        ...     async def produce() -> None:
        ...         async for _ in chat.astream("hi", config={"callbacks": [handler]}):
        ...             pass
        ...
        ...     task = asyncio.create_task(produce())
        ...     tokens = [t async for t in handler.aiter()]
        ...     await task
        ...     return tokens
        >>> asyncio.run(main())
        ['hello', ' ', 'world']
    """

    run_inline = True
    """Called in the model's own thread or task, so tokens are queued in order."""

    def __init__(self, *, max_pending_runs: int = 100) -> None:
        if max_pending_runs < 1:
            raise ValueError("max_pending_runs must be at least 1")
        self.max_pending_runs = max_pending_runs
        self._lock = threading.Lock()
        self._parents: dict[UUID, UUID | None] = {}
        self._streams: dict[UUID, _Stream] = {}
        self._unclaimed: deque[UUID] = deque()
        self._start_waiters: list[_Waiter] = []

    def _start(self, run_id: UUID, parent_run_id: UUID | None) -> None:
        with self._lock:
            is_top = parent_run_id is None or parent_run_id not in self._parents
            self._parents[run_id] = parent_run_id
            if run_id in self._streams or not is_top:
                return
            self._streams[run_id] = _Stream(run_id)
            self._unclaimed.append(run_id)
            while len(self._unclaimed) > self.max_pending_runs:
                dropped = self._unclaimed.popleft()
                self._streams.pop(dropped, None)
                logger.debug("Dropped the tokens of run %s: nobody iterated them", dropped)
            waiters, self._start_waiters = self._start_waiters, []
        for waiter in waiters:
            waiter.wake()

    def _end(self, run_id: UUID, error: BaseException | None = None) -> None:
        with self._lock:
            self._parents.pop(run_id, None)
            stream = self._streams.get(run_id)
            if stream is None:
                return
            stream.done = True
            stream.error = error
            if stream.abandoned:
                del self._streams[run_id]
            stream.wake()

    def _streams_of(self, run_id: UUID) -> list[_Stream]:
        """The streams a token of `run_id` belongs to: its own and its ancestors'."""
        found: list[_Stream] = []
        seen: set[UUID] = set()
        current: UUID | None = run_id
        while current is not None and current not in seen:
            seen.add(current)
            stream = self._streams.get(current)
            if stream is not None:
                found.append(stream)
            current = self._parents.get(current)
        return found

    def _track_start(
        self,
        serialized: dict[str, Any],
        *args: Any,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Open the run's stream if it is a top-level run, else note whose run it is part of."""
        self._start(run_id, parent_run_id)

    def _track_end(self, *args: Any, run_id: UUID, **kwargs: Any) -> None:
        """End the run's stream, or its tracking."""
        self._end(run_id)

    def _track_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """End the run's stream, or its tracking, with its error."""
        self._end(run_id, error)

    # Chains, tools and retrievers are tracked too, so that a model call inside one belongs
    # to the stream of its caller.
    on_llm_start = on_chat_model_start = _track_start
    on_chain_start = on_tool_start = on_retriever_start = _track_start
    on_llm_end = on_chain_end = on_tool_end = on_retriever_end = _track_end
    on_llm_error = on_chain_error = on_tool_error = on_retriever_error = _track_error

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Queue a non-empty token for the consumers of this run and of its ancestors."""
        text = token_text(token)
        if not text:
            return
        if run_id not in self._parents:
            self._start(run_id, parent_run_id)
        with self._lock:
            streams = self._streams_of(run_id)
            for stream in streams:
                if not stream.abandoned and not stream.done:
                    stream.tokens.append(text)
                    stream.wake()

    def _claim(self, run_id: UUID | None, waiter: _Waiter) -> _Stream | None:
        with self._lock:
            if run_id is not None:
                stream = self._streams.get(run_id)
                if stream is None:
                    stream = self._streams[run_id] = _Stream(run_id)
                elif stream.claimed:
                    raise RuntimeError(f"Run {run_id} is already being iterated.")
                with contextlib.suppress(ValueError):
                    self._unclaimed.remove(run_id)
                stream.claimed = True
                return stream
            while self._unclaimed:
                stream = self._streams.get(self._unclaimed.popleft())
                if stream is not None:
                    stream.claimed = True
                    return stream
            waiter.event.clear()
            if waiter not in self._start_waiters:
                self._start_waiters.append(waiter)
            return None

    def _release(self, stream: _Stream | None, waiter: _Waiter) -> None:
        with self._lock:
            with contextlib.suppress(ValueError):
                self._start_waiters.remove(waiter)
            if stream is None:
                return
            with contextlib.suppress(ValueError):
                stream.waiters.remove(waiter)
            if stream.done:
                self._streams.pop(stream.run_id, None)
            else:
                stream.abandoned = True
                stream.tokens.clear()

    async def aiter(
        self,
        run_id: UUID | None = None,
        *,
        task: asyncio.Future[Any] | None = None,
        idle_timeout: float | None = None,
    ) -> AsyncGenerator[str, None]:
        """Yield the tokens of one top-level run until it ends; re-raise its error.

        Args:
            run_id: The run to follow (the `run_id` passed in the call's `config`). None takes
                the oldest run nobody iterates yet, waiting for one to start.
            task: The task running the call, if you have one. Iteration then also ends when the
                task ends without a run (an error before the model started is raised here),
                and stopping early (the client went away, the consumer was cancelled, or
                `idle_timeout` passed) cancels the task, which stops decoding. The task's own
                error is retrieved for you; `await task` still gives its result.
            idle_timeout: Seconds to wait for the run to start or for its next token before
                raising `TimeoutError` (None: wait forever).

        Raises:
            TimeoutError: Nothing arrived within `idle_timeout` seconds.
            RuntimeError: Another `aiter()` already follows this run.
            BaseException: The exception the run failed with, after its last token.

        Example:
            >>> async def serve(chat, messages, handler):  # doctest: +SKIP
            ...     task = asyncio.create_task(
            ...         chat.ainvoke(messages, config={"callbacks": [handler]})
            ...     )
            ...     async for token in handler.aiter(task=task):
            ...         yield token
        """
        waiter = _Waiter()
        stream: _Stream | None = None
        if task is not None:
            task.add_done_callback(_retrieve)
        try:
            while stream is None:
                stream = self._claim(run_id, waiter)
                if stream is None:
                    if task is not None and task.done():
                        _raise_from(task)  # the call ended before a run started
                        return
                    await self._wait(waiter, task, idle_timeout)
            while True:
                with self._lock:
                    batch = list(stream.tokens)
                    stream.tokens.clear()
                    done = stream.done
                    if not batch and not done:
                        waiter.event.clear()
                        if waiter not in stream.waiters:
                            stream.waiters.append(waiter)
                for token in batch:
                    yield token
                if batch:
                    continue
                if done:
                    if stream.error is not None:
                        raise stream.error
                    return
                if task is not None and task.done():
                    _raise_from(task)  # the call is over; no more events will come
                    return
                await self._wait(waiter, task, idle_timeout)
        finally:
            finished = stream is not None and stream.done
            self._release(stream, waiter)
            if task is not None and not task.done() and not finished:
                task.cancel()

    @staticmethod
    async def _wait(
        waiter: _Waiter, task: asyncio.Future[Any] | None, idle_timeout: float | None
    ) -> None:
        if task is None:
            await asyncio.wait_for(waiter.event.wait(), idle_timeout)
            return
        woken = asyncio.ensure_future(waiter.event.wait())
        try:
            done, _ = await asyncio.wait(
                {woken, task}, timeout=idle_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            woken.cancel()
        if not done:
            raise TimeoutError(f"No token for {idle_timeout} s")


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a task's exception as retrieved (it reaches the consumer through `aiter`)."""
    if not task.cancelled():
        task.exception()


def _raise_from(task: asyncio.Future[Any]) -> None:
    """Raise the exception a finished task ended with, if any."""
    error = None if task.cancelled() else task.exception()
    if error is not None:
        raise error


__all__ = ["AsyncIteratorCallbackHandler", "StreamingStdOutCallbackHandler", "token_text"]
