"""What a GGUF file says its model can do, read from the header alone (no load).

Discovery (`langchain_localkit.discovery`), the chat models' `profile` and `localkit info` all
read a model through `gguf_capabilities`, so they agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_localkit._core.gguf import GGUFInfo
from langchain_localkit._core.reasoning import thought_format_in_template

_FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}
"""`general.file_type` (llama.cpp's `llama_ftype`) -> the quantization's usual name."""

_QUANT_IN_NAME = re.compile(
    r"(?<![A-Za-z0-9])(I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|F32|MXFP4(?:_MOE)?)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_ENCODERS = frozenset(
    {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "t5encoder", "modern-bert", "neo-bert"}
)
_TOOLS_IN_TEMPLATE = re.compile(r"\btools\b")

CAPABILITIES = ("completion", "chat", "tools", "thinking", "embedding", "vision")
"""Every capability name, in the order tables show them."""


@dataclass(frozen=True)
class ModelCapabilities:
    """What a model file says about itself.

    Attributes:
        chat: It has a chat template, or its family's format is known.
        tools: Its own chat template renders tool definitions (the grammar-constrained faces
            call tools on any chat model; this says the model was trained for them).
        thinking: The thought format its template marks ("think", "mistral", "harmony"), or
            None.
        embedding_only: An encoder or pooling model: it embeds and does not generate.
        family: The prompt-pack family detected from the header, or None.
        context_length: The context length it was trained with, or None.
        quantization: "Q4_K_M", "F16", ... from `general.file_type` (else the file name).
        parameters: `general.size_label` ("8B", "135M"), or None.
        kind: `general.type`: "model", or "mmproj" for a vision projector (not a model).
    """

    chat: bool
    tools: bool
    thinking: str | None
    embedding_only: bool
    family: str | None
    context_length: int | None
    quantization: str | None
    parameters: str | None
    kind: str = "model"

    def names(self) -> tuple[str, ...]:
        """The capabilities as names (`CAPABILITIES` order), e.g. `("completion", "chat")`.

        Example:
            >>> ModelCapabilities(
            ...     True, True, "think", False, "chatml", 32768, "Q4_K_M", "4B"
            ... ).names()
            ('completion', 'chat', 'tools', 'thinking')
        """
        if self.kind == "mmproj":
            return ()
        if self.embedding_only:
            return ("embedding",)
        found = {"completion"}
        if self.chat:
            found.add("chat")
        if self.tools:
            found.add("tools")
        if self.thinking:
            found.add("thinking")
        return tuple(c for c in CAPABILITIES if c in found)


def quantization_of(info: GGUFInfo) -> str | None:
    """The quantization's name from `general.file_type`, else from the file name."""
    file_type = info.get("general.file_type")
    if isinstance(file_type, int) and file_type in _FILE_TYPES:
        return _FILE_TYPES[file_type]
    found = _QUANT_IN_NAME.search(info.path.name)
    return found.group(1).upper() if found else None


def is_embedding_only(info: GGUFInfo) -> bool:
    """Whether the model embeds and does not generate (an encoder, or a pooling model)."""
    arch = (info.architecture or "").lower()
    if arch in _ENCODERS or arch.endswith("-embedding"):
        return True
    return info.get(f"{arch}.pooling_type") is not None and not info.chat_template


def gguf_capabilities(info: GGUFInfo) -> ModelCapabilities:
    """What the header of a GGUF file says its model can do.

    Args:
        info: The header (`read_gguf_info(path)`).

    Example:
        >>> from langchain_localkit._core.gguf import read_gguf_info
        >>> caps = gguf_capabilities(read_gguf_info("qwen3-4b.gguf"))  # doctest: +SKIP
        >>> caps.names(), caps.context_length  # doctest: +SKIP
        (('completion', 'chat', 'tools', 'thinking'), 40960)
    """
    from langchain_localkit.prompts.detection import detect

    kind = info.get("general.type")
    template = info.chat_template
    embedding = is_embedding_only(info)
    family = None if embedding else detect(info.path).family
    fmt = thought_format_in_template(template)
    if fmt is None and family is not None and family.thinking == "harmony":
        thinking: str | None = "harmony"
    else:
        thinking = fmt.name if fmt is not None else None
    size_label = info.get("general.size_label")
    return ModelCapabilities(
        chat=not embedding and (template is not None or family is not None),
        tools=not embedding and template is not None and bool(_TOOLS_IN_TEMPLATE.search(template)),
        thinking=None if embedding else thinking,
        embedding_only=embedding,
        family=family.name if family is not None else None,
        context_length=info.context_length,
        quantization=quantization_of(info),
        parameters=size_label if isinstance(size_label, str) and size_label else None,
        kind=kind if isinstance(kind, str) and kind else "model",
    )


__all__ = [
    "CAPABILITIES",
    "ModelCapabilities",
    "gguf_capabilities",
    "is_embedding_only",
    "quantization_of",
]
