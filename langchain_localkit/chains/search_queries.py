"""Search-query generation: a question to exactly three web search questions, each ending in "?"."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseLanguageModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import BasePromptTemplate
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from langchain_localkit.chains._common import field_of, unwrap

QUESTIONS_GBNF = r"""root ::= "1. " q "\n2. " q "\n3. " q
q ::= start (" " w){2,18} "?"
start ::= "Who" | "Whom" | "Whose" | "What" | "When" | "Where" | "Which" | "Why" | "How" |
  "Is" | "Are" | "Was" | "Were" | "Do" | "Does" | "Did" | "Can" | "Could" | "Will" |
  "Would" | "Should" | "Has" | "Have" | "Had" | "In" | "On" | "At" | "For" | "From"
w ::= [A-Za-z0-9'-] [A-Za-z0-9',-]{0,15}
"""
"""A llama.cpp grammar for exactly three numbered questions of 3 to 19 words, each opening
like a question ("Who", "What", "Which", "In which", ...) and ending in "?", with no inner
sentence end (so a model cannot ramble into a numbered list of its own)."""

_QUESTIONS_MAX_TOKENS = 320  # room for three 20-word questions; a ramble is cut and drawn again

RECIPE_REPEAT_PENALTY = 1.1
"""The repeat penalty the recipe asks of llama.cpp faces unless their `repeat_penalty` was set:
without one (llama.cpp's default), a small model writes the same question three times."""

_NUMBERING = re.compile(
    r"^\s*(?:\d+\s*[.):-]|[-*\u2022]|(?:q|question|query|search query)\s*\d*\s*[:.)-])?\s*",
    re.IGNORECASE,
)
"""Numbering, bullets and labels ("2)", "-", "Q1:", "Question:", "Search query 3.") at the start."""


def parse_questions(text: str) -> list[str]:
    """The questions in a model's reply, each ending in "?", without duplicates.

    One per line or sentence; numbering, bullets, quotes and markdown bold are stripped. Text
    that is not a question (a preamble, an answer) is dropped.

    Args:
        text: The model's reply.

    Returns:
        The questions in order of appearance (possibly fewer or more than three).

    Example:
        >>> reply = '1. "Who won in 1994?"', "2) **Which team?** maybe", "- Which team?"
        >>> parse_questions(chr(10).join(reply))
        ['Who won in 1994?', 'Which team?']
    """
    found: list[str] = []
    seen: set[str] = set()
    for line in text.replace("\r", "").split("\n"):
        line = _NUMBERING.sub("", line.strip()).replace("**", "").strip()
        for match in re.finditer(r"[^?]*\?", line):
            question = match.group(0).strip().strip("\"'`").strip()
            question = _NUMBERING.sub("", question).strip().strip("\"'`").strip()
            if len(question) < 4 or not question.endswith("?"):
                continue
            key = question.lower()
            if key not in seen:
                seen.add(key)
                found.append(question)
    return found


def supports_grammar(model: Any) -> bool:
    """Whether `model` takes a llama.cpp GBNF `grammar` per call.

    What the model class declares (`supports_grammar`): True for the llama.cpp faces
    (`LlamaCpp`, `ChatLlamaCpp`) and the llama.cpp-server faces (`Llamafile`,
    `ChatLlamafile`), also behind `model.bind(...)`.

    Example:
        >>> from langchain_localkit.chains import supports_grammar
        >>> supports_grammar(object())
        False
    """
    return getattr(type(unwrap(model)), "supports_grammar", False) is True


def _default_prompt(llm: BaseLanguageModel[Any]) -> BasePromptTemplate:
    from langchain_localkit.prompts import (
        QUESTION_PROMPT_SELECTOR,
        SEARCH_QUERIES_CHAT_PROMPT,
        SEARCH_QUERIES_LLAMA_PROMPT,
        is_chat_model,
        is_family,
    )

    if is_chat_model(llm):  # a chat model applies its own template to the messages
        return SEARCH_QUERIES_CHAT_PROMPT
    if is_family(llm, "llama2"):  # a Llama 2 model on any runtime (Ollama, GPT4All, ...)
        return SEARCH_QUERIES_LLAMA_PROMPT
    return QUESTION_PROMPT_SELECTOR.get_prompt(llm)


def search_queries_chain(
    llm: BaseLanguageModel[Any],
    *,
    prompt: BasePromptTemplate | None = None,
    constrain: bool | None = None,
    max_attempts: int = 3,
) -> Runnable[Any, list[str]]:
    """Turn a question into three web search questions, each ending in "?".

    The prompt comes from the pack's `QUESTION_PROMPT_SELECTOR` (Llama 2's special tokens for
    llama.cpp models, plain otherwise), with the Llama 2 prompt for Llama 2 models on other
    runtimes and the chat wording for chat models. Models that take a llama.cpp grammar
    (`LlamaCpp`, `ChatLlamaCpp`, `Llamafile`, `ChatLlamafile`) are constrained to exactly
    three numbered questions (a reply that rambles past its token budget is drawn again with
    another seed), with a repeat penalty of 1.1 unless the model sets its own (three different
    questions are the point; llama.cpp's default is no penalty). Other models' replies are
    parsed tolerantly (numbering, bullets, quotes and preambles are stripped) and the model is
    asked again when fewer than three questions come back. The result is always three real
    questions from the model, or an error: never a padded or invented list.

    Args:
        llm: Any LangChain LLM or chat model.
        prompt: Another prompt (input variable `question`).
        constrain: Use the grammar (default: when `supports_grammar(llm)`).
        max_attempts: Model calls before giving up.

    Returns:
        A runnable: `{"question": ...}` (or the question string) to a list of 3 questions.

    Raises:
        ValueError: `max_attempts` is below 1, or `constrain=True` for a model without
            grammar support.
        OutputParserException: (when invoked) no three questions after `max_attempts` calls.

    Example:
        >>> from langchain_localkit import LlamaCpp
        >>> llm = LlamaCpp(model_path="gemma-3-270m.gguf", seed=0)  # doctest: +SKIP
        >>> chain = search_queries_chain(llm)  # doctest: +SKIP
        >>> chain.invoke(
        ...     {"question": "What NFL team won the Super Bowl in the year Justin Bieber was born?"}
        ... )  # doctest: +SKIP
        ['Who won the Super Bowl in 1994?', ...]
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    grammar_ok = supports_grammar(llm)
    if constrain and not grammar_ok:
        raise ValueError(
            f"{type(unwrap(llm)).__name__} takes no llama.cpp grammar: leave `constrain` unset "
            "to parse its replies tolerantly."
        )
    constrained = grammar_ok if constrain is None else constrain
    chosen = prompt if prompt is not None else _default_prompt(llm)
    inner = unwrap(llm)
    seed = getattr(inner, "seed", None)
    penalty_set = "repeat_penalty" in (getattr(inner, "model_fields_set", None) or ())

    def step(attempt: int) -> Runnable[Any, str]:
        if not constrained:
            return chosen | llm | StrOutputParser()
        options: dict[str, Any] = {"grammar": QUESTIONS_GBNF, "max_tokens": _QUESTIONS_MAX_TOKENS}
        if not penalty_set:
            options["repeat_penalty"] = RECIPE_REPEAT_PENALTY
        if attempt and isinstance(seed, int):
            options["seed"] = (max(seed, 0) + attempt * 7919) % 2**31  # another draw
        return chosen | llm.bind(**options) | StrOutputParser()

    def check(text: str) -> list[str] | None:
        questions = parse_questions(text)
        return questions[:3] if len(questions) >= 3 else None

    def failure(text: str) -> OutputParserException:
        return OutputParserException(
            f"The model did not write three questions ending in '?' in {max_attempts} "
            f"attempt(s); its last reply was {text!r}. Use a bigger instruct model, or a "
            "llama.cpp face (LlamaCpp, ChatLlamaCpp, Llamafile) whose grammar guarantees the "
            "format.",
            llm_output=text,
        )

    def run(value: Any, config: RunnableConfig) -> list[str]:
        inputs = {"question": field_of(value, "question")}
        text = ""
        for attempt in range(max_attempts):
            text = step(attempt).invoke(inputs, config)
            questions = check(text)
            if questions is not None:
                return questions
        raise failure(text)

    async def arun(value: Any, config: RunnableConfig) -> list[str]:
        inputs = {"question": field_of(value, "question")}
        text = ""
        for attempt in range(max_attempts):
            text = await step(attempt).ainvoke(inputs, config)
            questions = check(text)
            if questions is not None:
                return questions
        raise failure(text)

    return RunnableLambda(run, afunc=arun, name="search_queries")


__all__ = [
    "QUESTIONS_GBNF",
    "RECIPE_REPEAT_PENALTY",
    "parse_questions",
    "search_queries_chain",
    "supports_grammar",
]
