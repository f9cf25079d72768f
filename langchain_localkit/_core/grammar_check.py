"""What can be told of a GBNF grammar without llama.cpp: the mistakes its parser cannot survive.

llama.cpp's own parser is the judge of a grammar (`engines.gbnf.check_grammar` asks it), but a
few grammars break the parser itself: a repetition whose upper bound is below its lower bound
(`"a"{3,1}`) makes it build rules without end until the process runs out of memory. Those are
found here, by a scan of the text that skips string literals, character classes and comments.
"""

from __future__ import annotations

import re

_BOUNDS = re.compile(r"\{\s*(\d+)\s*(?:,\s*(\d*)\s*)?\}")


def _code(text: str) -> str:
    """`text` with string literals, character classes and comments blanked out.

    Blanked characters become spaces, so positions and line numbers stay those of `text`.
    An unclosed literal or class blanks the rest of the line (llama.cpp reports it).
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif ch in '"[':
            close = '"' if ch == '"' else "]"
            j = i + 1
            while j < n and text[j] != close and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n) if j < n and text[j] == close else j
            out.append(" " * (j - i))
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def grammar_problem(text: str) -> str | None:
    """What makes `text` unsafe to give llama.cpp's grammar parser, or None.

    Args:
        text: A GBNF grammar.

    Returns:
        A sentence naming the problem and where it is (line numbers from 1), or None.

    Example:
        >>> grammar_problem('root ::= "a"{3,1}')
        'line 1: the repetition {3,1} has its upper bound below its lower bound (3); write {1,3}.'
        >>> grammar_problem('root ::= "{3,1}"') is None
        True
    """
    code = _code(text)
    for match in _BOUNDS.finditer(code):
        low, high = match.group(1), match.group(2)
        if high and int(high) < int(low):
            line = code.count("\n", 0, match.start()) + 1
            return (
                f"line {line}: the repetition {{{low},{high}}} has its upper bound below its "
                f"lower bound ({low}); write {{{high},{low}}}."
            )
    return None


__all__ = ["grammar_problem"]
