"""Render LangChain messages into a model's own prompt format, safely.

One code path for every template: LangChain messages become Hugging Face-style dicts (guarded
against forged turns), are adapted to the family (system and tool messages folded in where the
format has no such role, consecutive turns merged where it expects alternation), and are
rendered by the hardened Jinja sandbox, whether the template is a built-in family's or the
untrusted one inside a GGUF file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from langchain_localkit._core.errors import TemplateError
from langchain_localkit.prompts._messages import adapt_messages, to_template_messages
from langchain_localkit.prompts.detection import Detection, detect
from langchain_localkit.prompts.families import FAMILIES, ModelFamily
from langchain_localkit.prompts.guard import (
    GuardPolicy,
    check_policy,
    control_strings_in_template,
    guard_value,
)
from langchain_localkit.prompts.sandbox import TemplateRejectedError, render_template

if TYPE_CHECKING:
    from langchain_core.messages import MessageLikeRepresentation
    from langchain_core.prompt_values import PromptValue

logger = logging.getLogger(__name__)

FamilyOrTemplate = Union[ModelFamily, Detection, str]  # noqa: UP007 - a runtime alias
"""A family, its name, a `Detection`, or the source of a Jinja chat template."""


@dataclass(frozen=True)
class RenderedPrompt:
    """A prompt rendered in a model's format.

    Attributes:
        prompt: The prompt text, special tokens written out (tokenize it with special-token
            parsing, e.g. llama.cpp's `special=True`).
        stop: Strings that end the model's reply in this format.
        bos_included: The text already starts with the BOS string, so the tokenizer must not
            add another one.
        family: The family's name, or None for a template of no known family.
    """

    prompt: str
    stop: tuple[str, ...] = ()
    bos_included: bool = False
    family: str | None = None

    def __str__(self) -> str:
        return self.prompt


def _resolve(target: FamilyOrTemplate) -> tuple[ModelFamily | None, str, bool]:
    """(family, template source, whether the template is foreign, i.e. not the family's)."""
    if isinstance(target, ModelFamily):
        return target, target.template, False
    if isinstance(target, Detection):
        if target.chat_template and not target.template_exact:
            return target.family, target.chat_template, True
        if target.family is not None:
            return target.family, target.family.template, False
        raise TemplateError(
            f"No prompt format to render with: {target.evidence}. Pass a family name "
            "(e.g. 'llama3') or a fallback."
        )
    if isinstance(target, str):
        family = FAMILIES.find(target)
        if family is not None:
            return family, family.template, False
        if "{{" in target or "{%" in target:
            return None, target, True
        raise ValueError(
            f"{target!r} is neither a known model family ({', '.join(FAMILIES.names())}) nor a "
            "Jinja chat template."
        )
    raise TypeError(
        f"Expected a ModelFamily, a family name, a Detection or a template, not "
        f"{type(target).__name__}."
    )


def render_chat(
    messages: Sequence[MessageLikeRepresentation] | str,
    family_or_template: FamilyOrTemplate,
    add_generation_prompt: bool = True,
    *,
    guard: GuardPolicy = "escape",
    bos_token: str | None = None,
    eos_token: str | None = None,
    tools: Sequence[Any] | None = None,
    template_kwargs: Mapping[str, Any] | None = None,
) -> RenderedPrompt:
    r"""Render a conversation in a model family's prompt format, or with a chat template.

    The text of every message is guarded first: control strings of the format (`[/INST]`,
    `<|im_end|>`, `<end_of_turn>`, ...) found in it are escaped (default), stripped or allowed,
    so that no message can close its turn and open a forged one; with a `Detection` of a GGUF
    file, so are the other control tokens of its vocabulary (`<s>`, `<file_sep>`, ...), which
    special-token parsing would otherwise turn into control tokens. Formats without a system role
    get the system message folded into a user turn; formats without tool messages get tool
    calls as JSON text and tool results as user turns.

    Args:
        messages: LangChain messages (or tuples/dicts/strings, as LangChain accepts).
        family_or_template: A `ModelFamily`, a family name (`"llama3"`), a `Detection` (its
            model's own chat template is used when it has one), or the source of a Jinja chat
            template (e.g. a GGUF's `tokenizer.chat_template`; rendered in the sandbox).
        add_generation_prompt: End with the opening of the assistant's turn.
        guard: What to do with control strings in message text: `"escape"`, `"strip"` or
            `"allow"`.
        bos_token: The BOS string given to the template (default: the family's, or `""`).
        eos_token: The EOS string given to the template (default: the family's, or `""`).
        tools: Tool definitions (OpenAI-style dicts, or anything LangChain can convert), passed
            to the template as `tools` for templates that describe tools themselves.
        template_kwargs: More variables for the template (`date_string`, `documents`, ...).

    Returns:
        A `RenderedPrompt`: the text, the stop strings, whether it starts with BOS.

    Raises:
        TemplateSecurityError: The template reached for Python internals (nothing rendered).
        TemplateError: The template failed or refused the messages.
        ValueError: Unknown family name, non-text content, or an unknown guard policy.

    Example:
        >>> from langchain_core.messages import HumanMessage, SystemMessage
        >>> from langchain_localkit.prompts import render_chat
        >>> r = render_chat([SystemMessage("Be brief."), HumanMessage("Hi")], "llama2")
        >>> r.prompt
        '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]'
        >>> r.stop, r.bos_included
        (('</s>', '[INST]'), True)
    """
    check_policy(guard)
    family, template, foreign = _resolve(family_or_template)
    bos = bos_token if bos_token is not None else (family.bos if family else "")
    eos = eos_token if eos_token is not None else (family.eos if family else "")
    if family is not None:
        controls = family.all_control_strings
    else:
        controls = control_strings_in_template(template)
    vocabulary = (
        family_or_template.control_tokens if isinstance(family_or_template, Detection) else ()
    )
    controls = tuple(dict.fromkeys((*controls, *(s for s in (bos, eos) if s), *vocabulary)))

    base = to_template_messages(messages, control_strings=controls, guard=guard)
    context: dict[str, Any] = dict(template_kwargs or {})
    if tools is not None:
        context["tools"] = guard_value(_tool_dicts(tools), controls, guard)

    def _render(source: str, is_foreign: bool) -> str:
        adapted = adapt_messages([dict(m) for m in base], family, source, is_foreign)
        return render_template(
            source,
            adapted,
            add_generation_prompt=add_generation_prompt,
            bos_token=bos,
            eos_token=eos,
            **context,
        )

    try:
        text = _render(template, foreign)
    except TemplateRejectedError as e:
        if not (foreign and family is not None):
            raise
        logger.warning(
            "The model's own chat template refused the messages (%s); rendering with the "
            "built-in %s format instead.",
            e,
            family.name,
        )
        text = _render(family.template, False)

    stop: tuple[str, ...] = family.stop if family is not None else ()
    if eos and eos not in stop:
        stop = (*stop, eos)
    return RenderedPrompt(
        prompt=text,
        stop=stop,
        bos_included=bool(bos) and text.startswith(bos),
        family=family.name if family else None,
    )


def _tool_dicts(tools: Sequence[Any]) -> list[Any]:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    return [t if isinstance(t, Mapping) else convert_to_openai_tool(t) for t in tools]


def format_prompt_for(
    llm: Any,
    messages_or_prompt_value: PromptValue | Sequence[MessageLikeRepresentation] | str,
    *,
    family: str | ModelFamily | None = None,
    fallback: str | ModelFamily | None = None,
    add_generation_prompt: bool = True,
    guard: GuardPolicy = "escape",
    tools: Sequence[Any] | None = None,
) -> RenderedPrompt:
    r"""Format a chat prompt (or plain text) in the prompt format of `llm`'s model.

    This is what an LLM face does when its `apply_chat_template` flag is on: the output of
    `prompt | llm` gets the model's special tokens. Messages (a `ChatPromptValue`, or a list)
    are rendered with the model's own GGUF template when it has one, else with its detected
    family's. Plain text (a `StringPromptValue` or `str`) becomes one user turn, unless it
    already contains the format's control strings (a prompt written for the model, such as
    `SEARCH_QUERIES_LLAMA_PROMPT`), in which case it is left as it is.

    Args:
        llm: The model (or a path, name, Ollama tag or `Detection`), used to detect the format.
        messages_or_prompt_value: A `PromptValue`, a list of messages, or a string.
        family: Force a family instead of detecting it.
        fallback: The family to use when detection finds nothing.
        add_generation_prompt: End with the opening of the assistant's turn.
        guard: `"escape"`, `"strip"` or `"allow"` (see `render_chat`).
        tools: Tool definitions passed to the template.

    Returns:
        A `RenderedPrompt` (text, stop strings, whether BOS is included).

    Raises:
        TemplateError: The format is unknown and no `fallback` was given, or the template
            failed.

    Example:
        >>> from langchain_core.prompts import ChatPromptTemplate
        >>> from langchain_localkit.prompts import format_prompt_for
        >>> prompt = ChatPromptTemplate.from_messages([("human", "{q}")])
        >>> value = prompt.invoke({"q": "Who was the first man on the moon?"})
        >>> format_prompt_for("gemma3:270m", value).prompt
        '<bos><start_of_turn>user\nWho was the first man on the moon?<end_of_turn>\n<start_of_turn>model\n'
    """  # noqa: E501
    target = detect(family if family is not None else llm, fallback=fallback)
    if target.family is None and not target.chat_template:
        what = llm if isinstance(llm, str) else type(llm).__name__
        raise TemplateError(
            f"Cannot tell which prompt format {what} uses: {target.evidence}. Set the model's "
            "`chat_format` (e.g. 'llama3'), or pass `family=` or `fallback=`."
        )
    text, messages = _split(messages_or_prompt_value)
    if messages is None:
        fam = target.family
        controls = (
            fam.all_control_strings
            if fam is not None
            else control_strings_in_template(target.chat_template or "")
        )
        if any(c in text for c in controls):
            stop = fam.stop if fam is not None else ()
            bos = fam.bos if fam is not None else ""
            return RenderedPrompt(
                prompt=text,
                stop=stop,
                bos_included=bool(bos) and text.startswith(bos),
                family=fam.name if fam is not None else None,
            )
        messages = [("human", text)]
    return render_chat(messages, target, add_generation_prompt, guard=guard, tools=tools)


def _split(
    value: Any,
) -> tuple[str, Sequence[MessageLikeRepresentation] | None]:
    from langchain_core.prompt_values import ChatPromptValue, PromptValue, StringPromptValue

    if isinstance(value, StringPromptValue):
        return value.text, None
    if isinstance(value, ChatPromptValue):
        return "", value.messages
    if isinstance(value, PromptValue):
        return "", value.to_messages()
    if isinstance(value, str):
        return value, None
    if isinstance(value, Sequence):
        return "", value
    raise TypeError(
        f"Expected a PromptValue, a list of messages or a string, not {type(value).__name__}."
    )


__all__ = [
    "FamilyOrTemplate",
    "RenderedPrompt",
    "format_prompt_for",
    "render_chat",
    "to_template_messages",
]
