"""Stop strings in streamed text: found across token boundaries, never shown.

A stop string can arrive split over several tokens, so text that could still grow into one is
held back until the next piece says whether it does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def held_back(text: str, stops: Sequence[str]) -> int:
    """Length of the longest suffix of `text` that could still grow into a stop string.

    Example:
        >>> held_back("Hello <en", ["<end>"])
        3
    """
    keep = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), keep, -1):
            if text.endswith(s[:n]):
                keep = n
                break
    return keep


class StopScanner:
    """Feeds streamed text through, cutting it at the first stop string.

    Args:
        stops: The stop strings (empty ones are ignored).

    Attributes:
        stop: The stop string that was found (None while none was).
        pending: Text held back because it could still be the start of a stop string.

    Example:
        >>> scanner = StopScanner(["<end>"])
        >>> scanner.feed("Hi <e"), scanner.feed("nd> more"), scanner.stop
        ('Hi ', '', '<end>')
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.stop: str | None = None
        self.pending = ""
        # Text without any stop's first character holds no stop and no stop's beginning, so
        # most pieces pass with one search instead of a scan per stop and prefix length.
        firsts = "".join(sorted({re.escape(s[0]) for s in self.stops}))
        self._may_stop = re.compile(f"[{firsts}]").search if firsts else None

    def feed(self, text: str) -> str:
        """The text that can be shown now; sets `stop` when a stop string completes.

        Text from the stop string on is dropped.
        """
        if self._may_stop is None:
            return text
        self.pending += text
        if self._may_stop(self.pending) is None:
            ready, self.pending = self.pending, ""
            return ready
        hits = [(self.pending.find(s), s) for s in self.stops if s in self.pending]
        if hits:
            at, self.stop = min(hits)
            ready, self.pending = self.pending[:at], ""
            return ready
        cut = len(self.pending) - held_back(self.pending, self.stops)
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        return ready


__all__ = ["StopScanner", "held_back"]
