"""LCEL recipes for local models: search queries, local RAG, summaries, a tool-using agent."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel, BaseLanguageModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import BasePromptTemplate, ChatPromptTemplate, PromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import (
    Runnable,
    RunnableConfig,
    RunnableLambda,
    RunnableParallel,
    RunnablePassthrough,
)
from langchain_core.vectorstores import InMemoryVectorStore, VectorStore

from langchain_localkit.chains._text import split_text

# --- search queries ------------------------------------------------------------------------------
QUESTIONS_GBNF = r"""root ::= "1. " q "\n2. " q "\n3. " q
q ::= [A-Z] [a-z]{1,11} (" " w){2,19} "?"
w ::= [A-Za-z0-9'-] [A-Za-z0-9',-]{0,13}
"""
"""A llama.cpp grammar for exactly three numbered questions of 3 to 20 words, each ending in
"?" (no inner sentence ends, so a model cannot ramble into a numbered list of its own)."""

_QUESTIONS_MAX_TOKENS = 320  # room for three 20-word questions; a ramble is cut and retried

_NUMBERING = re.compile(r"^\s*(?:\d+\s*[.):-]|[-*\u2022]|q\d*\s*[:.)-])?\s*", re.IGNORECASE)


def parse_questions(text: str) -> list[str]:
    """The questions in a model's reply, each ending in "?", without duplicates.

    One per line or sentence; numbering, bullets, quotes and markdown are stripped.

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


def _unwrap(model: Any) -> Any:
    for _ in range(8):
        bound = getattr(model, "bound", None)
        if bound is None or not hasattr(bound, "invoke"):
            break
        model = bound
    return model


def supports_grammar(model: Any) -> bool:
    """Whether `model` takes a llama.cpp GBNF `grammar` per call (our llama.cpp faces)."""
    from langchain_localkit._llamacpp import LlamaCppParams
    from langchain_localkit.llms.llamafile import LlamafileConnection

    inner = _unwrap(model)
    return isinstance(inner, LlamaCppParams | LlamafileConnection)


