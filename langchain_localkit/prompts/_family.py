"""`ModelFamily`: one prompt format as data, and how to recognise the models that use it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

SystemFold = Literal["first_user", "last_user"]
"""Where a system message goes in a format without a system role (see `ModelFamily`)."""

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _tuple(value: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class ModelFamily:
    r"""One prompt format and how to recognise the models that use it.

    Attributes:
        name: Canonical lower-case name, e.g. `"llama2"`.
        template: Jinja chat template for Hugging Face-style messages (`role` is `system`,
            `user`, `assistant` or `tool`; `content` is a string; assistant messages may carry
            `tool_calls`). It receives `messages`, `bos_token`, `eos_token` and
            `add_generation_prompt`, like the templates in `tokenizer_config.json`.
        bos: The beginning-of-sequence string (`"<s>"`, `"<bos>"`, ...), `""` if none.
        eos: The end-of-sequence / end-of-turn string the template writes after a reply.
        stop: Strings that end generation.
        control_strings: Strings that have structural meaning in the format (special tokens and
            plain-text turn markers such as `"[/INST]"` or `"USER:"`). User content containing
            them is escaped, stripped or allowed according to the guard policy.
        supports_system: Whether the format has a system role. When it does not, a system
            message is folded into a user turn (see `system_fold`).
        system_fold: Where a system message goes when there is no system role: prepended to the
            `"first_user"` message (the default, which keeps the prompt prefix stable across turns
            and so lets llama.cpp reuse its KV cache) or to the `"last_user"` message.
        system_separator: Text between the folded system message and the user's message.
        supports_tools: Whether the template renders tool calls and tool results itself. When it
            does not, tool calls become JSON text in the assistant message and tool results
            become user messages written with `tool_result_format`.
        tool_result_format: How a tool result is written as a user message (`{name}`,
            `{content}` and `{tool_call_id}` are filled in).
        alternating: The format expects user and assistant turns to alternate; consecutive
            messages of the same role are merged (joined with a blank line).
        aliases: Other names that resolve to this family (e.g. llama-cpp-python's format names).
        description: One line for humans.
        architectures: `general.architecture` values that identify the family on their own.
        name_patterns: Regular expressions matched against normalised model names (lower case,
            `_` and spaces turned into `-`): `general.name`, file names, Ollama tags.
        finetune_patterns: Like `name_patterns`, but checked first: fine-tunes that use this
            format although their base model's name matches another family (e.g. OpenHermes on
            Mistral uses ChatML).
        template_markers: Groups of strings; a chat template containing every string of any
            group is recognised as this family's.
        known_templates: Exact chat templates (compared with whitespace collapsed) that are this
            family's; the family's own `template` always counts.
        thinking: How the family's thinking models mark their thoughts: "think"
            (`<think>…</think>`), "mistral" (`[THINK]…[/THINK]`), "harmony" (gpt-oss
            channels), or None (no thinking models known). See `reasoning=` on the faces.

    Example:
        >>> from langchain_localkit.prompts import ModelFamily, register_family
        >>> fam = ModelFamily(
        ...     name="my-format",
        ...     template="{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}"
        ...     "{% if add_generation_prompt %}<assistant>{% endif %}",
        ...     stop=("<user>",),
        ...     control_strings=("<user>", "<assistant>", "<system>"),
        ...     name_patterns=(r"my-model",),
        ... )
        >>> register_family(fam)  # doctest: +SKIP
    """

    name: str
    template: str
    bos: str = ""
    eos: str = ""
    stop: tuple[str, ...] = ()
    control_strings: tuple[str, ...] = ()
    supports_system: bool = True
    system_fold: SystemFold = "first_user"
    system_separator: str = "\n\n"
    supports_tools: bool = False
    tool_result_format: str = "Tool result ({name}): {content}"
    alternating: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""
    architectures: tuple[str, ...] = ()
    name_patterns: tuple[str, ...] = ()
    finetune_patterns: tuple[str, ...] = ()
    template_markers: tuple[tuple[str, ...], ...] = ()
    known_templates: tuple[str, ...] = field(default=(), repr=False)
    thinking: str | None = None

    def __post_init__(self) -> None:
        name = self.name.strip().lower() if isinstance(self.name, str) else ""
        if not _NAME_RE.match(name):
            raise ValueError(
                f"Invalid family name {self.name!r}: use lower-case letters, digits, '.', '_' "
                "or '-' (at most 64 characters)."
            )
        object.__setattr__(self, "name", name)
        if not isinstance(self.template, str) or not self.template.strip():
            raise ValueError(f"Family {name!r} needs a non-empty Jinja chat template.")
        for attr in (
            "stop",
            "control_strings",
            "aliases",
            "architectures",
            "name_patterns",
            "finetune_patterns",
            "known_templates",
        ):
            values = _tuple(getattr(self, attr))
            if any(not isinstance(v, str) or not v for v in values):
                raise ValueError(f"Family {name!r}: `{attr}` must hold non-empty strings.")
            object.__setattr__(self, attr, values)
        object.__setattr__(self, "aliases", tuple(a.strip().lower() for a in self.aliases))
        object.__setattr__(
            self, "architectures", tuple(a.strip().lower() for a in self.architectures)
        )
        markers = tuple(_tuple(group) for group in self.template_markers)
        if any(not group or any(not m for m in group) for group in markers):
            raise ValueError(f"Family {name!r}: every template marker group needs strings.")
        object.__setattr__(self, "template_markers", markers)
        if self.system_fold not in ("first_user", "last_user"):
            raise ValueError(
                f"Family {name!r}: system_fold must be 'first_user' or 'last_user', "
                f"not {self.system_fold!r}."
            )
        if self.thinking is not None and self.thinking not in ("think", "mistral", "harmony"):
            raise ValueError(
                f"Family {name!r}: thinking must be 'think', 'mistral', 'harmony' or None, "
                f"not {self.thinking!r}."
            )
        for pattern in (*self.name_patterns, *self.finetune_patterns):
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"Family {name!r}: bad name pattern {pattern!r}: {e}") from e

    @property
    def all_control_strings(self) -> tuple[str, ...]:
        """The control strings plus BOS and EOS (what the guard protects)."""
        extra = tuple(s for s in (self.bos, self.eos) if s and s not in self.control_strings)
        return (*self.control_strings, *extra)


__all__ = ["ModelFamily", "SystemFold"]
