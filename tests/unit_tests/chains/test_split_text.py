"""Splitting on natural borders, by characters or by any token count."""

from __future__ import annotations

import re

import pytest

from langchain_localkit.chains import split_documents, split_text
from langchain_localkit.testing.corpus import DOCUMENTS

TEXT = "\n\n".join(d.page_content for d in DOCUMENTS)


def _words(text: str) -> int:
    return len(text.split())


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(("size", "length"), [(60, len), (200, len), (12, _words), (40, _words)])
def test_pieces_fit_and_keep_every_character(size: int, length: object) -> None:
    measure = length if callable(length) else len
    pieces = split_text(TEXT, size, measure)
    assert len(pieces) > 1
    assert all(0 < measure(p) <= size for p in pieces)
    assert _squash("".join(pieces)) == _squash(TEXT)


def test_prefers_paragraphs_then_sentences() -> None:
    text = "First one. Second one.\n\nThird paragraph here."
    assert split_text(text, 25) == ["First one. Second one.", "Third paragraph here."]
    assert split_text(text, 12) == ["First one.", "Second one.", "Third", "paragraph", "here."]


def test_a_word_longer_than_the_limit_is_cut() -> None:
    assert split_text("abcdefghij", 4) == ["abcd", "efgh", "ij"]


def test_overlap_repeats_the_end_of_the_previous_piece() -> None:
    pieces = split_text("one two three four five six seven eight", 14, overlap=6)
    assert pieces[0] == "one two three"
    assert pieces[1].startswith("three")
    assert all(len(p) <= 14 for p in pieces)


def test_text_that_fits_is_one_piece() -> None:
    assert split_text("  short text  ", 100) == ["short text"]
    assert split_text("", 100) == []


def test_bad_size() -> None:
    with pytest.raises(ValueError, match="max_length"):
        split_text("x", 0)


def test_split_documents_keeps_metadata_and_names_sources() -> None:
    pieces = split_documents([DOCUMENTS[0], "Plain text. More."], chunk_size=60, chunk_overlap=0)
    assert {d.metadata["source"] for d in pieces} == {"apollo-11", "document 2"}
    assert [d.metadata["chunk"] for d in pieces if d.metadata["source"] == "apollo-11"] == [
        0,
        1,
        2,
    ]


def test_split_documents_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="chunk_overlap"):
        split_documents(["x"], chunk_size=10, chunk_overlap=10)
    with pytest.raises(TypeError, match="list of documents"):
        split_documents("just a string", chunk_size=10, chunk_overlap=0)
    with pytest.raises(TypeError, match="Document or a string"):
        split_documents([42], chunk_size=10, chunk_overlap=0)  # type: ignore[list-item]