def _question(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "question" in value:
        return str(value["question"])
    raise TypeError(f"Expected a question string or {{'question': ...}}, not {value!r}")


def search_queries_chain(
    llm: BaseLanguageModel[Any],
    *,
    prompt: BasePromptTemplate | None = None,
    max_attempts: int = 3,
) -> Runnable[Any, list[str]]:
    """Turn a question into three web search questions, each ending in "?".

    The prompt comes from the pack's `QUESTION_PROMPT_SELECTOR` (Llama 2's special tokens for
    llama.cpp models, plain otherwise; chat models get the chat wording). Models that take a
    llama.cpp grammar (`LlamaCpp`, `ChatLlamaCpp`, `Llamafile`, `ChatLlamafile`) are
    constrained to exactly three numbered questions (a reply the grammar lets ramble past its
    token budget is drawn again with another seed); other models' replies are parsed
    tolerantly and asked again when fewer than three questions come back.

    Args:
        llm: Any LangChain LLM or chat model.
        prompt: Another prompt (input variable `question`).
        max_attempts: Calls before giving up.

    Returns:
        A runnable: `{"question": ...}` (or the question string) to a list of 3 questions.

    Raises:
        OutputParserException: (when invoked) no three questions after `max_attempts` calls.

    Example:
        >>> chain = search_queries_chain(llm)  # doctest: +SKIP
        >>> chain.invoke(
        ...     {"question": "What NFL team won the Super Bowl in the year Justin Bieber was born?"}
        ... )  # doctest: +SKIP
        ['Who won the Super Bowl in 1994?', ...]
    """
    from langchain_localkit.prompts import QUESTION_PROMPT_SELECTOR, SEARCH_QUERIES_CHAT_PROMPT

    is_chat = isinstance(_unwrap(llm), BaseChatModel)
    if prompt is None:
        prompt = SEARCH_QUERIES_CHAT_PROMPT if is_chat else QUESTION_PROMPT_SELECTOR.get_prompt(llm)
    constrained = supports_grammar(llm)
    tries = max(1, max_attempts)

    def inner(attempt: int) -> Runnable[Any, str]:
        if not constrained:
            return prompt | llm | StrOutputParser()
        options: dict[str, Any] = {"grammar": QUESTIONS_GBNF, "max_tokens": _QUESTIONS_MAX_TOKENS}
        seed = getattr(_unwrap(llm), "seed", None)
        if attempt and isinstance(seed, int):
            options["seed"] = (max(seed, 0) + attempt * 7919) % 2**31  # another draw
        return prompt | llm.bind(**options) | StrOutputParser()

    def check(text: str) -> list[str] | None:
        questions = parse_questions(text)
        return questions[:3] if len(questions) >= 3 else None

    def failure(text: str) -> OutputParserException:
        return OutputParserException(
            f"The model did not write three questions ending in '?' in {tries} "
            f"attempt(s); its last reply was {text!r}. Use a bigger instruct model, or a "
            "llama.cpp face whose grammar guarantees the format.",
            llm_output=text,
        )

    def run(value: Any, config: RunnableConfig) -> list[str]:
        inputs = {"question": _question(value)}
        text = ""
        for attempt in range(tries):
            text = inner(attempt).invoke(inputs, config)
            questions = check(text)
            if questions is not None:
                return questions
        raise failure(text)

    async def arun(value: Any, config: RunnableConfig) -> list[str]:
        inputs = {"question": _question(value)}
        text = ""
        for attempt in range(tries):
            text = await inner(attempt).ainvoke(inputs, config)
            questions = check(text)
            if questions is not None:
                return questions
        raise failure(text)

    return RunnableLambda(run, afunc=arun, name="search_queries")


# --- local RAG -----------------------------------------------------------------------------------
def _as_documents(documents: Sequence[Document | str]) -> list[Document]:
    out: list[Document] = []
    for i, doc in enumerate(documents):
        if isinstance(doc, str):
            doc = Document(page_content=doc, metadata={"source": f"document {i + 1}"})
        elif "source" not in doc.metadata:
            doc = Document(
                page_content=doc.page_content,
                metadata={**doc.metadata, "source": f"document {i + 1}"},
                id=doc.id,
            )
        out.append(doc)
    return out


def build_retriever(
    embeddings: Embeddings,
    documents: Sequence[Document | str],
    *,
    k: int = 3,
    chunk_size: int = 800,
    chunk_overlap: int = 80,
    vectorstore: VectorStore | None = None,
) -> BaseRetriever:
    """Split `documents`, embed the pieces locally and return a retriever of the `k` nearest.

    Args:
        embeddings: Local embeddings (`LlamaCppEmbeddings`, `GPT4AllEmbeddings`, ...).
        documents: `Document`s or strings (a string's source is "document N").
        k: Pieces retrieved per question.
        chunk_size: Characters per piece at most.
        chunk_overlap: Characters shared by neighbouring pieces.
        vectorstore: Where to store them (default: a new `InMemoryVectorStore`).
    """
    chunks: list[Document] = []
    for doc in _as_documents(documents):
        pieces = split_text(doc.page_content, chunk_size, overlap=chunk_overlap)
        for j, piece in enumerate(pieces):
            chunks.append(Document(page_content=piece, metadata={**doc.metadata, "chunk": j}))
    store = vectorstore if vectorstore is not None else InMemoryVectorStore(embeddings)
    if chunks:
        store.add_documents(chunks)
    return store.as_retriever(search_kwargs={"k": k})


def format_sources(documents: Sequence[Document]) -> str:
    """The retrieved pieces as numbered context, each with its source: `[1] (source) text`."""
    return "\n\n".join(
        f"[{i}] ({doc.metadata.get('source', 'unknown')}) {doc.page_content}"
        for i, doc in enumerate(documents, 1)
    )


def local_rag_chain(
    llm: BaseLanguageModel[Any],
    embeddings: Embeddings | None = None,
    documents: Sequence[Document | str] | None = None,
    *,
    retriever: BaseRetriever | None = None,
    k: int = 3,
    chunk_size: int = 800,
    chunk_overlap: int = 80,
    vectorstore: VectorStore | None = None,
    prompt: BasePromptTemplate | None = None,
) -> Runnable[Any, dict[str, Any]]:
    """Answer questions from your documents, all on this machine, citing the sources.

    The documents are split, embedded with `embeddings` and stored (an `InMemoryVectorStore`
    unless you pass a vector store), or you pass your own `retriever`. A question retrieves the
    `k` nearest pieces, which are numbered with their sources into the model family's RAG
    prompt (`RAG_PROMPT_SELECTOR`).

    Args:
        llm: Any LangChain LLM or chat model.
        embeddings: Local embeddings (needed unless `retriever` is given).
        documents: `Document`s or strings (needed unless `retriever` is given).
        retriever: A retriever to use instead of building one.
        k: Pieces retrieved per question.
        chunk_size: Characters per piece at most.
        chunk_overlap: Characters shared by neighbouring pieces.
        vectorstore: Where to store the pieces (default: a new `InMemoryVectorStore`).
        prompt: Another prompt (inputs `context` and `question`).

    Returns:
        A runnable: a question (or `{"question": ...}`) to `{"answer": str, "sources":
        list[Document]}`.

    Example:
        >>> rag = local_rag_chain(llm, LlamaCppEmbeddings(model_path=...), docs)  # doctest: +SKIP
        >>> out = rag.invoke("When did Apollo 11 land?")  # doctest: +SKIP
        >>> out["answer"], [d.metadata["source"] for d in out["sources"]]  # doctest: +SKIP
    """
    from langchain_localkit.prompts import RAG_PROMPT_SELECTOR

    if retriever is None:
        if embeddings is None or documents is None:
            raise ValueError("Pass `embeddings` and `documents`, or a `retriever`.")
        retriever = build_retriever(
            embeddings,
            documents,
            k=k,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            vectorstore=vectorstore,
        )
    if prompt is None:
        prompt = RAG_PROMPT_SELECTOR.get_prompt(llm)
    question = RunnableLambda(_question, name="question")
    answer = prompt | llm | StrOutputParser()
    chain = (
        RunnableParallel(question=question, sources=question | retriever)
        | RunnablePassthrough.assign(context=lambda x: format_sources(x["sources"]))
        | RunnablePassthrough.assign(answer=answer)
        | RunnableLambda(lambda x: {"answer": x["answer"].strip(), "sources": x["sources"]})
    )
    return chain.with_config(run_name="local_rag")


# --- summaries -----------------------------------------------------------------------------------
MAP_PROMPT = PromptTemplate.from_template(
    "Write a concise summary of the following text.\n\n{text}\n\nCONCISE SUMMARY:"
)
"""The map step: one piece of the text to a summary (input `text`)."""
REDUCE_PROMPT = PromptTemplate.from_template(
    "The following are summaries of consecutive parts of one text. Combine them into one "
    "concise summary of the whole text.\n\n{text}\n\nCONCISE SUMMARY:"
)
"""The reduce step: summaries of parts to one summary (input `text`)."""
MAP_CHAT_PROMPT = ChatPromptTemplate.from_messages(
    [("system", "You write concise, faithful summaries."), ("human", MAP_PROMPT.template)]
)
REDUCE_CHAT_PROMPT = ChatPromptTemplate.from_messages(
    [("system", "You write concise, faithful summaries."), ("human", REDUCE_PROMPT.template)]
)


def context_window(llm: Any) -> int | None:
    """The context window of a model of this package, in tokens (None when unknown)."""
    inner = _unwrap(llm)
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
    inner = _unwrap(llm)
    for name in ("max_tokens", "num_predict", "n_predict"):
        value = getattr(inner, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return default


def summarize_chain(
    llm: BaseLanguageModel[Any],
    *,
    context_window_tokens: int | None = None,
    max_summary_tokens: int | None = None,
    map_prompt: BasePromptTemplate | None = None,
    reduce_prompt: BasePromptTemplate | None = None,
    token_counter: Callable[[str], int] | None = None,
) -> Runnable[Any, str]:
    """Map-reduce summary of a text of any length, each call within the model's context window.

    The text is split on paragraph, line, sentence and word borders into pieces that fit the
    window together with the prompt and the summary (counted with the model's own tokenizer,
    `get_num_tokens`); each piece is summarised (in one batch), and the summaries are combined,
    in groups that fit, until one summary is left.

    Args:
        llm: Any LangChain LLM or chat model.
        context_window_tokens: The model's context window (default: read from the model of
            this package, else 2048).
        max_summary_tokens: Tokens a summary may take (default: the model's `max_tokens`,
            else 256); it bounds the generation of every step.
        map_prompt: Prompt for a piece (input `text`).
        reduce_prompt: Prompt for combining summaries (input `text`).
        token_counter: How to count tokens (default: `llm.get_num_tokens`).

    Returns:
        A runnable: a text (or `{"text": ...}`) to its summary.

    Example:
        >>> summarize = summarize_chain(LlamaCpp(model_path=..., n_ctx=2048))  # doctest: +SKIP
        >>> summarize.invoke(long_report)  # doctest: +SKIP
    """
    is_chat = isinstance(_unwrap(llm), BaseChatModel)
    map_p = map_prompt or (MAP_CHAT_PROMPT if is_chat else MAP_PROMPT)
    reduce_p = reduce_prompt or (REDUCE_CHAT_PROMPT if is_chat else REDUCE_PROMPT)
    count = token_counter or llm.get_num_tokens
    summary_tokens = max_summary_tokens or _output_budget(llm, 256)
    model: Runnable[Any, Any] = llm.bind(max_tokens=summary_tokens) if max_summary_tokens else llm
    map_chain = map_p | model | StrOutputParser()
    reduce_chain = reduce_p | model | StrOutputParser()

    def budget() -> int:
        window = context_window_tokens or context_window(llm) or 2048
        overhead = max(count(_render(map_p)), count(_render(reduce_p)))
        room = window - summary_tokens - overhead - 16  # template tokens, BOS, turn markers
        if room < 32:
            raise ValueError(
                f"The context window ({window} tokens) leaves no room for text after the prompt "
                f"({overhead} tokens) and the summary ({summary_tokens} tokens): lower "
                "`max_summary_tokens` or load the model with a larger context."
            )
        return room

    def text_of(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "text" in value:
            return str(value["text"])
        raise TypeError(f"Expected a text or {{'text': ...}}, not {value!r}")

    def run(value: Any, config: RunnableConfig) -> str:
        room = budget()
        pieces = split_text(text_of(value), room, count)
        summaries = [
            s.strip()
            for s in map_chain.batch([{"text": p} for p in pieces], config, max_concurrency=1)
        ]
        while len(summaries) > 1:
            groups = split_text("\n\n".join(summaries), room, count)
            if len(groups) >= len(summaries):
                raise ValueError(
                    f"The summaries ({summary_tokens} tokens each at most) do not fit "
                    f"{room} tokens two at a time: lower `max_summary_tokens` or use a "
                    "larger context window."
                )
            batch = [{"text": g} for g in groups]
            summaries = [s.strip() for s in reduce_chain.batch(batch, config, max_concurrency=1)]
        return summaries[0] if summaries else ""

    return RunnableLambda(run, name="summarize")


def _render(prompt: BasePromptTemplate) -> str:
    return prompt.format_prompt(text="").to_string()


# --- a tool-using agent --------------------------------------------------------------------------
def local_agent(
    chat: BaseChatModel,
    tools: Sequence[Any],
    *,
    first_tool_choice: str = "any",
    max_tool_rounds: int = 3,
) -> Any:
    """A LangGraph agent for a local chat model: call tools, then answer.

    Small local models answer better when the first turn must call a tool
    (`first_tool_choice="any"`, or a tool name) and later turns may (`"auto"`), and when the
    number of tool rounds is bounded (`max_tool_rounds`; after that the model answers without
    tools). With `ChatLlamaCpp` every call is grammar-constrained to the tools' schemas.

    Args:
        chat: A chat model with `bind_tools`.
        tools: Functions, `BaseTool`s or Pydantic models.
        first_tool_choice: Tool choice of the first turn ("any", "auto" or a tool name).
        max_tool_rounds: Tool rounds before the model must answer.

    Returns:
        A compiled LangGraph graph: `graph.invoke({"messages": [("human", "...")]})`.

    Raises:
        RuntimeNotInstalledError: `langgraph` is not installed.
    """
    try:
        from langgraph.graph import END, START, MessagesState, StateGraph
        from langgraph.prebuilt import ToolNode
    except ImportError as e:
        from langchain_localkit._core.errors import RuntimeNotInstalledError

        raise RuntimeNotInstalledError("langgraph", "agent", "local_agent") from e
    from langchain_core.messages import AIMessage, ToolMessage

    first = chat.bind_tools(list(tools), tool_choice=first_tool_choice)
    later = chat.bind_tools(list(tools), tool_choice="auto")

    # LangGraph reads these annotations at run time: module-level names only
    def agent(state: Any) -> dict[str, list[Any]]:
        rounds = sum(1 for m in state["messages"] if isinstance(m, AIMessage) and m.tool_calls)
        used = any(isinstance(m, ToolMessage) for m in state["messages"])
        model = chat if rounds >= max_tool_rounds else (later if used else first)
        return {"messages": [model.invoke(state["messages"])]}

    def route(state: Any) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(list(tools)))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph.compile()


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
    "summarize_chain",
    "supports_grammar",
]
