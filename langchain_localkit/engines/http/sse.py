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

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        """Take one line (without its line break)."""
        if not line:
            return self.flush()
        if line.startswith("data:"):
            self.data.append(line[6:] if line.startswith("data: ") else line[5:])
            return None
        if line.startswith("error:"):
            return "error", line[7:] if line.startswith("error: ") else line[6:]
        return None  # comments (pings), `event:`, `id:`, `retry:`

    def flush(self) -> tuple[str, str] | None:
        """The event still pending when the stream ends without a blank line, if any."""
        if self.data:
            payload = "\n".join(self.data)
            self.data = []
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
        """The event left when the stream ended without a blank line."""
        return self._decoded(self.parser.flush())

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
        raise ServerError(f"The server at {url} sent an unreadable event: {payload[:200]!r}") from e
    if kind == "error" or (
        isinstance(data, dict)
        and "error" in data
        and "choices" not in data
        and "content" not in data
    ):
        raise_error_body(data.get("error", data) if isinstance(data, dict) else data, None, url)
    return data


__all__ = ["EventReader", "SSEParser", "decode_event"]
