"""Model profiles from what a model or its server says: pure functions, no I/O.

A profile joins two things: what the face can do with any model it runs (`Faculties`: the
llama.cpp faces constrain tool calls with a grammar; langchain-ollama cannot force a tool) and
what the model itself says (a GGUF header, llama-server's `/props`, Ollama's `/api/show`, an
OpenAI-compatible server's `/v1/models`). Only keys LangChain's `ModelProfile` declares are
written; a key whose answer is not known is left out rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import ModelProfile

from langchain_localkit._core.reasoning import thought_format_in_template
from langchain_localkit.prompts.capabilities import ModelCapabilities

EFFORT_LEVELS = ("low", "medium", "high")
"""The reasoning efforts of Harmony models (gpt-oss), the only ones with levels."""

_NUM_CTX = re.compile(r"^\s*num_ctx\s+(\d+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Faculties:
    """What a face can do with a generating model, whatever the model says (None: unknown).

    Attributes:
        tools: Tool calls come back as `tool_calls` (grammar-constrained, parsed by the
            server, or asked for in the prompt and checked).
        tool_choice: `tool_choice="any"` and a named tool are honoured.
        structured_output: LangChain's provider strategy works: `create_agent` sends
            `response_format` with `strict=True`, tools bound in the same call, and reads the
            JSON reply.
    """

    tools: bool | None = True
    tool_choice: bool | None = True
    structured_output: bool | None = False


@dataclass(frozen=True)
class GGUFFacts:
    """What a GGUF header says, as a profile needs it.

    Attributes:
        capabilities: `gguf_capabilities` of the header.
        name: `general.name`, else the file name.
    """

    capabilities: ModelCapabilities
    name: str


def model_profile(
    faculties: Faculties,
    *,
    name: str | None = None,
    generates: bool = True,
    tools: bool | None = True,
    thinking: str | bool | None = None,
    images: bool | None = None,
    context: int | None = None,
    open_weights: bool | None = True,
) -> ModelProfile:
    """A profile from the face's faculties and what the model says.

    Args:
        faculties: What the face can do.
        name: The model's name.
        generates: False for a model that only embeds (no text, tools or thoughts out).
        tools: Whether the model calls tools (None: unknown); and-ed with the face's.
        thinking: The model's thought format ("think", "harmony", ...), True when it thinks
            in an unnamed format, False when it does not, None when unknown.
        images: Whether the face sends images to this model (None: unknown).
        context: The context window the runtime uses, in tokens.
        open_weights: Whether the weights are open (None: unknown).

    Example:
        >>> model_profile(Faculties(), thinking="harmony")["reasoning_effort_levels"]
        ['low', 'medium', 'high']
    """
    out: ModelProfile = {}
    if name:
        out["name"] = name
    if open_weights is not None:
        out["open_weights"] = open_weights
    if context:
        out["max_input_tokens"] = int(context)
    out["text_inputs"] = True
    if images is not None:
        out["image_inputs"] = images
    if thinking is not None:
        out["reasoning_output"] = generates and bool(thinking)
        if generates and thinking == "harmony":
            out["reasoning_effort_levels"] = list(EFFORT_LEVELS)
    out["text_outputs"] = generates
    calls = _both(faculties.tools, tools)
    if calls is not None:
        out["tool_calling"] = generates and calls
        out["tool_call_streaming"] = generates and calls
    choice = _both(faculties.tool_choice, calls)
    if choice is not None:
        out["tool_choice"] = generates and choice
    if faculties.structured_output is not None:
        out["structured_output"] = generates and faculties.structured_output
    out["temperature"] = True
    return out


def _both(a: bool | None, b: bool | None) -> bool | None:
    """`a and b` where either may be unknown (None); a known False decides."""
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def thinking_of(template: str | None) -> str | bool | None:
    """The thought format a chat template marks ("think", "harmony", ...), else False.

    None when there is no template (unknown). A family alone says nothing here: ChatML is
    Qwen3's format and a plain model's alike.

    Example:
        >>> thinking_of("{{ content.split('</think>')[-1] }}"), thinking_of("{{ m }}")
        ('think', False)
    """
    if not template:
        return None
    fmt = thought_format_in_template(template)
    return fmt.name if fmt is not None else False


def gguf_profile(
    facts: GGUFFacts,
    faculties: Faculties,
    *,
    context: int | None,
    thinking: str | bool | None = None,
) -> ModelProfile:
    """The profile of a GGUF model run in process (no vision in these faces).

    Args:
        facts: What the header says.
        faculties: What the face can do.
        context: The context window the face will load the model with.
        thinking: The thought format of a template that overrides the file's.
    """
    caps = facts.capabilities
    generates = not caps.embedding_only and caps.kind != "mmproj"
    return model_profile(
        faculties,
        name=facts.name,
        generates=generates,
        thinking=thinking if thinking is not None else (caps.thinking or False),
        images=False,
        context=context,
    )


def server_profile(
    faculties: Faculties,
    *,
    name: str | None,
    context: int | None = None,
    thinking: str | bool | None = None,
    images: bool | None = None,
    open_weights: bool | None = True,
) -> ModelProfile:
    """The profile of a model on a llama.cpp or OpenAI-compatible server (None: not known)."""
    return model_profile(
        faculties,
        name=name,
        thinking=thinking,
        images=images,
        context=context,
        open_weights=open_weights,
    )


def vision_in_props(props: Mapping[str, Any]) -> bool | None:
    """What llama-server's `/props` says of image input (`modalities.vision`), if anything."""
    modalities = props.get("modalities")
    vision = modalities.get("vision") if isinstance(modalities, Mapping) else None
    return vision if isinstance(vision, bool) else None


