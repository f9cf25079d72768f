"""Splitting text by a length function (characters or a model's tokens), on natural borders."""

from __future__ import annotations

import re
from collections.abc import Callable

_SEPARATORS = ("\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ")


def split_text(
    text: str,
    max_length: int,
    length: Callable[[str], int] = len,
    *,
    overlap: int = 0,
) -> list[str]:
    """Split `text` into pieces of at most `max_length`, as `length` measures.

    Cuts fall on paragraph, line, sentence and word borders, in that order of preference.

    Args:
        text: The text.
        max_length: The most a piece may measure.
        length: How to measure (default characters; a model's `get_num_tokens` for tokens).
        overlap: How much of the end of one piece (as `length` measures) starts the next.

    Example:
        >>> split_text("One. Two. Three.", 9)
        ['One. Two.', 'Three.']
    """
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    units = _units(text.strip(), max_length, length, 0)
    pieces: list[str] = []
    current = ""
    for unit in units:
        candidate = current + unit
        if current and length(candidate.strip()) > max_length:
            pieces.append(current.strip())
            current = _tail(current, overlap, length) + unit
        else:
            current = candidate
    if current.strip():
        pieces.append(current.strip())
    return pieces


def _units(text: str, max_length: int, length: Callable[[str], int], level: int) -> list[str]:
    """`text` cut at the coarsest separator that makes each unit fit (each keeps its separator)."""
    if length(text) <= max_length or level >= len(_SEPARATORS):
        if length(text) <= max_length:
            return [text]
        return _hard_cut(text, max_length, length)
    sep = _SEPARATORS[level]
    parts = [p for p in re.split(f"(?<={re.escape(sep)})", text) if p]
    out: list[str] = []
    for part in parts:
        if length(part) <= max_length:
            out.append(part)
        else:
            out.extend(_units(part, max_length, length, level + 1))
    return out


def _hard_cut(text: str, max_length: int, length: Callable[[str], int]) -> list[str]:
    out: list[str] = []
    while text:
        lo, hi = 1, len(text)
        while lo < hi:  # the longest prefix that fits
            mid = (lo + hi + 1) // 2
            if length(text[:mid]) <= max_length:
                lo = mid
            else:
                hi = mid - 1
        out.append(text[:lo])
        text = text[lo:]
    return out


def _tail(text: str, overlap: int, length: Callable[[str], int]) -> str:
    if overlap <= 0:
        return ""
    words = text.split(" ")
    tail: list[str] = []
    while words and length(" ".join([words[-1], *tail])) <= overlap:
        tail.insert(0, words.pop())
    return " ".join(tail) + (" " if tail else "")


__all__ = ["split_text"]
