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
import sys
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_localkit._core.errors import GBNF_DOCS, GrammarError
from langchain_localkit._core.grammar_check import grammar_problem
from langchain_localkit._core.reasoning import ThoughtFormat
from langchain_localkit._core.stdio import stderr_captured
from langchain_localkit._core.tools import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, tool_call_schema
from langchain_localkit.engines.llamacpp_runtime import captured_log, import_llama_cpp

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
    """`gbnf` as a `llama_cpp.LlamaGrammar`, once per text.

    llama-cpp-python 0.3 parses nothing here: the text goes to llama.cpp when the sampler is
    built, and a grammar it cannot parse crashes the process there. `check_grammar` must have
    passed it on the model first (the engine does); this refuses only what needs no model.

    Raises:
        GrammarError: The grammar would break llama.cpp's parser (`grammar_problem`).
    """
    problem = grammar_problem(gbnf)
    if problem is not None:
        raise _grammar_error(problem, gbnf)
    llama_cpp = import_llama_cpp()
    return llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False)


_VERDICTS: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], str | None]] = (
    weakref.WeakKeyDictionary()
)
"""Per loaded model (its `LlamaModel`, shared by spare contexts): grammar -> problem or None."""
_CHECK_LOCK = threading.Lock()
_PARSE_ERROR = re.compile(r"error parsing grammar: (.*?)(?:\n\s*\n|$)", re.DOTALL)


def check_grammar(llm: Any, gbnf: str, root: str = "root") -> None:
    """Check `gbnf` with llama.cpp's own parser on `llm`'s vocabulary, before decoding.

    llama-cpp-python adds whatever `llama_sampler_init_grammar` returns to its sampler chain;
    for a grammar llama.cpp cannot parse that is NULL, and the next token kills the process.
    Here the same call is made first: NULL raises a `GrammarError` with llama.cpp's reason
    (which it prints to stderr and logs; both are captured), anything else is freed. The
    verdict is kept per model and grammar text.

    Args:
        llm: The `llama_cpp.Llama` (or spare context) that will decode.
        gbnf: The grammar.
        root: The rule generation starts from.

    Raises:
        GrammarError: llama.cpp cannot use the grammar; the message says why and what to do.
    """
    model = getattr(llm, "_model", llm)
    with _CHECK_LOCK:
        verdicts = _VERDICTS.setdefault(model, {})
        key = (gbnf, root)
        if key not in verdicts:
            problem = grammar_problem(gbnf)
            verdicts[key] = problem if problem is not None else _parse(model, gbnf, root)
        problem = verdicts[key]
    if problem is not None:
        raise _grammar_error(problem, gbnf)


_UNSUPPORTED_KEYWORDS = (
    "patternProperties", "dependentRequired", "dependentSchemas", "if", "then", "else",
    "not", "contains", "unevaluatedProperties", "unevaluatedItems", "$dynamicRef",
)  # fmt: skip
"""JSON-schema keywords llama.cpp's grammar converter ignores: a reply would not follow them."""
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMAS = ("items", "additionalProperties", "not", "if", "then", "else", "contains")


def unsupported_keywords(schema: Any, path: str = "#") -> list[str]:
    """Where `schema` uses a keyword a grammar would silently drop (`"#/properties/a: not"`).

    Example:
        >>> unsupported_keywords({"type": "object", "patternProperties": {"^x": {}}})
        ['#: patternProperties']
        >>> unsupported_keywords({"properties": {"not": {"type": "string"}}})
        []
    """
    if not isinstance(schema, Mapping):
        return []
    found = [f"{path}: {key}" for key in _UNSUPPORTED_KEYWORDS if key in schema]
    for key in _SUBSCHEMA_MAPS:
        subs = schema.get(key)
        if isinstance(subs, Mapping):
            for name, sub in subs.items():
                found += unsupported_keywords(sub, f"{path}/{key}/{name}")
    for key in _SUBSCHEMA_LISTS:
        subs = schema.get(key)
        if isinstance(subs, list):
            for i, sub in enumerate(subs):
                found += unsupported_keywords(sub, f"{path}/{key}/{i}")
    for key in _SUBSCHEMAS:
        found += unsupported_keywords(schema.get(key), f"{path}/{key}")
    return found


