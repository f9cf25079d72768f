"""Which prompt format does a model use? Detection from the most reliable evidence down.

For a model object (`LlamaCpp`, `ChatOllama`, ..., or langchain-community's classes), a path,
a model name or an Ollama tag, in this order:

1. an explicit override on the object: a `chat_template` (Jinja source) or a `chat_format`
   (a family name);
2. the GGUF file's own `tokenizer.chat_template`, recognised as a known family's;
3. GGUF metadata, read from the header without loading the model: fine-tune names in
   `general.name` (then in the file name, so `openorca-platypus2-13b` wins over a generic
   `general.name` of "LLaMA v2"), base names in `general.name`, then `general.architecture`
   when it names one family only (`gemma3`, `qwen2`, `phi3`, ...; `llama` does not);
4. the file name (`llama-2-13b-chat.Q4_0.gguf`);
5. a model name or Ollama tag (`llama3.1:8b`, `hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF`).

Nothing matched is an explicit "unknown" (`Detection.family is None`), never a silent guess;
callers choose their fallback.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_localkit.prompts.families import FAMILIES, ModelFamily, get_family

if TYPE_CHECKING:
    from langchain_localkit._core.gguf import GGUFInfo

DetectionSource = Literal[
    "family",
    "override",
    "chat_format",
    "chat_template",
    "gguf_name",
    "architecture",
    "file_name",
    "ollama_tag",
    "name",
    "fallback",
    "unknown",
]

MODEL_FILE_SUFFIXES = (".gguf", ".bin", ".ggml", ".ggmlv3", ".llamafile")
"""File names ending like this are treated as paths, not as model names or Ollama tags."""


@dataclass(frozen=True)
class Detection:
    """The outcome of `detect`: a family (or None), and why.

    Attributes:
        family: The detected family, or None when nothing matched (and no fallback was given).
        source: What decided: `"override"` (the object's `chat_template`), `"chat_format"`,
            `"chat_template"` (the GGUF's template), `"gguf_name"`, `"architecture"`,
            `"file_name"`, `"ollama_tag"`, `"name"`, `"family"` (a family name was given),
            `"fallback"` or `"unknown"`.
        evidence: A sentence saying what matched, for logs and error messages.
        chat_template: The model's own chat template (from the GGUF file or an override),
            when it has one, recognised or not.
        template_exact: The model's template is exactly the family's (so rendering with either
            gives the same text).
        control_tokens: The control tokens of the model's vocabulary (from its GGUF file), which
            the special-token guard escapes in message text along with the format's own.
    """

    family: ModelFamily | None
    source: DetectionSource
    evidence: str
    chat_template: str | None = None
    template_exact: bool = False
    control_tokens: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def known(self) -> bool:
        """Whether a family was found (or a fallback applied)."""
        return self.family is not None

    @property
    def name(self) -> str:
        """The family's name, or `"unknown"`."""
        return self.family.name if self.family is not None else "unknown"

    def __str__(self) -> str:
        return f"{self.name} ({self.source}: {self.evidence})"


def normalize_model_name(name: str) -> str:
    """Lower-case a model name and turn `_` and spaces into `-` (dots are kept).

    A path or an `hf.co/owner/repo:tag` reference keeps only its last segment.

    Example:
        >>> from langchain_localkit.prompts import normalize_model_name
        >>> normalize_model_name("models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
        'meta-llama-3.1-8b-instruct-q4-k-m.gguf'
        >>> normalize_model_name("Gemma 3 270m")
        'gemma-3-270m'
    """
    text = name.strip().replace("\\", "/").rstrip("/")
    text = text.rsplit("/", 1)[-1]
    text = re.sub(r"[\s_]+", "-", text.lower())
    return re.sub(r"-{2,}", "-", text)


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _match_tier(normalized: str, finetune: bool) -> tuple[ModelFamily, str] | None:
    for family in FAMILIES:
        for pattern in family.finetune_patterns if finetune else family.name_patterns:
            if _compiled(pattern).search(normalized):
                return family, pattern
    return None


def _match_name(name: str) -> tuple[ModelFamily, str] | None:
    """The family `name` points to and the pattern that matched: fine-tunes first."""
    normalized = normalize_model_name(name)
    return _match_tier(normalized, True) or _match_tier(normalized, False)


def match_model_name(name: str) -> ModelFamily | None:
    """The family a model name, file name or Ollama tag points to, or None.

    Fine-tune patterns are checked before base-model patterns, so `openhermes-2.5-mistral-7b`
    is ChatML, not Mistral.

    Example:
        >>> from langchain_localkit.prompts import match_model_name
        >>> match_model_name("openhermes-2.5-mistral-7b.Q4_K_M.gguf").name
        'chatml'
        >>> match_model_name("llama2:13b").name, match_model_name("all-MiniLM-L6-v2")
        ('llama2', None)
    """
    found = _match_name(name)
    return found[0] if found else None


@lru_cache(maxsize=256)
def _collapse(template: str) -> str:
    return " ".join(template.split())


def recognize_template(template: str) -> tuple[ModelFamily | None, bool]:
    r"""Recognise a chat template (e.g. a GGUF's) as a family's.

    Exact matches (whitespace-insensitive) with a family's own or known templates come first,
    then the families' template markers (e.g. `<|start_header_id|>` and `<|eot_id|>` for
    Llama 3), in detection order.

    Returns:
        `(family, exact)`, or `(None, False)` when no family's markers are present.

    Example:
        >>> from langchain_localkit.prompts import recognize_template
        >>> fam, exact = recognize_template("{{ '<start_of_turn>user\n' + m }}")
        >>> fam.name, exact
        ('gemma', False)
    """
    collapsed = _collapse(template)
    families = list(FAMILIES)
    for family in families:
        candidates = (family.template, *family.known_templates)
        if any(collapsed == _collapse(t) for t in candidates):
            return family, True
    for family in families:
        if any(all(m in template for m in group) for group in family.template_markers):
            return family, False
    return None, False


def _unknown(evidence: str, chat_template: str | None = None) -> Detection:
    return Detection(None, "unknown", evidence, chat_template=chat_template)


def _from_name(name: str, source: DetectionSource, what: str) -> Detection | None:
    found = _match_name(name)
    if found is None:
        return None
    family, pattern = found
    return Detection(family, source, f"{what} {name!r} matches {pattern!r}")


def _detect_gguf(path: Path) -> Detection:
    from langchain_localkit.prompts._vocab import vocabulary_controls

    found = _detect_gguf_format(path)
    controls = vocabulary_controls(path)
    return dataclasses.replace(found, control_tokens=controls) if controls else found


def _detect_gguf_format(path: Path) -> Detection:
    from langchain_localkit._core.errors import ModelFileError
    from langchain_localkit._core.gguf import read_gguf_info

    try:
        info = read_gguf_info(path, check_tensors=False)  # the header is enough; loading checks
    except (ModelFileError, OSError) as e:
        by_name = _from_name(path.name, "file_name", "file name")
        note = f"; its header could not be read ({type(e).__name__})"
        if by_name:
            return Detection(by_name.family, by_name.source, by_name.evidence + note)
        return _unknown(f"nothing in the file name {path.name!r} is known{note}")

    template = info.chat_template
    if template:
        recognised, exact = recognize_template(template)
        if recognised is not None:
            how = "is exactly" if exact else "has the markers of"
            return Detection(
                recognised,
                "chat_template",
                f"tokenizer.chat_template {how} the {recognised.name} format",
                chat_template=template,
                template_exact=exact,
            )
    found = _match_gguf_metadata(info, path.name)
    if found is None:
        what = "an unrecognised chat template" if template else "no chat template"
        arch = (info.architecture or "").lower() or "?"
        return _unknown(
            f"{path.name}: {what}, architecture {arch!r}, name {info.name!r} match no family",
            chat_template=template,
        )
    family, source, evidence = found
    return Detection(family, source, evidence, chat_template=template)


def _match_gguf_metadata(
    info: GGUFInfo, file_name: str
) -> tuple[ModelFamily, DetectionSource, str] | None:
    """The family GGUF metadata (and the file name) point to, the deciding source and why."""
    names = [
        n for n in (info.name, info.get("general.basename")) if isinstance(n, str) and n.strip()
    ]
    for finetune in (True, False):
        for name in names:
            found = _match_tier(normalize_model_name(name), finetune)
            if found:
                family, pattern = found
                return family, "gguf_name", f"general.name {name!r} matches {pattern!r}"
        if finetune:
            found = _match_tier(normalize_model_name(file_name), True)
            if found:
                family, pattern = found
                evidence = f"file name {file_name!r} matches the fine-tune pattern {pattern!r}"
                return family, "file_name", evidence
    arch = (info.architecture or "").lower()
    if arch:
        for family in FAMILIES:
            if arch in family.architectures:
                return family, "architecture", f"general.architecture = {arch!r}"
    found = _match_tier(normalize_model_name(file_name), False)
    if found:
        family, pattern = found
        return family, "file_name", f"file name {file_name!r} matches {pattern!r}"
    return None


def _looks_like_path(text: str) -> bool:
    lowered = text.lower()
    if lowered.endswith(MODEL_FILE_SUFFIXES):
        return True
    if lowered.startswith(("hf.co/", "huggingface.co/")):
        return False
    try:
        return ("/" in text or os.sep in text) and Path(text).expanduser().is_file()
    except OSError:
        return False


def _detect_path(path: Path) -> Detection:
    path = path.expanduser()
    if path.is_file():
        return _detect_gguf(path)
    found = _from_name(path.name, "file_name", "file name")
    if found:
        return Detection(found.family, found.source, found.evidence + " (file not found)")
    return _unknown(f"{path.name!r} does not exist and its name matches no family")


def _detect_string(text: str) -> Detection:
    text = text.strip()
    if not text:
        return _unknown("an empty model name")
    if _looks_like_path(text):
        return _detect_path(Path(text))
    is_tag = " " not in text and (":" in text or text == text.lower())
    source: DetectionSource = "ollama_tag" if is_tag else "name"
    found = _from_name(text, source, "Ollama tag" if is_tag else "model name")
    if found:
        return found
    family = FAMILIES.find(text)
    if family is not None:
        return Detection(family, "family", f"{text!r} names the {family.name} family")
    return _unknown(f"the model name {text!r} matches no family")


def _unwrap(obj: Any) -> Any:
    """`llm.bind(...)` / `llm.with_config(...)` wrap the model in `.bound`."""
    for _ in range(8):
        bound = getattr(obj, "bound", None)
        if bound is None or bound is obj or not hasattr(bound, "invoke"):
            break
        obj = bound
    return obj


def _detect_object(obj: Any) -> Detection:
    obj = _unwrap(obj)
    kind = type(obj).__name__
    template = getattr(obj, "chat_template", None)
    if isinstance(template, str) and template.strip():
        family, exact = recognize_template(template)
        recognised = f"recognised as {family.name}" if family else "not recognised"
        return Detection(
            family,
            "override",
            f"{kind}.chat_template is set ({recognised})",
            chat_template=template,
            template_exact=exact,
        )
    chat_format = getattr(obj, "chat_format", None)
    if isinstance(chat_format, str) and chat_format.strip():
        family = FAMILIES.find(chat_format)
        if family is not None:
            return Detection(family, "chat_format", f"{kind}.chat_format = {chat_format!r}")
    model_path = getattr(obj, "model_path", None)
    if isinstance(model_path, str | os.PathLike) and str(model_path):
        return _detect_path(Path(model_path))
    for attr in ("model", "model_name", "model_id"):
        value = getattr(obj, attr, None)
        if isinstance(value, os.PathLike):
            return _detect_path(Path(value))
        if isinstance(value, str) and value.strip():
            return _detect_string(value)
    base_url = getattr(obj, "base_url", None)
    if isinstance(base_url, str) and base_url:
        return _unknown(
            f"{kind} talks to a server at {base_url} and names no model; "
            "set `chat_format` (a family name) to say which format it uses"
        )
    return _unknown(f"{kind} has no chat_template, chat_format, model_path or model attribute")


def detect(obj: Any, *, fallback: str | ModelFamily | None = None) -> Detection:
    """Detect the prompt format of a model object, a GGUF path, a model name or an Ollama tag.

    Args:
        obj: A LangChain model (`LlamaCpp`, `ChatLlamaCpp`, `GPT4All`, `ChatOllama`, ...,
            including `llm.bind(...)` wrappers), a `ModelFamily`, a path (str or `Path`), a
            file name, a model name, an Ollama tag, or a family name.
        fallback: A family (or its name) to use when nothing matches.

    Returns:
        A `Detection` with the family (None if unknown and no fallback), the deciding source,
        the evidence, and the model's own chat template when it has one.

    Example:
        >>> from langchain_localkit.prompts import detect
        >>> d = detect("llama-2-13b-chat.Q4_0.gguf")
        >>> d.name, d.source
        ('llama2', 'file_name')
        >>> detect("llama3.1:8b").name
        'llama3'
        >>> detect("my-secret-model", fallback="chatml").source
        'fallback'
    """
    if isinstance(obj, ModelFamily):
        result = Detection(obj, "family", f"the {obj.name} family was given")
    elif isinstance(obj, Detection):
        result = obj
    elif isinstance(obj, os.PathLike):
        result = _detect_path(Path(obj))
    elif isinstance(obj, str):
        result = _detect_string(obj)
    else:
        result = _detect_object(obj)
    if result.family is None and fallback is not None:
        family = get_family(fallback)
        return Detection(
            family,
            "fallback",
            f"{result.evidence}; using the fallback {family.name}",
            chat_template=result.chat_template,
            control_tokens=result.control_tokens,
        )
    return result


def detect_family(obj: Any, fallback: str | ModelFamily | None = None) -> ModelFamily | None:
    """The prompt-format family of a model, path, name or Ollama tag, or None when unknown.

    See `detect` for the evidence used and its order, and for the reason behind a result.

    Args:
        obj: A model object, path, file name, model name or Ollama tag.
        fallback: The family (or its name) to return when nothing matches; None returns None.

    Example:
        >>> from langchain_localkit.prompts import detect_family
        >>> detect_family("gemma3:270m").name
        'gemma'
        >>> detect_family("openorca-platypus2-13b.gguf.q4_0.bin").name
        'alpaca'
        >>> print(detect_family("mystery.gguf"))
        None
        >>> detect_family("mystery.gguf", fallback="chatml").name
        'chatml'
    """
    return detect(obj, fallback=fallback).family


__all__ = [
    "MODEL_FILE_SUFFIXES",
    "Detection",
    "DetectionSource",
    "detect",
    "detect_family",
    "match_model_name",
    "normalize_model_name",
    "recognize_template",
]
