"""The recipes' pure parts: question parsing, text splitting, source formatting, the corpus."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from langchain_localkit.chains import format_sources, parse_questions, split_text
from langchain_localkit.testing.corpus import DOCUMENTS, QUESTIONS

MESSY = """Sure! Here are three search queries:

1. **Which NFL team won Super Bowl XXVIII?**
2) "Who won the Super Bowl in 1994?"
- What year was Justin Bieber born? (He was born in 1994.)
3. Which NFL team won Super Bowl XXVIII?
"""


def test_messy_replies_give_the_questions_once_each() -> None:
    assert parse_questions(MESSY) == [
        "Which NFL team won Super Bowl XXVIII?",
        "Who won the Super Bowl in 1994?",
        "What year was Justin Bieber born?",
    ]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("1. Who? 2. What is it?", ["Who?", "What is it?"]),
        ("Q1: When was it built?\nQ2: Why?", ["When was it built?", "Why?"]),
        ("no questions here.", []),
        ("1. Where is Paris?\n2. Where is Paris?\n3. where is paris?", ["Where is Paris?"]),
    ],
)
def test_parse_questions_cases(reply: str, expected: list[str]) -> None:
    assert parse_questions(reply) == expected


def test_split_text_keeps_every_word_and_respects_the_limit() -> None:
    text = "\n\n".join(d.page_content for d in DOCUMENTS)
    pieces = split_text(text, 300)
    assert all(len(p) <= 300 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    assert all(p[-1] in ".?!" for p in pieces)  # cut on sentence borders here


def test_split_text_by_a_custom_length_and_overlap() -> None:
    words = " ".join(f"w{i}" for i in range(100))
    pieces = split_text(words, 10, lambda s: len(s.split()), overlap=2)
    assert all(len(p.split()) <= 10 for p in pieces)
    assert pieces[1].split()[:2] == pieces[0].split()[-2:]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    with pytest.raises(ValueError, match="at least 1"):
        split_text("x", 0)


def test_format_sources_numbers_and_names_each_piece() -> None:
    docs = [Document("A.", metadata={"source": "a.txt"}), Document("B.")]
    assert format_sources(docs) == "[1] (a.txt) A.\n\n[2] (unknown) B."


def test_the_corpus_has_distinct_topics_and_an_answer_for_each_question() -> None:
    sources = [d.metadata["source"] for d in DOCUMENTS]
    assert len(DOCUMENTS) >= 20 and len(set(sources)) == len(sources)
    assert len(QUESTIONS) >= 20 and {s for _, s in QUESTIONS} == set(sources)
