"""Bad calls on the in-process chat and text faces: grammars, tool schemas, messages.

A GBNF grammar llama.cpp cannot parse used to kill the process (llama-cpp-python adds the NULL
sampler `llama_sampler_init_grammar` returns to its chain and the next token dereferences
it); it is now checked with llama.cpp's own parser first and raised as a `GrammarError`. Tool
and response schemas no grammar can follow are refused when they are bound, and messages no
chat model can answer are refused before rendering.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    ToolMessage,
)
from pydantic import ValidationError

from langchain_localkit import (
    ChatGPT4All,
    ChatLlamaCpp,
    GrammarError,
    InvalidRequestError,
    LlamaCpp,
)
from tests.reliability._record import expect_error, figure

pytestmark = pytest.mark.timeout(120)

FACES = ["LlamaCpp", "ChatLlamaCpp"]
GBNF_DOCS = "grammars/README.md"


def _face(runtime: str, path: Path, **kwargs: Any) -> Any:
    if runtime == "LlamaCpp":
        return LlamaCpp(model_path=str(path), max_tokens=4, n_ctx=256, n_batch=64, **kwargs)
    if runtime == "ChatLlamaCpp":
        return ChatLlamaCpp(model_path=str(path), max_tokens=4, n_ctx=256, n_batch=64, **kwargs)
    pytest.importorskip("gpt4all")
    return ChatGPT4All(model=str(path), max_tokens=4, n_ctx=256, **kwargs)


# --- 4. malformed grammars --------------------------------------------------------------------

BAD_GRAMMARS = {
    "grammar-unclosed": ("root ::= ( unclosed", ["expecting ')'"]),
    "grammar-undefined-rule": ("root ::= greeting", ["greeting", "define every rule"]),
    "grammar-no-root": ('start ::= "yes" | "no"', ["root", "generation starts there"]),
    "grammar-left-recursion": ('root ::= root "a" | "a"', ["left recursion"]),
    "grammar-reversed-repeat": ('root ::= "a"{3,1}', ["{3,1}", "{1,3}"]),
    "grammar-bad-escape": ('root ::= "\\q"', ["escape"]),
}
"""Grammars llama.cpp cannot use, and what the error must say (besides the GBNF docs)."""


@pytest.mark.parametrize("runtime", FACES)
@pytest.mark.parametrize("case", list(BAD_GRAMMARS))
def test_malformed_grammar_as_call_option(runtime: str, case: str, tiny_gguf_path: Path) -> None:
    grammar, words = BAD_GRAMMARS[case]
    face = _face(runtime, tiny_gguf_path)
    expect_error(
        case,
        runtime,
        GrammarError,
        lambda: face.invoke("hi", grammar=grammar),
        must_say=[*words, "invalid gbnf grammar", GBNF_DOCS],
    )
    # the model is unharmed, and a valid grammar still constrains it
    assert _text(face.invoke("hi", grammar='root ::= "yes"')) == "yes"


def _text(reply: Any) -> str:
    return reply if isinstance(reply, str) else str(reply.content)


@pytest.mark.parametrize("runtime", FACES)
def test_grammar_of_the_wrong_type(runtime: str, tiny_gguf_path: Path) -> None:
    face = _face(runtime, tiny_gguf_path)
    expect_error(
        "grammar-wrong-type",
        runtime,
        GrammarError,
        lambda: face.invoke("hi", grammar=42),
        must_say=["grammar=42", "GBNF string"],
    )


@pytest.mark.parametrize("runtime", FACES)
def test_malformed_grammar_as_field(runtime: str, tiny_gguf_path: Path) -> None:
    """Parsed by llama.cpp when the model is there: at the first call, not at construction."""
    face = _face(runtime, tiny_gguf_path, grammar="root ::= ( unclosed")
    expect_error(
        "grammar-field-invalid",
        runtime,
        GrammarError,
        lambda: face.invoke("hi"),
        must_say=["expecting ')'", GBNF_DOCS],
    )
    expect_error(
        "grammar-field-reversed-repeat",
        runtime,
        ValidationError,
        lambda: _face(runtime, tiny_gguf_path, grammar="root ::= [a-z]{5,2}"),
        must_say=["{5,2}", "{2,5}", GBNF_DOCS],
    )


@pytest.mark.parametrize("runtime", FACES)
def test_grammar_files(runtime: str, tiny_gguf_path: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.gbnf"
    expect_error(
        "grammar-file-missing",
        runtime,
        ValidationError,
        lambda: _face(runtime, tiny_gguf_path, grammar_path=str(missing)),
        must_say=["grammar file not found", "missing.gbnf"],
    )
    empty = tmp_path / "empty.gbnf"
    empty.write_text("\n", encoding="utf-8")
    expect_error(
        "grammar-file-empty",
        runtime,
        ValidationError,
        lambda: _face(runtime, tiny_gguf_path, grammar_path=str(empty)),
        must_say=["empty.gbnf", "is empty", "root"],
    )
    broken = tmp_path / "broken.gbnf"
    broken.write_text("root ::= answer\n", encoding="utf-8")
    face = _face(runtime, tiny_gguf_path, grammar_path=str(broken))
    expect_error(
        "grammar-file-invalid",
        runtime,
        GrammarError,
        lambda: face.invoke("hi"),
        must_say=["answer", "define every rule", GBNF_DOCS],
    )
    gone = tmp_path / "gone.gbnf"
    gone.write_text('root ::= "yes"\n', encoding="utf-8")
    face = _face(runtime, tiny_gguf_path, grammar_path=str(gone))
    gone.unlink()
    expect_error(
        "grammar-file-deleted",
        runtime,
        GrammarError,
        lambda: face.invoke("hi"),
        must_say=["grammar file not found", "gone.gbnf"],
    )


_CHILD = """
import sys
from langchain_localkit import LlamaCpp, GrammarError
llm = LlamaCpp(model_path=sys.argv[1], max_tokens=4, n_ctx=128, n_batch=64)
try:
    llm.invoke("hi", grammar="root ::= ( unclosed")