def schema_grammar(build: Callable[[], str], schemas: Sequence[Any], what: str) -> str:
    """A grammar built from JSON schemas by `build`, or a `GrammarError` saying why not.

    llama-cpp-python's converter fails with bare `AssertionError`s and `KeyError`s on schemas
    it cannot follow (a `$ref` to nowhere, an unknown type), ignores keywords it does not know
    (`unsupported_keywords`: the reply would not follow them), and can write a grammar
    llama.cpp does not parse. Each is refused here, before anything is decoded; the grammar
    is parsed by llama.cpp without a model (a schema's grammar names no tokens).

    Args:
        build: Builds the grammar (`tool_calls_gbnf(...)`, `json_schema_to_gbnf(...)`).
        schemas: The schemas it is built from (for the keyword check).
        what: What they are, for the message ("the tool 'get_weather'", "the response format").

    Raises:
        GrammarError: No grammar can follow these schemas.
    """
    dropped = [where for schema in schemas for where in unsupported_keywords(schema)]
    if dropped:
        raise GrammarError(
            f"Cannot constrain {what} with a llama.cpp grammar: its JSON schema uses keywords "
            f"the grammar converter does not support ({', '.join(dropped[:5])}), so replies "
            "would not follow them. Express the schema with properties, enums, anyOf, "
            f"patterns and bounds instead (see {GBNF_DOCS}).",
            "",
            f"unsupported keywords: {', '.join(dropped)}",
        )
    try:
        gbnf = build()
    except (AssertionError, KeyError, ValueError, TypeError, AttributeError, RecursionError) as e:
        raise GrammarError(
            f"Cannot constrain {what} with a llama.cpp grammar: its JSON schema cannot be "
            f"converted ({type(e).__name__}: {e}). Check the schema: every `$ref` must point "
            "into its `$defs`, every `type` must be a JSON type, and `parameters` must be a "
            f"JSON-schema object. GBNF is described at {GBNF_DOCS}",
            "",
            str(e),
        ) from None
    problem = grammar_problem(gbnf) or _parse_cached(gbnf)
    if problem is not None:
        raise GrammarError(
            f"Cannot constrain {what} with a llama.cpp grammar: the grammar made from its "
            f"JSON schema does not parse ({problem}). A schema that can only be satisfied "
            "by an endless value (a required property that recurses into itself) makes "
            f"such a grammar; make the recursion optional. GBNF is described at {GBNF_DOCS}",
            gbnf,
            problem,
        )
    return gbnf


@functools.lru_cache(maxsize=256)
def _parse_cached(gbnf: str) -> str | None:
    """`_parse` without a model: for grammars made from schemas (they name no tokens)."""
    return _parse(None, gbnf, "root")


def _parse(model: Any, gbnf: str, root: str) -> str | None:
    """llama.cpp's reason for refusing `gbnf`, or None when it builds a sampler from it."""
    llama_cpp = import_llama_cpp()
    vocab = model.vocab if model is not None else None
    with stderr_captured() as printed, captured_log() as logged:
        sampler = llama_cpp.llama_sampler_init_grammar(
            vocab, gbnf.encode("utf-8"), root.encode("utf-8")
        )
        said, log = printed(), logged()
    if sampler:
        llama_cpp.llama_sampler_free(sampler)
        if said.strip():  # not the parser's: give it back
            sys.stderr.write(said)
        return None
    found = _PARSE_ERROR.search(said)
    if found:
        reason = re.sub(r"\s+at$", " at the end of the grammar", found.group(1).strip())
        return (reason or "the grammar does not parse") + "."
    lines = [line for line in log.splitlines() if "failed to parse grammar" not in line]
    reason = "; ".join(line.strip() for line in lines if line.strip())
    return (reason or "llama.cpp refused it") + "."


def _grammar_error(problem: str, gbnf: str) -> GrammarError:
    low = problem.lower()
    if "root" in low and "symbol" in low:
        advice = "A grammar needs a rule named `root`: generation starts there."
    elif "left recursion" in low:
        advice = (
            "A rule cannot start with itself (llama.cpp does not support left recursion): "
            'write `list ::= item ("," item)*` instead of `list ::= list "," item | item`.'
        )
    elif "undefined rule" in low:
        advice = "Define every rule the grammar uses, or fix the rule's name."
    else:
        advice = "Fix the grammar."
    start = " ".join(gbnf.split())[:120]
    return GrammarError(
        f"Invalid GBNF grammar: {problem} {advice} "
        f"The grammar begins: {start!r}. GBNF is described at {GBNF_DOCS}",
        gbnf,
        problem,
    )


__all__ = [
    "any_json_gbnf",
    "check_grammar",
    "compile_grammar",
    "schema_grammar",
    "json_schema_to_gbnf",
    "thought_gbnf",
    "thought_step_gbnf",
    "tool_calls_gbnf",
    "tool_calls_reply_gbnf",
    "unsupported_keywords",
    "with_thought",
]
