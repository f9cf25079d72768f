"""The tolerant question parser, on replies small models really wrote."""

from __future__ import annotations

import re

import pytest
from langchain_core.documents import Document

from langchain_localkit.chains import QUESTIONS_GBNF, format_sources, parse_questions
from langchain_localkit.testing.corpus import DOCUMENTS, QUESTIONS

# Unconstrained replies of Gemma 3 270M (base) to the search-query prompts, seeds 0-2.
GEMMA_SELECTOR_0 = (
    "\n\nAnswer: <BR>NFL team = Atlanta Falcons\nQuestion: What is the fastest person ever to "
    "finish a 5k race?\nAnswer: <BR>5K = 60 min x 72 hr = 4 days of training / 31.8 miles = 4 "
    "hours 59 minutes (I need some help with this)\n\nQ1: What is the fastest person ever to "
    "have an average speed of over 40 mph?\nAnswer:"
)
GEMMA_SELECTOR_2 = (
    "\n\n[URL]http://www.thegourmetapp.com/search/1[/URL]\n<LINK>https://www.google.com</LINK>"
    "\n\n\nQuestion: What is the world's biggest dog? [/LINK]\n[URL]http://www.thegourmetapp."
    "com/search/1[/URL]\n\n<LINK>https://www.google.com</LINK>\n\nQuestion: Do you ever hear "
    "of a new doctor?\n"
)
GEMMA_CHAT_1 = (
    "I used to say, \u201cI have 40 questions.\u201d\n\nQuestion: What is your favorite TV "
    "show?\n\u3059\u308b\u5834\u5408\u306fmodel\nI\u2019m not sure. I don\u2019t know what my "
    "favorite TV show is.\n\nQuestion: Who was the NFL team that won Super Bowl LI in 2017? "
    "mendatang\n)}^{model}\nI had to go to a different hotel than you did.\n\nQuestion"
)
# Shapes bigger instruct models answer with.
INSTRUCT_MARKDOWN = (
    "Sure! Here are three search queries:\n\n"
    '1. **"Which team won Super Bowl XXIX?"**\n'
    "2) When was Justin Bieber born?\n"
    "   - Who won the Super Bowl in 1994?\n"
    "I hope this helps!"
)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param(
            GEMMA_SELECTOR_0,
            [
                "What is the fastest person ever to finish a 5k race?",
                "What is the fastest person ever to have an average speed of over 40 mph?",
            ],
            id="gemma_reply_with_labels_and_answers",
        ),
        pytest.param(
            GEMMA_SELECTOR_2,
            ["What is the world's biggest dog?", "Do you ever hear of a new doctor?"],
            id="gemma_reply_with_markup_keeps_only_questions",
        ),
        pytest.param(
            GEMMA_CHAT_1,
            [
                "What is your favorite TV show?",
                "Who was the NFL team that won Super Bowl LI in 2017?",
            ],
            id="gemma_chat_reply_with_foreign_tokens",
        ),
        pytest.param(
            INSTRUCT_MARKDOWN,
            [
                "Which team won Super Bowl XXIX?",
                "When was Justin Bieber born?",
                "Who won the Super Bowl in 1994?",
            ],
            id="instruct_markdown_list",
        ),
    ],
)
def test_model_replies(reply: str, expected: list[str]) -> None:
    assert parse_questions(reply) == expected


def test_several_questions_on_one_line_and_duplicates() -> None:
    text = "Search query 1: Who won? Where was it played?\nQ2. who won?\n3 - When?"
    assert parse_questions(text) == ["Who won?", "Where was it played?", "When?"]


@pytest.mark.parametrize("text", ["", "No questions here.", "?", "1. ?\n2. a?"])
def test_no_questions(text: str) -> None:
    assert parse_questions(text) == []


def test_windows_line_ends() -> None:
    assert parse_questions("1. Who?\r\n2. What now?\r\n3. Why so?") == [
        "Who?",
        "What now?",
        "Why so?",
    ]


def test_grammar_shape_parses_to_three() -> None:
    # the shape QUESTIONS_GBNF allows: "1. " q "\n2. " q "\n3. " q
    assert QUESTIONS_GBNF.startswith('root ::= "1. " q "\\n2. " q "\\n3. " q')
    reply = (
        "1. Who won the Super Bowl in 1994?\n2. When was Justin Bieber born?\n"
        "3. Which NFL team won Super Bowl XXVIII, in Atlanta?"
    )
    questions = parse_questions(reply)
    assert len(questions) == 3
    assert all(re.fullmatch(r"[A-Z][^?]*\?", q) for q in questions)


def test_grammar_compiles_in_llama_cpp() -> None:
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    assert llama_grammar.LlamaGrammar.from_string(QUESTIONS_GBNF, verbose=False) is not None


MESSY = """Sure! Here are three search queries:

1. **Which NFL team won Super Bowl XXVIII?**
2) "Who won the Super Bowl in 1994?"
- What year was Justin Bieber born? (He was born in 1994.)
3. Which NFL team won Super Bowl XXVIII?
"""


def test_messy_reply_gives_each_question_once() -> None:
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
        ("1. Where is Paris?\n2. Where is Paris?\n3. where is paris?", ["Where is Paris?"]),
    ],
)
def test_parse_questions_cases(reply: str, expected: list[str]) -> None:
    assert parse_questions(reply) == expected


def test_format_sources_numbers_and_names_each_piece() -> None:
    docs = [Document("A.", metadata={"source": "a.txt"}), Document("B.")]
    assert format_sources(docs) == "[1] (a.txt) A.\n\n[2] (unknown) B."


def test_the_corpus_has_distinct_topics_and_an_answer_for_each_question() -> None:
    sources = [d.metadata["source"] for d in DOCUMENTS]
    assert len(DOCUMENTS) >= 20 and len(set(sources)) == len(sources)
    assert len(QUESTIONS) >= 20 and {s for _, s in QUESTIONS} == set(sources)
