"""GBNF, llama.cpp's grammar format: built from JSON schemas, and compiled for decoding.

Grammars constrain tool calls and structured output, in process (llama.cpp) and in
llama-server's `grammar` field. The JSON-schema converter is llama-cpp-python's, reached
through `import_llama_cpp` like every use of llama_cpp; the runtime-free part (the schema of a
tool call) is `langchain_localkit._core.tools.tool_call_schema`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_localkit._core.reasoning import ThoughtFormat
from langchain_localkit._core.tools import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, tool_call_schema
from langchain_localkit.engines.llamacpp_runtime import import_llama_cpp

# llama-cpp-python's converter lets raw control characters into JSON strings (invalid JSON);
# llama.cpp's own converter excludes them. Same rule as upstream:
_LOOSE_CHAR = 'char ::= [^"\\\\] |'
_STRICT_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'


def json_schema_to_gbnf(schema: Mapping[str, Any]) -> str:
    """A llama.cpp GBNF grammar (root rule `root`) accepting JSON valid for `schema`.

    Raises:
        RuntimeNotInstalledError: llama-cpp-python (whose converter this is) is not installed.
    """
    import_llama_cpp()
    from llama_cpp.llama_grammar import json_schema_to_gbnf as convert

    return str(convert(json.dumps(schema))).replace(_LOOSE_CHAR, _STRICT_CHAR)


def any_json_gbnf() -> str:
    """A llama.cpp GBNF grammar accepting any JSON value (llama-cpp-python's `JSON_GBNF`).

    Raises:
        RuntimeNotInstalledError: llama-cpp-python is not installed.
    """
    import_llama_cpp()
    from llama_cpp.llama_grammar import JSON_GBNF

    return str(JSON_GBNF)


def _rename_root(gbnf: str, new: str) -> str:
    return re.sub(r"(?m)^root\s*::=", f"{new} ::=", gbnf)


def tool_calls_gbnf(
    tools: Sequence[Mapping[str, Any]], only: str | None = None, *, parallel: bool = True
) -> str:
    """Grammar for what follows an opening `<tool_call>`.

    One call and its closing tag, then (with `parallel`) further `<tool_call>...</tool_call>`.

    Args:
        tools: The bound tools, in OpenAI's function format.
        only: The one tool that may be called (None: any of them).
        parallel: Allow more than one call.
    """
    calls = _rename_root(json_schema_to_gbnf(tool_call_schema(tools, only)), "call")
    more = f' ( "\\n" "{TOOL_CALL_OPEN}" call "{TOOL_CALL_CLOSE}" )*' if parallel else ""
    return f'root ::= call "{TOOL_CALL_CLOSE}"{more}\n{calls}'


def tool_calls_reply_gbnf(
    tools: Sequence[Mapping[str, Any]], only: str | None = None, *, parallel: bool = True
) -> str:
    """Grammar for a whole reply made of tool calls: `<tool_call>` and `tool_calls_gbnf`.

    For a server's chat endpoint, where the reply cannot be continued from an opened tag.
    """
    rest = _rename_root(tool_calls_gbnf(tools, only, parallel=parallel), "calls")
    return f'root ::= "{TOOL_CALL_OPEN}" calls\n{rest}'


def thought_gbnf(fmt: ThoughtFormat, *, opened: bool) -> str:
    r"""GBNF rules `thought` for a thought block (its text cannot contain `</`).

    With `opened`, the block starts after the open tag (the prompt wrote it). The caller adds
    `root ::= thought? ...` (or `thought ...` when opened).

    Example:
        >>> from langchain_localkit._core.reasoning import THINK
        >>> print(thought_gbnf(THINK, opened=False))
        thought ::= "<think>" thought-char* "</think>" [ \t\n]*
        thought-char ::= [^<] | "<" [^/]
    """
    head = "" if opened else _gbnf_literal(fmt.open) + " "
    close = _gbnf_literal(fmt.close)
    first = fmt.close[0]
    second = fmt.close[1] if len(fmt.close) > 1 else ""
    char = f"[^{_gbnf_class(first)}]"
    if second:
        char += f" | {_gbnf_literal(first)} [^{_gbnf_class(second)}]"
    return f"thought ::= {head}thought-char* {close} [ \\t\\n]*\nthought-char ::= {char}"


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _gbnf_class(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch


def thought_step_gbnf(fmt: ThoughtFormat) -> str:
    """A step that either ends at once (the model does not think) or is one thought block.

    The block's close tag is the step's stop string, so the step ends there.
    """
    rules = thought_gbnf(fmt, opened=False).replace(" [ \\t\\n]*", "", 1)
    return f"root ::= thought?\n{rules}"


def with_thought(grammar: str, fmt: ThoughtFormat, *, opened: bool) -> str:
    """A GBNF grammar whose `root` may start with a thought block (must, when `opened`)."""
    body = _rename_root(grammar, "answer-root")
    optional = "" if opened else "?"
    return f"root ::= thought{optional} answer-root\n{thought_gbnf(fmt, opened=opened)}\n{body}"


@functools.lru_cache(maxsize=64)
def compile_grammar(gbnf: str) -> Any:
    """`gbnf` as a `llama_cpp.LlamaGrammar`, compiled once per text.

    Raises:
        ValueError: llama.cpp cannot parse the grammar.
    """
    llama_cpp = import_llama_cpp()
    try:
        return llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False)
    except ValueError as e:
        raise ValueError(f"Invalid GBNF grammar: {e}\n{gbnf[:500]}") from e


__all__ = [
    "any_json_gbnf",
    "compile_grammar",
    "json_schema_to_gbnf",
    "thought_gbnf",
    "thought_step_gbnf",
    "tool_calls_gbnf",
    "tool_calls_reply_gbnf",
    "with_thought",
]
