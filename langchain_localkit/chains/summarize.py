"""Map-reduce summaries of texts longer than the context window, counted in the model's tokens."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel, BaseLanguageModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import BasePromptTemplate, ChatPromptTemplate, PromptTemplate
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from langchain_localkit.chains._common import (
    field_of,
    takes_max_tokens,
    unwrap,
    with_prompt_lookup,
)
from langchain_localkit.chains._text import split_text

logger = logging.getLogger(__name__)

MAP_PROMPT = PromptTemplate.from_template(
    "Write a concise summary of the following text.\n\n{text}\n\nCONCISE SUMMARY:"
)
"""The map step for text models: one piece of the text to a summary (input `text`)."""
REDUCE_PROMPT = PromptTemplate.from_template(
    "The following are summaries of consecutive parts of one text. Combine them into one "
    "concise summary of the whole text.\n\n{text}\n\nCONCISE SUMMARY:"
)
"""The reduce step for text models: summaries of parts to one summary (input `text`)."""
_SUMMARY_SYSTEM = "You write concise, faithful summaries."
MAP_CHAT_PROMPT = ChatPromptTemplate.from_messages(
    [("system", _SUMMARY_SYSTEM), ("human", MAP_PROMPT.template)]
)
"""The map step for chat models (input `text`)."""
REDUCE_CHAT_PROMPT = ChatPromptTemplate.from_messages(
    [("system", _SUMMARY_SYSTEM), ("human", REDUCE_PROMPT.template)]
)
"""The reduce step for chat models (input `text`)."""

_DEFAULT_WINDOW = 2048  # Ollama's and GPT4All's default context
_MARGIN = 16  # BOS, turn markers the template adds, tokenizer merges at the joins


def context_window(llm: Any) -> int | None:
    """The context window of a model, in tokens, when the model says (None otherwise).

    Reads a loaded llama.cpp model's context (`n_ctx` of the engine: loads the model), else
    the `n_ctx` / `num_ctx` field (`GPT4All`, `ChatOllama`, ...).

    Example:
        >>> from langchain_localkit.chains import context_window
        >>> context_window(object()) is None
        True
    """
    inner = unwrap(llm)
    engine = getattr(inner, "engine", None)
    n_ctx = getattr(engine, "n_ctx", None)
    if callable(n_ctx):
        value = n_ctx()
        return int(value) if value else None
    for name in ("n_ctx", "num_ctx"):
        value = getattr(inner, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _output_budget(llm: Any, default: int) -> int:
    inner = unwrap(llm)
    for name in ("max_tokens", "num_predict", "n_predict"):
        value = getattr(inner, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return default


def _token_counter(llm: BaseLanguageModel[Any]) -> Callable[[str], int]:
    """`llm.get_num_tokens` when it works offline, else an over-estimate (3 characters/token)."""
    try:
        llm.get_num_tokens("probe")
    except (ImportError, NotImplementedError) as e:
        logger.warning(
            "%s cannot count tokens (%s): estimating 1 token per 3 characters.",
            type(unwrap(llm)).__name__,
            e,
        )
        return lambda text: len(text) // 3 + 1
    return llm.get_num_tokens


def summarize_chain(
    llm: BaseLanguageModel[Any],
    *,
    context_window_tokens: int | None = None,
    max_summary_tokens: int | None = None,
    map_prompt: BasePromptTemplate | None = None,
    reduce_prompt: BasePromptTemplate | None = None,
    token_counter: Callable[[str], int] | None = None,
    prompt_lookup: int | None = None,
) -> Runnable[Any, str]:
    """Map-reduce summary of a text of any length, each call within the model's context window.

    The text is split on paragraph, line, sentence and word borders into pieces that fit the
    window together with the prompt and the summary, counted with the model's own tokenizer
    (`get_num_tokens`); each piece is summarised, and the summaries are combined, in groups
    that fit, until one summary is left. The models of this package are held to
    `max_summary_tokens` per call; other models keep their own output limit, so set it (for
    example `num_predict` on Ollama) at most to `max_summary_tokens`.

    Args:
        llm: Any LangChain LLM or chat model.
        context_window_tokens: The model's context window (default: read from the model,
            see `context_window`, else 2048).
        max_summary_tokens: Tokens a summary may take (default: the model's `max_tokens` /
            `num_predict`, else 256).
        map_prompt: Prompt for a piece (input `text`).
        reduce_prompt: Prompt for combining summaries (input `text`).
        token_counter: How to count tokens (default: `llm.get_num_tokens`).
        prompt_lookup: Guessed tokens checked per decoding step (prompt-lookup speculative
            decoding, see `LlamaCpp.prompt_lookup`): summaries reuse the text's words, so on
            `LlamaCpp` / `ChatLlamaCpp` it is on by default (`RECIPE_PROMPT_LOOKUP` tokens)
            unless the model or a `bind` already sets it; 0 turns it off. Other models are
            used as they are.

    Returns:
        A runnable: a text (or `{"text": ...}`) to its summary.

    Raises:
        ValueError: A `prompt_lookup` the model cannot use; (when invoked) the window leaves
            no room for text after the prompt and the summary.

    Example:
        >>> from langchain_localkit import LlamaCpp
        >>> llm = LlamaCpp(model_path="model.gguf", n_ctx=2048, max_tokens=128)  # doctest: +SKIP
        >>> summarize_chain(llm).invoke(long_report)  # doctest: +SKIP
    """
    is_chat = isinstance(unwrap(llm), BaseChatModel)
    map_p = map_prompt or (MAP_CHAT_PROMPT if is_chat else MAP_PROMPT)
    reduce_p = reduce_prompt or (REDUCE_CHAT_PROMPT if is_chat else REDUCE_PROMPT)
    summary_tokens = max_summary_tokens or _output_budget(llm, 256)
    model: Runnable[Any, Any] = with_prompt_lookup(
        llm.bind(max_tokens=summary_tokens) if takes_max_tokens(llm) else llm, prompt_lookup
    )
    map_chain = map_p | model | StrOutputParser()
    reduce_chain = reduce_p | model | StrOutputParser()
    counter: list[Callable[[str], int]] = [token_counter] if token_counter else []

    def count(text: str) -> int:
        if not counter:
            counter.append(_token_counter(llm))
        return counter[0](text)

    def overhead(prompt: BasePromptTemplate) -> int:
        if is_chat and isinstance(prompt, ChatPromptTemplate):
            try:  # the chat template's own tokens, where the model counts them
                return llm.get_num_tokens_from_messages(prompt.format_messages(text=""))
            except (ImportError, NotImplementedError):
                pass
        return count(prompt.format_prompt(text="").to_string())

    def room() -> int:
        window = context_window_tokens or context_window(llm) or _DEFAULT_WINDOW
        used = max(overhead(map_p), overhead(reduce_p))
        free = window - summary_tokens - used - _MARGIN
        if free < 32:
            raise ValueError(
                f"The context window ({window} tokens) leaves no room for text after the prompt "
                f"({used} tokens) and the summary ({summary_tokens} tokens): lower "
                "`max_summary_tokens` or load the model with a larger context."
            )
        return free

    def pieces(text: str, size: int) -> list[dict[str, str]]:
        return [{"text": p} for p in split_text(text, size, count)]

    def merge(summaries: list[str], size: int) -> list[dict[str, str]] | None:
        """Groups of summaries that fit, or None when done."""
        if len(summaries) <= 1:
            return None
        groups = pieces("\n\n".join(summaries), size)
        if len(groups) >= len(summaries):
            raise ValueError(
                f"The summaries ({summary_tokens} tokens each at most) do not fit {size} "
                "tokens two at a time: lower `max_summary_tokens` or use a larger context."
            )
        return groups

    def run(value: Any, config: RunnableConfig) -> str:
        size = room()
        batch = pieces(field_of(value, "text"), size)
        summaries = [s.strip() for s in map_chain.batch(batch, config, max_concurrency=1)]
        while (groups := merge(summaries, size)) is not None:
            summaries = [s.strip() for s in reduce_chain.batch(groups, config, max_concurrency=1)]
        return summaries[0] if summaries else ""

    async def arun(value: Any, config: RunnableConfig) -> str:
        size = room()
        batch = pieces(field_of(value, "text"), size)
        done = await map_chain.abatch(batch, config, max_concurrency=1)
        summaries = [s.strip() for s in done]
        while (groups := merge(summaries, size)) is not None:
            done = await reduce_chain.abatch(groups, config, max_concurrency=1)
            summaries = [s.strip() for s in done]
        return summaries[0] if summaries else ""

    return RunnableLambda(run, afunc=arun, name="summarize")


__all__ = [
    "MAP_CHAT_PROMPT",
    "MAP_PROMPT",
    "REDUCE_CHAT_PROMPT",
    "REDUCE_PROMPT",
    "context_window",
    "summarize_chain",
]
