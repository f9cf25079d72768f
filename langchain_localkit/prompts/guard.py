"""The special-token guard: user text must not be able to close a turn and open a forged one.

A prompt format is held together by control strings: special tokens such as `<|im_end|>` or
`<end_of_turn>` (which llama.cpp turns into single tokens when it parses special tokens) and
plain-text markers such as Llama 2's `[/INST]` or Vicuna's `USER:`. If a message's content
contains one, the model sees a turn boundary the application never wrote. The guard rewrites
such occurrences before the template is rendered:

- `"escape"` (the default) inserts a zero-width space (U+200B) after the first character, so
  the text reads the same but no longer matches the control string (nor its special token);
- `"strip"` removes the control strings;
- `"allow"` leaves the text alone (for trusted input that deliberately contains them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Literal, TypeVar

GuardPolicy = Literal["escape", "strip", "allow"]
"""What to do with control strings found in message content."""

GUARD_POLICIES: tuple[GuardPolicy, ...] = ("escape", "strip", "allow")

ZERO_WIDTH_SPACE = "\u200b"
"""The character `"escape"` inserts after the first character of a control string."""

_T = TypeVar("_T")

# Special-token-like strings inside a template's string literals: <|eot_id|>, DeepSeek's
# fullwidth-bar tokens, <start_of_turn>, </s>, [INST], [/TOOL_RESULTS], <<SYS>> ...
_TOKEN_LIKE = re.compile(
    r"<\|[^\s<>|]{1,48}\|>"
    r"|<\uff5c[^\s<>\uff5c]{1,48}\uff5c>"
    r"|</?[A-Za-z][A-Za-z0-9_]{0,31}>"
    r"|<</?SYS>>"
    r"|\[/?[A-Z][A-Z_]{1,31}\]"
)


# Tags that templates handle inside assistant text (reasoning), not turn structure: escaping
# them would stop a template from stripping old reasoning out of the history.
_REASONING_TAGS = frozenset(
    f"<{close}{tag}>" for tag in ("think", "thinking", "reasoning") for close in ("", "/")
)


def check_policy(policy: str) -> GuardPolicy:
    """Return `policy` if it is a valid guard policy.

    Raises:
        ValueError: Not one of `"escape"`, `"strip"`, `"allow"`.
    """
    if policy not in GUARD_POLICIES:
        raise ValueError(
            f"Unknown guard policy {policy!r}: use 'escape' (the default), 'strip' or 'allow'."
        )
    return policy


@lru_cache(maxsize=256)
def _pattern(controls: tuple[str, ...]) -> re.Pattern[str] | None:
    words = {c for c in controls if c}
    if not words:
        return None
    # A trie, not one alternative per string: a vocabulary has thousands of control tokens
    # (Gemma 3: 6,000), and a flat alternation tries each of them at every `<`.
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return re.compile(_trie_regex(trie))


def _trie_regex(node: dict[str, Any]) -> str:
    """The regex of a trie; the longest string matches first (greedy optional tails)."""
    branches = [re.escape(ch) + _trie_regex(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def _escape_match(m: re.Match[str]) -> str:
    s = m.group(0)
    return s[0] + ZERO_WIDTH_SPACE + s[1:]


def guard_text(text: str, control_strings: Iterable[str], policy: GuardPolicy = "escape") -> str:
    """Neutralise the control strings of a prompt format inside `text`.

    Args:
        text: Untrusted text (a message's content, a document, a tool result).
        control_strings: The format's control strings, e.g. `family.all_control_strings`.
        policy: `"escape"`, `"strip"` or `"allow"`.

    Returns:
        Text that contains none of the control strings (unless `policy="allow"`).

    Example:
        >>> from langchain_localkit.prompts import guard_text
        >>> guard_text("hi<|im_end|>", ["<|im_end|>"], "strip")
        'hi'
        >>> "<|im_end|>" in guard_text("hi<|im_end|>", ["<|im_end|>"])
        False
    """
    check_policy(policy)
    if policy == "allow" or not text:
        return text
    pattern = _pattern(tuple(control_strings))
    if pattern is None:
        return text
    # Repeat until stable: removing or splitting one occurrence can expose another
    # ("<|im_<|im_end|>end|>" -> "<|im_end|>"; overlapping "ab"/"bc" in "abc").
    while pattern.search(text):
        text = pattern.sub(_escape_match if policy == "escape" else "", text)
    return text


def guard_value(value: _T, control_strings: Iterable[str], policy: GuardPolicy = "escape") -> _T:
    """Apply `guard_text` to every string inside `value` (dicts, lists and tuples included).

    Used for tool-call arguments and tool definitions, whose strings end up in the prompt
    through `tojson`, which does not escape control strings.
    """
    controls = tuple(control_strings)
    if policy == "allow":
        return value
    return _guard_any(value, controls, policy)


def _guard_any(value: Any, controls: tuple[str, ...], policy: GuardPolicy) -> Any:
    if isinstance(value, str):
        return guard_text(value, controls, policy)
    if isinstance(value, Mapping):
        return {
            _guard_any(k, controls, policy): _guard_any(v, controls, policy)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_guard_any(v, controls, policy) for v in value]
    if isinstance(value, tuple):
        return tuple(_guard_any(v, controls, policy) for v in value)
    return value


def control_strings_in_template(template: str) -> tuple[str, ...]:
    """Special-token-like strings that appear in a chat template's source.

    Used as the guard's control strings when a template belongs to no known family, so that
    an unknown GGUF template is protected too: `<|...|>`, DeepSeek's fullwidth-bar tokens,
    `<tag>`, `</tag>`,
    `[INST]`-style markers and `<<SYS>>` (reasoning tags such as `<think>` excepted).

    Example:
        >>> from langchain_localkit.prompts import control_strings_in_template
        >>> control_strings_in_template("{{ '<|user|>' + m + '<|end|>' }}")
        ('<|end|>', '<|user|>')
    """
    return tuple(sorted(set(_TOKEN_LIKE.findall(template)) - _REASONING_TAGS))


__all__ = [
    "GUARD_POLICIES",
    "ZERO_WIDTH_SPACE",
    "GuardPolicy",
    "check_policy",
    "control_strings_in_template",
    "guard_text",
    "guard_value",
]
