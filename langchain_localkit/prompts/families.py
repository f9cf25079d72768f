"""Model families as data: chat template, special tokens, stop strings, detection hints.

A `ModelFamily` says everything the prompt pack needs to know about one prompt format: its
Jinja chat template (written for Hugging Face-style message dicts), its BOS/EOS strings, the
stop strings that end a reply, the control strings a user must not be able to inject, whether
it has a system role, and the names, architectures and template markers that identify it.

All families live in one registry. The built-in ones cover Llama 2, Llama 3, ChatML (Qwen,
OpenHermes, Dolphin, ...), Gemma, Mistral instruct, Phi-3, Zephyr/TinyLlama, Vicuna, Alpaca,
DeepSeek (V3/R1) and DeepSeek Coder; `register_family` adds your own.

The templates are our own, written from each model's published format (the official Hugging Face
`tokenizer_config.json` templates, the FastChat conversation formats for Vicuna and the
Stanford Alpaca prompt). They are rendered by the same sandboxed Jinja renderer as the untrusted
templates found in GGUF files.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

SystemFold = Literal["first_user", "last_user"]

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


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------
class FamilyRegistry:
    """A thread-safe registry of model families, looked up by name or alias.

    Iteration gives the detection order: families you registered (newest first), then the
    built-in ones in their definition order.
    """

    def __init__(self) -> None:
        self._families: dict[str, ModelFamily] = {}
        self._aliases: dict[str, str] = {}
        self._user_order: list[str] = []
        self._builtin_order: list[str] = []
        self._lock = threading.RLock()

    def register(
        self, family: ModelFamily, *, overwrite: bool = False, builtin: bool = False
    ) -> ModelFamily:
        """Add a family; refuse a name or alias that is already taken unless `overwrite`.

        With `overwrite=True` a family of the same name is replaced; aliases still may not
        collide with another family's names.

        Raises:
            ValueError: The name or an alias is taken.
            TemplateError: The family's template does not compile.
        """
        if not isinstance(family, ModelFamily):
            raise TypeError(f"register_family() takes a ModelFamily, not {type(family).__name__}")
        if not builtin:  # built-in templates are compiled by the tests, not at import time
            from langchain_localkit.prompts.sandbox import compile_template

            compile_template(family.template)
        with self._lock:
            existing = self._families.get(family.name)
            if existing is not None and not overwrite:
                raise ValueError(
                    f"A model family named {family.name!r} is already registered. "
                    "Use `overwrite=True` to replace it."
                )
            for key in (family.name, *family.aliases):
                owner = self._aliases.get(key)
                if owner is not None and owner != family.name:
                    raise ValueError(
                        f"{key!r} already names the model family {owner!r}; "
                        f"pick another name or alias for {family.name!r}."
                    )
            if existing is not None:
                self._drop(existing)
            self._families[family.name] = family
            for key in (family.name, *family.aliases):
                self._aliases[key] = family.name
            if builtin:
                self._builtin_order.append(family.name)
            else:
                self._user_order.insert(0, family.name)
        return family

    def _drop(self, family: ModelFamily) -> None:
        del self._families[family.name]
        for key in (family.name, *family.aliases):
            if self._aliases.get(key) == family.name:
                del self._aliases[key]
        for order in (self._user_order, self._builtin_order):
            if family.name in order:
                order.remove(family.name)

    def unregister(self, name: str) -> ModelFamily:
        """Remove a family (by name or alias) and return it.

        Raises:
            ValueError: No such family.
        """
        with self._lock:
            family = self.get(name)
            self._drop(family)
            return family

    def find(self, name: str) -> ModelFamily | None:
        """The family called `name` (or with that alias), or None."""
        if not isinstance(name, str):
            return None
        with self._lock:
            canonical = self._aliases.get(name.strip().lower())
            return self._families.get(canonical) if canonical else None

    def get(self, name: str) -> ModelFamily:
        """The family called `name` (or with that alias).

        Raises:
            ValueError: No such family (the message lists the known ones).
        """
        family = self.find(name)
        if family is None:
            raise ValueError(
                f"Unknown model family {name!r}. Known families: {', '.join(self.names())}. "
                "Register your own with `register_family()`."
            )
        return family

    def names(self) -> tuple[str, ...]:
        """Canonical names, in detection order."""
        with self._lock:
            return (*self._user_order, *self._builtin_order)

    def is_builtin(self, name: str) -> bool:
        """Whether `name` is one of the families shipped with the package."""
        family = self.find(name)
        with self._lock:
            return family is not None and family.name in self._builtin_order

    def __iter__(self) -> Iterator[ModelFamily]:
        with self._lock:
            families = [self._families[n] for n in (*self._user_order, *self._builtin_order)]
        return iter(families)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._families)


FAMILIES = FamilyRegistry()
"""The registry every function of the prompt pack uses."""


def register_family(family: ModelFamily, *, overwrite: bool = False) -> ModelFamily:
    """Register a model family so that detection, rendering and selectors know it.

    Your families are checked before the built-in ones during detection.

    Args:
        family: The family.
        overwrite: Replace a family of the same name (a built-in one included).

    Returns:
        The registered family.

    Raises:
        ValueError: Its name or an alias is already registered (and not `overwrite`).
        TemplateError: Its template does not compile.

    Example:
        >>> from langchain_localkit.prompts import ModelFamily, register_family
        >>> register_family(ModelFamily(name="echo", template="{{ messages[-1].content }}"))
        ... # doctest: +SKIP
    """
    return FAMILIES.register(family, overwrite=overwrite)


def unregister_family(name: str) -> ModelFamily:
    """Remove a registered family (built-in ones included) and return it.

    Raises:
        ValueError: No family has that name or alias.
    """
    return FAMILIES.unregister(name)


def get_family(name: str | ModelFamily) -> ModelFamily:
    """Look up a family by name or alias (case-insensitive); a `ModelFamily` is returned as is.

    Raises:
        ValueError: Unknown name (the message lists the known families).

    Example:
        >>> from langchain_localkit.prompts import get_family
        >>> get_family("llama-2").name
        'llama2'
        >>> get_family("gemma").stop
        ('<end_of_turn>', '<eos>', '<start_of_turn>')
    """
    if isinstance(name, ModelFamily):
        return name
    return FAMILIES.get(name)


def list_families() -> tuple[ModelFamily, ...]:
    """Every registered family, in detection order (yours first, then the built-in ones).

    Example:
        >>> from langchain_localkit.prompts import list_families
        >>> "gemma" in [f.name for f in list_families()]
        True
    """
    return tuple(FAMILIES)


# --------------------------------------------------------------------------------------------
# Built-in families. Templates: HF-style messages; whitespace is controlled explicitly with
# `{%- -%}` so the layout below does not leak into the prompt.
# --------------------------------------------------------------------------------------------
_FN = "{%- set fn = call.function if call.function is defined else call -%}"

LLAMA2_TEMPLATE = r"""
{%- set ns = namespace(system='') -%}
{%- for message in messages -%}
    {%- if message.role == 'system' -%}
        {%- set ns.system = (ns.system + '\n\n' if ns.system else '') + message.content | trim -%}
    {%- elif message.role == 'assistant' -%}
        {{- ' ' + message.content | trim + ' ' + eos_token -}}
    {%- else -%}
        {%- set content = message.content | trim -%}
        {%- if ns.system -%}
            {%- set content = '<<SYS>>\n' + ns.system + '\n<</SYS>>\n\n' + content -%}
            {%- set ns.system = '' -%}
        {%- endif -%}
        {{- bos_token + '[INST] ' + content + ' [/INST]' -}}
    {%- endif -%}
{%- endfor -%}
{%- if ns.system -%}
    {{- bos_token + '[INST] <<SYS>>\n' + ns.system + '\n<</SYS>>\n\n [/INST]' -}}
{%- endif -%}
"""

LLAMA3_TEMPLATE = (
    r"""
{{- bos_token -}}
{%- for message in messages -%}
    {%- set role = 'ipython' if message.role == 'tool' else message.role -%}
    {{- '<|start_header_id|>' + role + '<|end_header_id|>\n\n' -}}
    {%- if message.role == 'assistant' and message.tool_calls -%}
        {%- if message.content | trim -%}
            {{- message.content | trim + '\n' -}}
        {%- endif -%}
        {%- for call in message.tool_calls -%}
            """
    + _FN
    + r"""
            {{- '{"name": "' + fn.name + '", "parameters": ' + fn.arguments | tojson + '}' -}}
            {%- if not loop.last -%}{{- '\n' -}}{%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{- message.content | trim -}}
    {%- endif -%}
    {{- '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
{%- endif -%}
"""
)

CHATML_TEMPLATE = (
    r"""
{%- for message in messages -%}
    {%- if message.role == 'tool' -%}
        {%- if loop.first or loop.previtem.role != 'tool' -%}
            {{- '<|im_start|>user' -}}
        {%- endif -%}
        {{- '\n<tool_response>\n' + message.content + '\n</tool_response>' -}}
        {%- if loop.last or loop.nextitem.role != 'tool' -%}
            {{- '<|im_end|>\n' -}}
        {%- endif -%}
    {%- elif message.role == 'assistant' and message.tool_calls -%}
        {{- '<|im_start|>assistant' -}}
        {%- if message.content -%}
            {{- '\n' + message.content -}}
        {%- endif -%}
        {%- for call in message.tool_calls -%}
            """
    + _FN
    + r"""
            {{- '\n<tool_call>\n{"name": "' + fn.name + '", "arguments": ' -}}
            {{- fn.arguments | tojson + '}\n</tool_call>' -}}
        {%- endfor -%}
        {{- '<|im_end|>\n' -}}
    {%- else -%}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|im_start|>assistant\n' -}}
{%- endif -%}
"""
)

GEMMA_TEMPLATE = r"""
{{- bos_token -}}
{%- set ns = namespace(system='') -%}
{%- for message in messages -%}
    {%- if message.role == 'system' -%}
        {%- set ns.system = ns.system + message.content | trim + '\n\n' -%}
    {%- elif message.role == 'assistant' -%}
        {{- '<start_of_turn>model\n' + message.content | trim + '<end_of_turn>\n' -}}
    {%- else -%}
        {{- '<start_of_turn>user\n' + ns.system + message.content | trim + '<end_of_turn>\n' -}}
        {%- set ns.system = '' -%}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<start_of_turn>model\n' -}}
{%- endif -%}
"""

MISTRAL_TEMPLATE = r"""
{{- bos_token -}}
{%- set ns = namespace(system='') -%}
{%- for message in messages -%}
    {%- if message.role == 'system' -%}
        {%- set ns.system = ns.system + message.content + '\n\n' -%}
    {%- elif message.role == 'assistant' -%}
        {{- message.content + eos_token -}}
    {%- else -%}
        {{- '[INST] ' + ns.system + message.content + ' [/INST]' -}}
        {%- set ns.system = '' -%}
    {%- endif -%}
{%- endfor -%}
"""

PHI3_TEMPLATE = r"""
{%- for message in messages -%}
    {%- set role = message.role if message.role in ('system', 'user', 'assistant') else 'user' -%}
    {{- '<|' + role + '|>\n' + message.content + '<|end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|assistant|>\n' -}}
{%- endif -%}
"""

ZEPHYR_TEMPLATE = r"""
{%- for message in messages -%}
    {%- set role = message.role if message.role in ('system', 'user', 'assistant') else 'user' -%}
    {{- '<|' + role + '|>\n' + message.content + eos_token + '\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|assistant|>\n' -}}
{%- endif -%}
"""

VICUNA_DEFAULT_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
VICUNA_TEMPLATE = r"""
{%- if not messages or messages[0].role != 'system' -%}
    {{- default_system + ' ' -}}
{%- endif -%}
{%- for message in messages -%}
    {%- if message.role == 'system' -%}
        {{- message.content | trim + ' ' -}}
    {%- elif message.role == 'assistant' -%}
        {{- 'ASSISTANT: ' + message.content | trim + eos_token -}}
    {%- else -%}
        {{- 'USER: ' + message.content | trim + ' ' -}}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- 'ASSISTANT:' -}}
{%- endif -%}
""".replace("default_system", '"' + VICUNA_DEFAULT_SYSTEM + '"')

ALPACA_DEFAULT_SYSTEM = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request."
)
ALPACA_TEMPLATE = r"""
{%- if not messages or messages[0].role != 'system' -%}
    {{- default_system + '\n\n' -}}
{%- endif -%}
{%- for message in messages -%}
    {%- if message.role == 'system' -%}
        {{- message.content | trim + '\n\n' -}}
    {%- elif message.role == 'assistant' -%}
        {{- '### Response:\n' + message.content | trim + eos_token + '\n\n' -}}
    {%- else -%}
        {{- '### Instruction:\n' + message.content | trim + '\n\n' -}}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '### Response:\n' -}}
{%- endif -%}
""".replace("default_system", "'" + ALPACA_DEFAULT_SYSTEM + "'")


def _ds(name: str) -> str:
    """A DeepSeek special token: fullwidth bars around words joined by U+2581."""
    return "<\uff5c" + name.replace(" ", "\u2581") + "\uff5c>"


DEEPSEEK_BOS = _ds("begin of sentence")
DEEPSEEK_EOS = _ds("end of sentence")
DEEPSEEK_USER = _ds("User")
DEEPSEEK_ASSISTANT = _ds("Assistant")
_DS_TOOL_TOKENS = {
    "@CALLS_BEGIN@": _ds("tool calls begin"),
    "@CALLS_END@": _ds("tool calls end"),
    "@CALL_BEGIN@": _ds("tool call begin"),
    "@CALL_END@": _ds("tool call end"),
    "@SEP@": _ds("tool sep"),
    "@OUTPUTS_BEGIN@": _ds("tool outputs begin"),
    "@OUTPUTS_END@": _ds("tool outputs end"),
    "@OUTPUT_BEGIN@": _ds("tool output begin"),
    "@OUTPUT_END@": _ds("tool output end"),
}

_DEEPSEEK_TEMPLATE_SRC = (
    r"""
{{- bos_token -}}
{%- set ns = namespace(system='', in_tools=false) -%}
{%- for message in messages if message.role == 'system' -%}
    {%- set ns.system = (ns.system + '\n\n' if ns.system else '') + message.content -%}
{%- endfor -%}
{{- ns.system -}}
{%- for message in messages -%}
    {%- if message.role == 'assistant' -%}
        {%- if ns.in_tools -%}
            {{- '@OUTPUTS_END@' -}}
            {%- set ns.in_tools = false -%}
        {%- else -%}
            {{- '@ASSISTANT@' -}}
        {%- endif -%}
        {%- set content = message.content -%}
        {%- if '</think>' in content -%}
            {%- set content = content.split('</think>')[-1] -%}
        {%- endif -%}
        {{- content -}}
        {%- if message.tool_calls -%}
            {{- '@CALLS_BEGIN@' -}}
            {%- for call in message.tool_calls -%}
                """
    + _FN
    + r"""
                {{- '@CALL_BEGIN@function@SEP@' + fn.name + '\n```json\n' -}}
                {{- fn.arguments | tojson + '\n```@CALL_END@' -}}
                {%- if not loop.last -%}{{- '\n' -}}{%- endif -%}
            {%- endfor -%}
            {{- '@CALLS_END@' -}}
        {%- endif -%}
        {{- eos_token -}}
    {%- elif message.role == 'tool' -%}
        {%- if ns.in_tools -%}
            {{- '\n' -}}
        {%- else -%}
            {{- '@OUTPUTS_BEGIN@' -}}
            {%- set ns.in_tools = true -%}
        {%- endif -%}
        {{- '@OUTPUT_BEGIN@' + message.content + '@OUTPUT_END@' -}}
    {%- elif message.role != 'system' -%}
        {%- if ns.in_tools -%}
            {{- '@OUTPUTS_END@' -}}
            {%- set ns.in_tools = false -%}
        {%- endif -%}
        {{- '@USER@' + message.content -}}
    {%- endif -%}
{%- endfor -%}
{%- if ns.in_tools -%}
    {{- '@OUTPUTS_END@' -}}
{%- elif add_generation_prompt -%}
    {{- '@ASSISTANT@' -}}
{%- endif -%}
"""
)


def _deepseek_template() -> str:
    src = _DEEPSEEK_TEMPLATE_SRC.replace("@USER@", DEEPSEEK_USER).replace(
        "@ASSISTANT@", DEEPSEEK_ASSISTANT
    )
    for key, token in _DS_TOOL_TOKENS.items():
        src = src.replace(key, token)
    return src


DEEPSEEK_TEMPLATE = _deepseek_template()

DEEPSEEK_CODER_DEFAULT_SYSTEM = (
    "You are an AI programming assistant, utilizing the Deepseek Coder model, developed by "
    "Deepseek Company, and you only answer questions related to computer science. For "
    "politically sensitive questions, security and privacy issues, and other non-computer "
    "science questions, you will refuse to answer"
)
DEEPSEEK_CODER_TEMPLATE = r"""
{{- bos_token -}}
{%- if not messages or messages[0].role != 'system' -%}
    {{- default_system + '\n' -}}
{%- endif -%}
{%- for message in messages -%}
    {%- if message.role == 'system' -%}
        {{- message.content + '\n' -}}
    {%- elif message.role == 'assistant' -%}
        {{- '### Response:\n' + message.content + '\n<|EOT|>\n' -}}
    {%- else -%}
        {{- '### Instruction:\n' + message.content + '\n' -}}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '### Response:\n' -}}
{%- endif -%}
""".replace("default_system", "'" + DEEPSEEK_CODER_DEFAULT_SYSTEM + "'")

# The standard ChatML template (OpenHermes 2.5 and many others ship exactly this one).
_CHATML_STANDARD = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

BUILTIN_FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily(
        name="llama3",
        aliases=("llama-3", "llama3.1", "llama3.2", "llama3.3"),
        description="Meta Llama 3, 3.1, 3.2 and 3.3 Instruct",
        template=LLAMA3_TEMPLATE,
        bos="<|begin_of_text|>",
        eos="<|eot_id|>",
        stop=("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"),
        control_strings=(
            "<|begin_of_text|>",
            "<|end_of_text|>",
            "<|start_header_id|>",
            "<|end_header_id|>",
            "<|eot_id|>",
            "<|eom_id|>",
            "<|python_tag|>",
        ),
        supports_tools=True,
        name_patterns=(r"llama-?3(?![0-9])",),
        template_markers=(("<|start_header_id|>", "<|eot_id|>"),),
    ),
    ModelFamily(
        name="deepseek",
        aliases=("deepseek-r1", "deepseek-v3", "deepseek3"),
        description="DeepSeek V2.5, V3 and R1 (and the R1 distills of Qwen and Llama)",
        template=DEEPSEEK_TEMPLATE,
        bos=DEEPSEEK_BOS,
        eos=DEEPSEEK_EOS,
        stop=(DEEPSEEK_EOS, DEEPSEEK_USER),
        control_strings=(
            DEEPSEEK_BOS,
            DEEPSEEK_EOS,
            DEEPSEEK_USER,
            DEEPSEEK_ASSISTANT,
            *_DS_TOOL_TOKENS.values(),
        ),
        supports_tools=True,
        architectures=("deepseek2", "deepseek3"),
        name_patterns=(r"deepseek-?v3", r"deepseek-?v2\.5"),
        finetune_patterns=(r"deepseek-?r1",),
        template_markers=((DEEPSEEK_USER,), (DEEPSEEK_ASSISTANT,)),
    ),
    ModelFamily(
        name="deepseek-coder",
        aliases=("deepseek_coder",),
        description="DeepSeek Coder (v1) Instruct",
        template=DEEPSEEK_CODER_TEMPLATE,
        bos=DEEPSEEK_BOS,
        eos="<|EOT|>",
        stop=("<|EOT|>", "### Instruction:"),
        control_strings=(
            DEEPSEEK_BOS,
            DEEPSEEK_EOS,
            "<|EOT|>",
            "### Instruction:",
            "### Response:",
        ),
        name_patterns=(r"deepseek-?coder(?!-?v2)",),
        template_markers=(("### Instruction:", "<|EOT|>"),),
    ),
    ModelFamily(
        name="chatml",
        aliases=("qwen", "qwen2", "qwen2.5", "qwen3", "openhermes", "hermes"),
        description="ChatML: Qwen, OpenHermes, Nous Hermes 2/3, Dolphin, Orca 2, SmolLM, ...",
        template=CHATML_TEMPLATE,
        eos="<|im_end|>",
        stop=("<|im_end|>", "<|im_start|>", "<|endoftext|>"),
        control_strings=(
            "<|im_start|>",
            "<|im_end|>",
            "<|endoftext|>",
            "<tool_call>",
            "</tool_call>",
            "<tool_response>",
            "</tool_response>",
        ),
        supports_tools=True,
        architectures=("qwen", "qwen2", "qwen2moe", "qwen3", "qwen3moe"),
        name_patterns=(r"qwen", r"qwq", r"smollm"),
        finetune_patterns=(
            r"openhermes",
            r"nous-hermes-?2",
            r"hermes-?2-pro",
            r"hermes-?3",
            r"dolphin",
            r"openorca(?!-?platypus)",
            r"orca-?2",
        ),
        template_markers=(("<|im_start|>",),),
        known_templates=(_CHATML_STANDARD,),
    ),
    ModelFamily(
        name="gemma",
        aliases=("gemma2", "gemma3", "gemma-3"),
        description="Google Gemma 1, 2 and 3 (instruction-tuned)",
        template=GEMMA_TEMPLATE,
        bos="<bos>",
        eos="<end_of_turn>",
        stop=("<end_of_turn>", "<eos>", "<start_of_turn>"),
        control_strings=("<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"),
        supports_system=False,
        alternating=True,
        architectures=("gemma", "gemma2", "gemma3", "gemma3n"),
        name_patterns=(r"gemma",),
        template_markers=(("<start_of_turn>",),),
    ),
    ModelFamily(
        name="phi3",
        aliases=("phi-3", "phi3.5", "phi-3.5"),
        description="Microsoft Phi-3, Phi-3.5 and Phi-4-mini instruct",
        template=PHI3_TEMPLATE,
        bos="<s>",
        eos="<|end|>",
        stop=("<|end|>", "<|endoftext|>", "<|user|>"),
        control_strings=(
            "<s>",
            "</s>",
            "<|system|>",
            "<|user|>",
            "<|assistant|>",
            "<|end|>",
            "<|endoftext|>",
        ),
        architectures=("phi3",),
        name_patterns=(r"phi-?3(?![0-9])", r"phi-?4-mini"),
        template_markers=(("<|user|>", "<|end|>"),),
    ),
    ModelFamily(
        name="zephyr",
        aliases=("tinyllama",),
        description="Zephyr, TinyLlama Chat, StableLM Zephyr",
        template=ZEPHYR_TEMPLATE,
        bos="<s>",
        eos="</s>",
        stop=("</s>", "<|user|>"),
        control_strings=("<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"),
        name_patterns=(r"zephyr",),
        finetune_patterns=(r"tiny-?llama",),
        template_markers=(("<|user|>", "<|assistant|>"),),
    ),
    ModelFamily(
        name="llama2",
        aliases=("llama-2", "llama2-chat", "codellama"),
        description="Meta Llama 2 Chat and Code Llama Instruct",
        template=LLAMA2_TEMPLATE,
        bos="<s>",
        eos="</s>",
        stop=("</s>", "[INST]"),
        control_strings=("<s>", "</s>", "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>"),
        alternating=True,
        name_patterns=(r"llama-?2(?![0-9])", r"codellama", r"code-llama"),
        template_markers=(("[INST]", "<<SYS>>"),),
    ),
    ModelFamily(
        name="mistral",
        aliases=("mistral-instruct", "mixtral"),
        description="Mistral and Mixtral Instruct",
        template=MISTRAL_TEMPLATE,
        bos="<s>",
        eos="</s>",
        stop=("</s>", "[INST]"),
        control_strings=(
            "<s>",
            "</s>",
            "[INST]",
            "[/INST]",
            "[TOOL_CALLS]",
            "[AVAILABLE_TOOLS]",
            "[/AVAILABLE_TOOLS]",
            "[TOOL_RESULTS]",
            "[/TOOL_RESULTS]",
            "[SYSTEM_PROMPT]",
            "[/SYSTEM_PROMPT]",
        ),
        supports_system=False,
        alternating=True,
        name_patterns=(r"mistral", r"mixtral", r"codestral"),
        template_markers=(("[INST]",),),
    ),
    ModelFamily(
        name="vicuna",
        aliases=("vicuna-v1.1",),
        description="Vicuna v1.1+ and WizardLM (USER: / ASSISTANT:)",
        template=VICUNA_TEMPLATE,
        bos="<s>",
        eos="</s>",
        stop=("</s>", "USER:"),
        control_strings=("<s>", "</s>", "USER:", "ASSISTANT:"),
        name_patterns=(r"vicuna",),
        finetune_patterns=(r"wizardlm",),
        template_markers=(("USER:", "ASSISTANT:"),),
    ),
    ModelFamily(
        name="alpaca",
        aliases=("alpaca-instruct",),
        description="Alpaca-style instructions: Alpaca, OpenOrca-Platypus2, Nous-Hermes (v1)",
        template=ALPACA_TEMPLATE,
        bos="<s>",
        eos="</s>",
        stop=("</s>", "### Instruction:"),
        control_strings=("<s>", "</s>", "### Instruction:", "### Input:", "### Response:"),
        name_patterns=(r"alpaca",),
        finetune_patterns=(r"openorca-?platypus", r"platypus", r"nous-hermes(?!-?2)"),
        template_markers=(("### Instruction:", "### Response:"),),
    ),
)

for _family in BUILTIN_FAMILIES:
    FAMILIES.register(_family, builtin=True)
del _family

__all__ = [
    "BUILTIN_FAMILIES",
    "FAMILIES",
    "FamilyRegistry",
    "ModelFamily",
    "SystemFold",
    "get_family",
    "list_families",
    "register_family",
    "unregister_family",
]
