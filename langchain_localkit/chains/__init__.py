"""LCEL recipes for local models: the work people run locally for privacy and cost.

- `search_queries_chain(llm)`: a question to three web search questions, each ending in "?"
  (grammar-guaranteed on llama.cpp faces, parsed tolerantly elsewhere).
- `local_rag_chain(llm, embeddings, documents)`: answers from your documents with their
  sources, embedded and retrieved on this machine.
- `summarize_chain(llm)`: map-reduce summaries of texts longer than the context window,
  counted with the model's own tokenizer.
- `local_agent(chat, tools)`: a LangGraph agent that calls tools, then answers.

Each returns a LangChain `Runnable` (`invoke`, `ainvoke`, `batch`, `stream`, callbacks).

Example:
    >>> from langchain_localkit.chains import parse_questions
    >>> parse_questions(chr(10).join(["1. Who won?", "2. When?", "3. Where?"]))
    ['Who won?', 'When?', 'Where?']
"""

from __future__ import annotations

from langchain_localkit.chains._common import RECIPE_PROMPT_LOOKUP
from langchain_localkit.chains._text import split_text
from langchain_localkit.chains.agent import local_agent
from langchain_localkit.chains.rag import (
    build_retriever,
    format_sources,
    local_rag_chain,
    split_documents,
)
from langchain_localkit.chains.search_queries import (
    QUESTIONS_GBNF,
    parse_questions,
    search_queries_chain,
    supports_grammar,
)
from langchain_localkit.chains.summarize import (
    MAP_CHAT_PROMPT,
    MAP_PROMPT,
    REDUCE_CHAT_PROMPT,
    REDUCE_PROMPT,
    context_window,
    summarize_chain,
)

__all__ = [
    "MAP_CHAT_PROMPT",
    "MAP_PROMPT",
    "QUESTIONS_GBNF",
    "RECIPE_PROMPT_LOOKUP",
    "REDUCE_CHAT_PROMPT",
    "REDUCE_PROMPT",
    "build_retriever",
    "context_window",
    "format_sources",
    "local_agent",
    "local_rag_chain",
    "parse_questions",
    "search_queries_chain",
    "split_documents",
    "split_text",
    "summarize_chain",
    "supports_grammar",
]
