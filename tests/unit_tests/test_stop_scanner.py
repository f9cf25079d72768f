"""`StopScanner`'s fast path (pieces without any stop's first character) against the plain scan."""

from __future__ import annotations

import random

import pytest

from langchain_localkit.engines.stops import StopScanner, held_back


def _reference(pieces: list[str], stops: list[str]) -> tuple[list[str], str | None, str]:
    """What the scanner shows, with every piece through the scan per stop and prefix."""
    live = [s for s in stops if s]
    pending, shown = "", []
    for piece in pieces:
        pending += piece
        hits = [(pending.find(s), s) for s in live if s in pending]
        if hits:
            at, stop = min(hits)
            shown.append(pending[:at])
            return shown, stop, ""
        cut = len(pending) - held_back(pending, live)
        shown.append(pending[:cut])
        pending = pending[cut:]
    return shown, None, pending


STOPS = [
    ["<end_of_turn>", "<eos>", "<start_of_turn>"],
    ["\n\nUser:", "]]", "-x", "^"],
    ["a", "ab", "ba"],
    ["\\", "[", "é!"],
    ["", "<"],
]


@pytest.mark.parametrize("stops", STOPS)
def test_fast_path_shows_what_the_plain_scan_shows(stops: list[str]) -> None:
    rng = random.Random(7)
    alphabet = "ab <>_eostr\n:Ux]-^\\[é!"
    for _ in range(400):
        pieces = ["".join(rng.choices(alphabet, k=rng.randint(0, 4))) for _ in range(12)]
        scanner = StopScanner(stops)
        shown = []
        for piece in pieces:
            shown.append(scanner.feed(piece))
            if scanner.stop is not None:
                break
        assert (shown, scanner.stop, scanner.pending) == _reference(pieces, stops)


def test_text_without_a_stop_start_passes_whole_and_keeps_nothing() -> None:
    scanner = StopScanner(["<end_of_turn>"])
    assert scanner.feed("Once upon a time") == "Once upon a time"
    assert scanner.pending == ""
    assert scanner.feed(" there <end_of") == " there "
    assert scanner.pending == "<end_of"
    assert scanner.feed("_turn> more") == "" and scanner.stop == "<end_of_turn>"


def test_no_stops_passes_text_through() -> None:
    scanner = StopScanner(["", ""])
    assert scanner.feed("<anything>") == "<anything>" and scanner.pending == ""
