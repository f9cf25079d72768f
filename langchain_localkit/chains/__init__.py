"""LCEL recipes for local models: the work people run locally for privacy and cost.

- `search_queries_chain(llm)`: a question to three web search questions (grammar-guaranteed
  on llama.cpp faces, parsed tolerantly elsewhere).
- `local_rag_chain(llm, embeddings, documents)`: answers from your documents with their
  sources, embedded and retrieved on this machine.
- `summarize_chain(llm)`: map-reduce summaries of texts longer than the context window.
- `local_agent(chat, tools)`: a LangGraph agent that calls tools, then answers.

Example:
    >>> from langchain_localkit.chains import parse_questions
    >>> parse_questions(chr(10).join(["1. Who won?", "2. When?", "3. Where?"]))
    ['Who won?', 'When?', 'Where?']
"""

from __future__ import annotations

from langchain_localkit.chains._text import split_text
from langchain_localkit.chains.recipes import (
    MAP_PROMPT,
    QUESTIONS_GBNF,
    REDUCE_PROMPT,
    build_retriever,
    context_window,
    format_sources,
    local_agent,
    local_rag_chain,
    parse_questions,
    search_queries_chain,
    summarize_chain,
    supports_grammar,
)

__all__ = [
    "MAP_PROMPT",
    "QUESTIONS_GBNF",
    "REDUCE_PROMPT",
    "build_retriever",
    "context_window",
    "format_sources",
    "local_agent",
    "local_rag_chain",
    "parse_questions",
    "search_queries_chain",
    "split_text",
    "summarize_chain",
    "supports_grammar",
]
