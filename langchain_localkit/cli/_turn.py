"""One chat turn on the terminal: the reply streamed, thoughts dimmed, a timing line, Ctrl-C.

While a reply streams, Ctrl-C asks it to stop: the stream is closed at the next piece, which
stops decoding (in process, the generators close down to the engine, which frees the model for
the next turn; on a server, the request is dropped). A second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import IO, Any

from langchain_localkit.cli._common import DIM, RESET

THOUGHT_PREFIX = "(thinking) "
"""What starts the model's thoughts when they cannot be dimmed (not a terminal)."""


@dataclass
class Reply:
    """A reply as it was streamed.

    Attributes:
        text: The answer (without thoughts), whole or up to where it was stopped.
        reasoning: The model's thoughts, kept apart from the answer.
        stopped: Ctrl-C stopped it.
        finish_reason: Why the model stopped ("stop", "length", ...), when it said.
        timings: The runtime's `Timings` dict, when it sent one.
        seconds: Wall time of the turn.
        first_piece_s: Time to the first piece of text or thought (None: there was none).
        pieces: Pieces streamed (about one token each).
    """

    text: str = ""
    reasoning: str = ""
    stopped: bool = False
    finish_reason: str | None = None
    timings: dict[str, Any] | None = None
    seconds: float = 0.0
    first_piece_s: float | None = None
    pieces: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)


class StopOnInterrupt:
    """Ctrl-C while a reply streams: the first asks it to stop, a second one interrupts.

    While active, the first SIGINT sets `requested` (the reader stops at the next piece); a
    second raises `KeyboardInterrupt` at once. Outside the main thread no handler is installed.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopOnInterrupt:
        self.requested = False
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False


def stream_reply(
    chat: Any,
    messages: Sequence[tuple[str, str]],
    out: IO[str],
    *,
    styled: bool = False,
    stop: StopOnInterrupt | None = None,
) -> Reply:
    """Stream the model's reply to `messages` onto `out`; stop early when `stop` is requested.

    Thoughts (`additional_kwargs["reasoning_content"]`) are written dimmed when `styled`,
    else after `THOUGHT_PREFIX`, and a line break parts them from the answer.

    Args:
        chat: The chat model.
        messages: The conversation as (role, content) pairs.
        out: Where the reply goes.
        styled: Whether `out` is a terminal (ANSI dimming).
        stop: The Ctrl-C switch of the turn (None: the turn runs to its end).
    """
    reply = Reply()
    started = time.perf_counter()
    in_thought = False
    stream = chat.stream(list(messages))
    try:
        with stop if stop is not None else _NoStop():
            for chunk in stream:
                if stop is not None and stop.requested:  # a piece that came after Ctrl-C
                    reply.stopped = True
                    break
                thought = str(chunk.additional_kwargs.get("reasoning_content") or "")
                text = str(chunk.content) if chunk.content else ""
                if (thought or text) and reply.first_piece_s is None:
                    reply.first_piece_s = time.perf_counter() - started
                if thought:
                    if not in_thought:
                        out.write(DIM if styled else THOUGHT_PREFIX)
                        in_thought = True
                    out.write(thought)
                    reply.reasoning += thought
                    reply.pieces += 1
                if text:
                    if in_thought:
                        out.write(RESET + "\n" if styled else "\n")
                        in_thought = False
                    out.write(text)
                    reply.text += text
                    reply.pieces += 1
                out.flush()
                if chunk.response_metadata:
                    reply.metadata = dict(chunk.response_metadata)
                if stop is not None and stop.requested:
                    reply.stopped = True
                    break
    except KeyboardInterrupt:
        reply.stopped = True
    finally:
        stream.close()
        if in_thought and styled:
            out.write(RESET)
    reply.seconds = time.perf_counter() - started
    reply.finish_reason = reply.metadata.get("finish_reason")
    reply.timings = reply.metadata.get("timings")
    out.write("\n")
    out.flush()
    return reply


class _NoStop:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def timing_line(reply: Reply) -> str:
    """The line after a reply: why it ended, tokens, speed, time to the first token.

    Example:
        >>> timing_line(Reply(stopped=True))
        '[stopped]'
    """
    if reply.stopped:
        return "[stopped]"
    if reply.timings:
        from langchain_localkit._core.timings import Timings

        timings = Timings.from_dict(reply.timings)
        rate = timings.eval_tokens_per_second
        return (
            f"[{reply.finish_reason}; {timings.prompt_tokens} prompt tokens evaluated, "
            f"{timings.eval_tokens} generated"
            + (f" at {rate:.1f} tokens/s" if rate else "")
            + (f"; first token after {timings.ttft_ms:.0f} ms" if timings.ttft_ms else "")
            + "]"
        )
    rate = reply.pieces / reply.seconds if reply.seconds > 0 else 0.0
    first = f"; first token after {reply.first_piece_s * 1e3:.0f} ms" if reply.first_piece_s else ""
    return f"[{reply.finish_reason or 'done'}; about {reply.pieces} tokens at {rate:.1f}/s{first}]"


def write_timing(reply: Reply, out: IO[str], *, styled: bool = False) -> None:
    """Write `timing_line(reply)` on its own line (dimmed on a terminal)."""
    line = timing_line(reply)
    out.write(f"{DIM}{line}{RESET}\n" if styled else line + "\n")
    out.flush()


__all__ = [
    "THOUGHT_PREFIX",
    "Reply",
    "StopOnInterrupt",
    "stream_reply",
    "timing_line",
    "write_timing",
]