except GrammarError as e:
    print("GrammarError:", e)
print("after:", llm.invoke("hi", grammar='root ::= "ok"'))
"""

_RAW_CHILD = """
import sys, llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=128, n_batch=64, verbose=False)
grammar = llama_cpp.LlamaGrammar.from_string("root ::= ( unclosed", verbose=False)
print(llm.create_completion("hi", max_tokens=4, grammar=grammar))
"""


@pytest.mark.timeout(180)
def test_malformed_grammar_no_longer_kills_the_process(tiny_gguf_path: Path) -> None:
    """In a child process (a crash must not take pytest down): a typed error, and it goes on.

    The same grammar given straight to llama-cpp-python is measured too: while that still
    crashes, the check in front of it is what keeps the process alive.
    """
    run = [sys.executable, "-c", textwrap.dedent(_CHILD), str(tiny_gguf_path)]
    child = subprocess.run(run, capture_output=True, text=True, timeout=150, check=False)
    assert child.returncode == 0, f"exit {child.returncode}: {child.stderr[-2000:]}"
    assert "GrammarError: Invalid GBNF grammar: expecting ')'" in child.stdout, child.stdout
    assert "after: ok" in child.stdout, child.stdout
    assert "error parsing grammar" not in child.stderr  # the parser's print is captured

    raw = [sys.executable, "-c", textwrap.dedent(_RAW_CHILD), str(tiny_gguf_path)]
    bare = subprocess.run(raw, capture_output=True, text=True, timeout=150, check=False)
    figure("grammar", "llama-cpp-python alone, malformed grammar: exit code", bare.returncode)
    figure("grammar", "LlamaCpp, malformed grammar: exit code", child.returncode)


# --- 5. tool and response schemas no grammar can follow ---------------------------------------


def _tool(name: str | None, parameters: Any) -> dict[str, Any]:
    fn: dict[str, Any] = {"description": "A tool.", "parameters": parameters}
    if name is not None:
        fn["name"] = name
    return {"type": "function", "function": fn}


_NODE = {
    "type": "object",
    "properties": {"next": {"$ref": "#/$defs/Node"}},
    "required": ["next"],
}
BAD_TOOLS = {
    "tool-ref-nowhere": (
        _tool("lookup", {"type": "object", "properties": {"a": {"$ref": "#/$defs/Nope"}}}),
        GrammarError,
        ["lookup", "$ref", "Nope"],
    ),
    "tool-endless-recursion": (
        _tool(
            "walk",
            {
                "type": "object",
                "$defs": {"Node": _NODE},
                "properties": {"n": {"$ref": "#/$defs/Node"}},
                "required": ["n"],
            },
        ),
        GrammarError,
        ["walk", "does not parse", "recursion optional"],
    ),
    "tool-pattern-properties": (
        _tool("tag", {"type": "object", "patternProperties": {"^x-": {"type": "string"}}}),
        GrammarError,
        ["tag", "patternProperties", "would not follow"],
    ),
    "tool-unknown-type": (
        _tool("cast", {"type": "object", "properties": {"a": {"type": "wizard"}}}),
        GrammarError,
        ["cast", "wizard", "JSON type"],
    ),
    "tool-params-not-object": (
        _tool("f", ["not", "a", "schema"]),
        InvalidRequestError,
        ["'f'", "list", "JSON-schema object"],
    ),
    "tool-no-name": (
        _tool(None, {"type": "object", "properties": {}}),
        InvalidRequestError,
        ["no 'name'", "bind_tools"],
    ),
    "tool-bad-name": (
        _tool("get weather!", {"type": "object", "properties": {}}),
        InvalidRequestError,
        ["'get weather!'", "letters, digits"],
    ),
}
"""Tools ChatLlamaCpp refuses at `bind_tools` (before a call could crash or run unconstrained)."""


@pytest.mark.parametrize("case", list(BAD_TOOLS))
def test_unusable_tool_schema(case: str, tiny_gguf_path: Path) -> None:
    tool, error, words = BAD_TOOLS[case]
    chat = _face("ChatLlamaCpp", tiny_gguf_path)
    expect_error(case, "ChatLlamaCpp", error, lambda: chat.bind_tools([tool]), must_say=words)


@pytest.mark.parametrize("case", ["tool-params-not-object", "tool-no-name", "tool-bad-name"])
def test_broken_tool_on_gpt4all(case: str, tiny_gguf_path: Path) -> None:
    """ChatGPT4All checks replies against the schema (no grammar), but a broken tool is broken."""
    tool, error, words = BAD_TOOLS[case]
    chat = _face("ChatGPT4All", tiny_gguf_path)
    expect_error(case, "ChatGPT4All", error, lambda: chat.bind_tools([tool]), must_say=words)


def test_unusable_response_schemas(tiny_gguf_path: Path) -> None:
    chat = _face("ChatLlamaCpp", tiny_gguf_path)
    nowhere = {"title": "Answer", "type": "object", "properties": {"a": {"$ref": "#/$defs/X"}}}
    expect_error(
        "structured-ref-nowhere",
        "ChatLlamaCpp",
        GrammarError,
        lambda: chat.with_structured_output(nowhere),
        must_say=["response format", "$ref"],
    )
    expect_error(
        "structured-not-a-schema",
        "ChatLlamaCpp",
        InvalidRequestError,
        lambda: chat.with_structured_output(["not", "a", "schema"]),  # type: ignore[arg-type]
        must_say=["with_structured_output", "JSON-schema dict"],
    )
    expect_error(  # bound by hand: refused when the call builds its grammar
        "response-format-ref-nowhere",
        "ChatLlamaCpp",
        GrammarError,
        lambda: chat.invoke("hi", response_format={"type": "json_schema", "schema": nowhere}),
        must_say=["response format", "$ref"],
    )


# --- 6. messages no chat model can answer -----------------------------------------------------


def _call(ids: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": "f", "args": {}, "id": ids}])


IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
BAD_MESSAGES: dict[str, tuple[list[BaseMessage], list[str]]] = {
    "no-messages": ([], ["no messages"]),
    "orphan-tool-message": (
        [HumanMessage("hi"), ToolMessage("42", tool_call_id="call_1")],
        ["ToolMessage", "no earlier AIMessage made a tool call"],
    ),
    "unknown-tool-call-id": (
        [HumanMessage("hi"), _call("call_1"), ToolMessage("42", tool_call_id="call_9")],
        ["call_9", "call_1"],
    ),
    "unknown-message-type": (
        [HumanMessage("hi"), RemoveMessage(id="m1")],
        ["RemoveMessage", "no chat format has"],
    ),
    "image-block": (
        [HumanMessage([{"type": "text", "text": "What is this?"}, IMAGE])],
        ["text only", "image_url", "vision model"],
    ),
}


@pytest.mark.parametrize("runtime", ["ChatLlamaCpp", "ChatGPT4All"])
@pytest.mark.parametrize("case", list(BAD_MESSAGES))
def test_invalid_messages(runtime: str, case: str, tiny_gguf_path: Path) -> None:
    messages, words = BAD_MESSAGES[case]
    chat = _face(runtime, tiny_gguf_path)
    expect_error(case, runtime, InvalidRequestError, lambda: chat.invoke(messages), must_say=words)


def test_tool_results_that_answer_calls_are_fine(tiny_gguf_path: Path) -> None:
    """The check refuses only what is wrong: a result after its call (or an id-less call)."""
    chat = _face("ChatLlamaCpp", tiny_gguf_path)
    answered = [HumanMessage("hi"), _call("call_1"), ToolMessage("42", tool_call_id="call_1")]
    assert isinstance(chat.invoke(answered), AIMessage)
    untracked = AIMessage(content="", additional_kwargs={"tool_calls": [{"type": "function"}]})
    assert isinstance(
        chat.invoke([HumanMessage("hi"), untracked, ToolMessage("4", tool_call_id="x")]),
        AIMessage,
    )
