"""What the reliability suite records: each bad-input case's error, and the measured figures.

Every case runs through `expect_error` (or `aexpect_error`): the call must raise the expected
typed error, with a message that says what happened (and, where asked, the words a user needs);
the row (case, runtime, error type, message) is kept for the table of `docs/reliability.md`.
Load, soak and cancellation tests keep their measurements with `figure`.

At the end of the session the rows and figures are written to `.reliability/last.json` (or the
path given with `--reliability-json`), printed in the terminal summary, and every row is
checked against the table of `docs/reliability.md`: a case missing there, or listed with
another error type, fails the run (`make reliability-doc` regenerates the page).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

MIN_MESSAGE = 30
"""A message shorter than this cannot say what happened and what to do."""


@dataclass(frozen=True)
class Row:
    """One bad-input case as it ran.

    Attributes:
        case: A short id, unique per runtime (`"missing-file"`, `"server-html"`, ...).
        runtime: The face or runtime it ran on (`"LlamaCpp"`, `"ChatLlamafile"`, ...).
        error: The class name of the error raised.
        message: Its message, with temporary paths shortened to `<tmp>`.
    """

    case: str
    runtime: str
    error: str
    message: str


@dataclass(frozen=True)
class Figure:
    """A measurement (load, soak, cancellation), shown with its unit."""

    section: str
    name: str
    value: float | int | str
    unit: str = ""


ROWS: list[Row] = []
FIGURES: list[Figure] = []

_TMP = re.compile(re.escape(tempfile.gettempdir().rstrip(os.sep)) + r"/(?:[^\s'\"/]+/)*")
"""A temporary folder in a message (the file name after it stays)."""


_PORT = re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):\d+")
"""A loopback address with the ephemeral port of a test server."""


def _clean(message: str) -> str:
    text = " ".join(message.split())
    return _PORT.sub(r"\1:<port>", _TMP.sub("<tmp>/", text))


def check_message(exc: BaseException, must_say: Iterable[str] = ()) -> str:
    """The error's message, checked: long enough, no bare repr, the words it must contain."""
    message = str(exc)
    assert len(message) >= MIN_MESSAGE, f"{type(exc).__name__} says too little: {message!r}"
    assert "Traceback" not in message, message
    low = message.lower()
    for words in must_say:
        assert words.lower() in low, f"{words!r} not in {message!r}"
    return message


def record(case: str, runtime: str, exc: BaseException) -> Row:
    """Keep `exc` as the outcome of `case` on `runtime` (one row per pair)."""
    row = Row(case, runtime, type(exc).__name__, _clean(str(exc)))
    if not any(r.case == case and r.runtime == runtime for r in ROWS):
        ROWS.append(row)
    return row


def expect_error(
    case: str,
    runtime: str,
    error: type[BaseException] | tuple[type[BaseException], ...],
    call: Callable[[], Any],
    *,
    must_say: Iterable[str] = (),
) -> BaseException:
    """Run `call`; it must raise `error` with a helpful message. The row is recorded.

    Args:
        case: The case id (unique per runtime).
        runtime: The face or runtime.
        error: The typed error (or errors) expected.
        call: What a user would do.
        must_say: Words the message must contain (any case), e.g. the file name or the fix.

    Returns:
        The error raised.
    """
    try:
        result = call()
    except error as exc:
        check_message(exc, must_say)
        record(case, runtime, exc)
        return exc
    raise AssertionError(f"{case} on {runtime}: no error; it returned {result!r:.200}")


async def aexpect_error(
    case: str,
    runtime: str,
    error: type[BaseException] | tuple[type[BaseException], ...],
    call: Callable[[], Awaitable[Any]],
    *,
    must_say: Iterable[str] = (),
) -> BaseException:
    """The async `expect_error`: `call()` returns the awaitable to run."""
    try:
        result = await call()
    except error as exc:
        check_message(exc, must_say)
        record(case, runtime, exc)
        return exc
    raise AssertionError(f"{case} on {runtime}: no error; it returned {result!r:.200}")


def figure(section: str, name: str, value: float | int | str, unit: str = "") -> None:
    """Keep a measurement for the summary and `docs/reliability.md`."""
    FIGURES.append(Figure(section, name, value, unit))


def as_json() -> dict[str, Any]:
    """The session's rows and figures, JSON-ready."""
    return {"rows": [asdict(r) for r in ROWS], "figures": [asdict(f) for f in FIGURES]}
