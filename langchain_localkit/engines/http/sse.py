"""Server-Sent Events, read line by line without I/O: llama.cpp's and llamafile's dialects.

`EventReader` is fed the lines of a `text/event-stream` body and returns the JSON of each
finished event; an error event raises the typed error it stands for.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_localkit._core.errors import ServerError
from langchain_localkit.engines.http.errors import raise_error_body


class SSEParser:
    """An incremental parser of `text/event-stream` lines (llama.cpp and llamafile dialects).

    `feed(line)` returns `(kind, data)` of a finished event, or None. llama.cpp writes one
    `data: {json}` line per event and `data: [DONE]` after OpenAI-style streams; comment lines
    (`:`) are keep-alive pings; llamafile's older server reports errors as `error: {json}`.
    """

    __slots__ = ("data", "events", "stray")

    def __init__(self) -> None:
        self.data: list[str] = []
        self.events = 0
        self.stray: str | None = None
        """The first line that is no part of an event stream (a server speaking NDJSON...)."""

    def feed(self, line: str) -> tuple[str, str] | None:
        """Take one line (without its line break)."""
        if not line:
            return self.flush()
        if line.startswith("data:"):
            self.data.append(line[6:] if line.startswith("data: ") else line[5:])
            return None
        if line.startswith("error:"):
            self.events += 1
            return "error", line[7:] if line.startswith("error: ") else line[6:]
        if self.stray is None and not line.startswith((":", "event:", "id:", "retry:")):
            self.stray = line
        return None  # comments (pings), `event:`, `id:`, `retry:`

    def flush(self) -> tuple[str, str] | None:
        """The event still pending when the stream ends without a blank line, if any."""
        if self.data:
            payload = "\n".join(self.data)
            self.data = []
            self.events += 1
            return "data", payload
        return None


class EventReader:
    """The JSON of each event of a Server-Sent Events stream, line by line (no I/O).

    Args:
        url: The endpoint, for error messages.
    """

    __slots__ = ("parser", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        self.parser = SSEParser()

    def feed(self, line: str) -> list[Any]:
        """The events this line finishes: none or one (`[DONE]` gives none).

        Raises:
            ServerError: The server reported an error mid-reply, or sent unreadable JSON.
        """
        return self._decoded(self.parser.feed(line))

    def flush(self) -> list[Any]:
        """The event left when the stream ended without a blank line.

        Raises:
            ServerError: The whole body held no event, only lines of something else (a server
                that streams NDJSON or plain text where Server-Sent Events were expected).
        """
        out = self._decoded(self.parser.flush())
        stray = self.parser.stray
        if not self.parser.events and stray is not None:
            raise ServerError(
                f"The server at {self.url} did not answer in Server-Sent Events (it sent "
                f"{stray[:120]!r}): it is not the kind of server this model expects. Check "
                "`base_url` (another server may listen on that port)."
            )
        return out

    def _decoded(self, event: tuple[str, str] | None) -> list[Any]:
        if event is None:
            return []
        data = decode_event(*event, self.url)
        return [] if data is None else [data]


def decode_event(kind: str, payload: str, url: str) -> Any:
    """The JSON of one event; raises for error events. Returns None for `[DONE]`."""
    if kind == "data" and payload.strip() == "[DONE]":
        return None
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as e:
        if kind == "error":
            raise ServerError(f"The server at {url} reported an error: {payload}") from None
        raise ServerError(
            f"The server at {url} sent an unreadable event ({payload[:200]!r}), so the reply "
            "was cut off there. The server is broken or not the kind this model expects: check "
            "its log, and that `base_url` points at it."
        ) from e
    if kind != "error" and not isinstance(data, dict | list):
        raise ServerError(
            f"The server at {url} sent an event that is not a JSON object ({payload[:200]!r}). "
            "It is not the kind of server this model expects: check `base_url`."
        )
    if kind == "error" or (
        isinstance(data, dict)
        and "error" in data
        and "choices" not in data
        and "content" not in data
    ):
        raise_error_body(data.get("error", data) if isinstance(data, dict) else data, None, url)
    return data


_SSE_START = ("data:", "error:", "event:", "id:", "retry:", ":")


def events_of_body(text: str, url: str) -> list[Any] | None:
    """The events of a whole answer to a streamed request sent without `text/event-stream`.

    Servers that ignore `"stream": true` answer one JSON object (it counts as one event); a
    proxy may pass events on as `text/plain`. None: the body is neither (the caller raises).

    Raises:
        ServerError: An event is unreadable, or reports an error.
    """
    body = text.strip()
    if body.startswith(_SSE_START):
        reader = EventReader(url)
        out = [data for line in body.splitlines() for data in reader.feed(line)]
        return out + reader.flush()
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return None
    return [] if data is None else [decode_event("data", body, url)]


__all__ = ["EventReader", "SSEParser", "decode_event", "events_of_body"]