def route_faculties(
    *, tools: bool, tool_choice_required: bool, grammar: bool, constrain: str
) -> Faculties:
    """What an OpenAI-compatible face does on a server that honours what its preset says.

    With `constrain="auto"`, "grammar" or "prompt", tools and any tool choice always work (a
    grammar or a checked prompt stands in for what the server lacks); with "server" they
    are the server's own.
    """
    if constrain == "server":
        return Faculties(tools=tools, tool_choice=tools and tool_choice_required)
    if constrain == "grammar" and not grammar:
        return Faculties(tools=False, tool_choice=False)
    return Faculties()


def modelfile_num_ctx(parameters: Any) -> int | None:
    r"""The `num_ctx` of an Ollama model's Modelfile (`parameters` of `/api/show`).

    Example:
        >>> modelfile_num_ctx('num_ctx                        8192\nstop "<|eot_id|>"')
        8192
    """
    found = _NUM_CTX.search(parameters) if isinstance(parameters, str) else None
    return int(found.group(1)) if found else None


def ollama_profile(
    show: Mapping[str, Any] | None,
    *,
    name: str,
    num_ctx: int | None = None,
    loaded_context: int | None = None,
) -> ModelProfile:
    """The profile of an Ollama model, from `/api/show` (None: before the server was asked).

    langchain-ollama cannot force a tool (`tool_choice` is ignored) and sends a response
    format as Ollama's `format`, which Ollama constrains for any generating model.

    Args:
        show: Ollama's `/api/show` answer (`capabilities`, `model_info`, `parameters`).
        name: The model's tag.
        num_ctx: The face's `num_ctx`, when set.
        loaded_context: The context the server loaded the model with (`/api/ps`).
    """
    faculties = Faculties(tools=True, tool_choice=False, structured_output=True)
    if show is None:
        return model_profile(faculties, name=name, tools=None, context=num_ctx)
    capabilities = show.get("capabilities")  # absent before Ollama 0.6.4: unknown
    known = set(capabilities) if isinstance(capabilities, list) and capabilities else None
    info = show.get("model_info") or {}
    arch = str(info.get("general.architecture") or "")
    generates = known is None or not known <= {"embedding"}
    thinking: str | bool | None = None
    if known is not None:
        thinking = "thinking" in known
        if thinking and arch.replace("-", "") == "gptoss":
            thinking = "harmony"
    return model_profile(
        faculties,
        name=name,
        generates=generates,
        tools=None if known is None else "tools" in known,
        thinking=thinking,
        images=None if known is None else "vision" in known,
        context=num_ctx or modelfile_num_ctx(show.get("parameters")) or loaded_context,
    )


__all__ = [
    "EFFORT_LEVELS",
    "Faculties",
    "GGUFFacts",
    "gguf_profile",
    "modelfile_num_ctx",
    "ollama_profile",
    "model_profile",
    "route_faculties",
    "server_profile",
    "thinking_of",
    "vision_in_props",
]
