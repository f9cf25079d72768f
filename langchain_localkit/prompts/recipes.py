"""The recipes' prompts, shipped in the package (no prompt hub, no API key).

Search-query generation, as in LangChain's "run LLMs locally" guide: a plain prompt and one
written with Llama 2's special tokens, chosen by `QUESTION_PROMPT_SELECTOR` (the Llama variant
for llama.cpp models, as the guide does it). `SEARCH_QUERIES_SELECTOR` goes further and gives
every model its own family's format.

Local RAG: one chat wording, rendered for every built-in family (`RAG_PROMPTS`), picked by
`RAG_PROMPT_SELECTOR`; `RAG_PROMPT_LLAMA` is the Llama 2 one people know from the prompt hub.

Values filled into the family-specific prompts (the question, the retrieved context) are
guarded: a document containing `[/INST]` cannot end the instruction early.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from langchain_core.prompts import BasePromptTemplate, ChatPromptTemplate, PromptTemplate

from langchain_localkit.prompts.families import BUILTIN_FAMILIES
from langchain_localkit.prompts.selectors import (
    ConditionalPromptSelector,
    FamilyPromptSelector,
    is_llama_cpp,
)
from langchain_localkit.prompts.templates import GuardedPromptTemplate, to_family_prompt

SEARCH_QUERIES_SYSTEM = (
    "You help people get better web search results by turning their question into good "
    "search queries."
)
SEARCH_QUERIES_INSTRUCTION = (
    "Write THREE web search queries that are similar to the question below. Answer with a "
    "numbered list of three questions, and end each one with a question mark."
)

SEARCH_QUERIES_PROMPT = PromptTemplate.from_template(
    SEARCH_QUERIES_SYSTEM + " " + SEARCH_QUERIES_INSTRUCTION + "\n\nQuestion: {question}"
)
"""The plain search-query prompt (input: `question`), for any model."""

SEARCH_QUERIES_LLAMA_PROMPT = GuardedPromptTemplate.from_template(
    "[INST] <<SYS>>\n"
    + SEARCH_QUERIES_SYSTEM
    + "\n<</SYS>>\n\n"
    + SEARCH_QUERIES_INSTRUCTION
    + "\n\nQuestion: {question} [/INST]",
    family="llama2",
)
"""The search-query prompt in Llama 2's format (`[INST] <<SYS>> ... [/INST]`; BOS is left to
the runtime). The question is guarded against Llama 2's control strings."""

SEARCH_QUERIES_CHAT_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SEARCH_QUERIES_SYSTEM),
        ("human", SEARCH_QUERIES_INSTRUCTION + "\n\nQuestion: {question}"),
    ]
)
"""The search-query prompt for chat models (they apply their own template)."""

QUESTION_PROMPT_SELECTOR = ConditionalPromptSelector(
    default_prompt=SEARCH_QUERIES_PROMPT,
    conditionals=[(is_llama_cpp, SEARCH_QUERIES_LLAMA_PROMPT)],
)
"""The guide's selector: the Llama 2 variant for llama.cpp models, the plain one otherwise.

`prompt = QUESTION_PROMPT_SELECTOR.get_prompt(llm)`. Like the guide, it gives Llama 2 tokens to
every llama.cpp model whatever it runs; prefer `SEARCH_QUERIES_SELECTOR` for other models."""

SEARCH_QUERIES_SELECTOR = FamilyPromptSelector(
    default_prompt=SEARCH_QUERIES_PROMPT,
    prompts={"llama2": SEARCH_QUERIES_LLAMA_PROMPT},
    chat_prompt=SEARCH_QUERIES_CHAT_PROMPT,
)
"""The search-query prompt in each model's own format (detected), plain for unknown models and
the chat prompt for chat models."""

# Names used by LangChain's guide, for copy-paste migrations.
DEFAULT_SEARCH_PROMPT = SEARCH_QUERIES_PROMPT
DEFAULT_LLAMA_SEARCH_PROMPT = SEARCH_QUERIES_LLAMA_PROMPT

RAG_SYSTEM = (
    "You answer questions using only the context you are given. If the context does not "
    "contain the answer, say that you don't know. Answer in three sentences at most."
)

RAG_CHAT_PROMPT = ChatPromptTemplate.from_messages(
    [("system", RAG_SYSTEM), ("human", "Context:\n{context}\n\nQuestion: {question}")]
)
"""The RAG prompt for chat models (inputs: `context`, `question`)."""

RAG_PROMPT = PromptTemplate.from_template(
    RAG_SYSTEM + "\n\nContext:\n{context}\n\nQuestion: {question}\n\nAnswer:"
)
"""The plain RAG prompt, for models of unknown family."""

RAG_PROMPTS: Mapping[str, BasePromptTemplate] = MappingProxyType(
    {family.name: to_family_prompt(RAG_CHAT_PROMPT, family) for family in BUILTIN_FAMILIES}
)
"""One RAG prompt per built-in family, in that family's format (read-only mapping)."""

RAG_PROMPT_LLAMA = RAG_PROMPTS["llama2"]
"""The RAG prompt in Llama 2's format (what the prompt hub's `rlm/rag-prompt-llama` offered)."""

RAG_PROMPT_SELECTOR = FamilyPromptSelector(
    default_prompt=RAG_PROMPT, prompts=dict(RAG_PROMPTS), chat_prompt=RAG_CHAT_PROMPT
)
"""The RAG prompt for a model: its family's, the chat one for chat models, else the plain one."""

__all__ = [
    "DEFAULT_LLAMA_SEARCH_PROMPT",
    "DEFAULT_SEARCH_PROMPT",
    "QUESTION_PROMPT_SELECTOR",
    "RAG_CHAT_PROMPT",
    "RAG_PROMPT",
    "RAG_PROMPTS",
    "RAG_PROMPT_LLAMA",
    "RAG_PROMPT_SELECTOR",
    "RAG_SYSTEM",
    "SEARCH_QUERIES_CHAT_PROMPT",
    "SEARCH_QUERIES_INSTRUCTION",
    "SEARCH_QUERIES_LLAMA_PROMPT",
    "SEARCH_QUERIES_PROMPT",
    "SEARCH_QUERIES_SELECTOR",
    "SEARCH_QUERIES_SYSTEM",
]
