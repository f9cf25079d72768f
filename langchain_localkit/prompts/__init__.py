r"""The prompt pack: model families, safe chat-template rendering, detection and selectors.

- **Families** (`ModelFamily`, `register_family`, `get_family`, `list_families`): each prompt
  format as data: chat template, BOS/EOS, stop strings, control strings, system-role support.
- **Detection** (`detect`, `detect_family`): from a model object, a GGUF file (its chat
  template, then its metadata), a file name or an Ollama tag; "unknown" is explicit.
- **Rendering** (`render_chat`, `format_prompt_for`): LangChain messages in a family's format or
  with a GGUF's own template, in a hardened Jinja sandbox, with a guard against forged turns.
- **Selectors** (`ConditionalPromptSelector`, `FamilyPromptSelector`, `is_llama_cpp`,
  `is_family`, ...) and the recipes' prompts (`QUESTION_PROMPT_SELECTOR`, `RAG_PROMPTS`, ...).

Names are imported lazily: `import langchain_localkit.prompts` loads neither Jinja nor a runtime.

Example:
    >>> from langchain_localkit.prompts import detect_family, render_chat
    >>> family = detect_family("llama3.1:8b")
    >>> render_chat([("human", "Hi")], family).prompt
    '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_localkit.prompts.detection import (
        Detection,
        DetectionSource,
        detect,
        detect_family,
        match_model_name,
        normalize_model_name,
        recognize_template,
    )
    from langchain_localkit.prompts.families import (
        BUILTIN_FAMILIES,
        FAMILIES,
        FamilyRegistry,
        ModelFamily,
        get_family,
        list_families,
        register_family,
        unregister_family,
    )
    from langchain_localkit.prompts.guard import (
        ZERO_WIDTH_SPACE,
        GuardPolicy,
        control_strings_in_template,
        guard_text,
    )
    from langchain_localkit.prompts.recipes import (
        DEFAULT_LLAMA_SEARCH_PROMPT,
        DEFAULT_SEARCH_PROMPT,
        QUESTION_PROMPT_SELECTOR,
        RAG_CHAT_PROMPT,
        RAG_PROMPT,
        RAG_PROMPT_LLAMA,
        RAG_PROMPT_SELECTOR,
        RAG_PROMPTS,
        SEARCH_QUERIES_CHAT_PROMPT,
        SEARCH_QUERIES_LLAMA_PROMPT,
        SEARCH_QUERIES_PROMPT,
        SEARCH_QUERIES_SELECTOR,
    )
    from langchain_localkit.prompts.render import (
        RenderedPrompt,
        format_prompt_for,
        render_chat,
        to_template_messages,
    )
    from langchain_localkit.prompts.sandbox import (
        TemplateRejectedError,
        TemplateSecurityError,
        render_template,
    )
    from langchain_localkit.prompts.selectors import (
        BasePromptSelector,
        ConditionalPromptSelector,
        FamilyPromptSelector,
        family_condition,
        is_chat_model,
        is_family,
        is_gpt4all,
        is_llama_cpp,
        is_llamafile,
        is_llm,
        is_ollama,
    )
    from langchain_localkit.prompts.templates import GuardedPromptTemplate, to_family_prompt

_P = "langchain_localkit.prompts."
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "Detection",
            "DetectionSource",
            "detect",
            "detect_family",
            "match_model_name",
            "normalize_model_name",
            "recognize_template",
        ),
        _P + "detection",
    ),
    **dict.fromkeys(
        (
            "BUILTIN_FAMILIES",
            "FAMILIES",
            "FamilyRegistry",
            "ModelFamily",
            "get_family",
            "list_families",
            "register_family",
            "unregister_family",
        ),
        _P + "families",
    ),
    **dict.fromkeys(
        ("ZERO_WIDTH_SPACE", "GuardPolicy", "control_strings_in_template", "guard_text"),
        _P + "guard",
    ),
    **dict.fromkeys(
        (
            "DEFAULT_LLAMA_SEARCH_PROMPT",
            "DEFAULT_SEARCH_PROMPT",
            "QUESTION_PROMPT_SELECTOR",
            "RAG_CHAT_PROMPT",
            "RAG_PROMPT",
            "RAG_PROMPT_LLAMA",
            "RAG_PROMPT_SELECTOR",
            "RAG_PROMPTS",
            "SEARCH_QUERIES_CHAT_PROMPT",
            "SEARCH_QUERIES_LLAMA_PROMPT",
            "SEARCH_QUERIES_PROMPT",
            "SEARCH_QUERIES_SELECTOR",
        ),
        _P + "recipes",
    ),
    **dict.fromkeys(
        ("RenderedPrompt", "format_prompt_for", "render_chat", "to_template_messages"),
        _P + "render",
    ),
    **dict.fromkeys(
        ("TemplateRejectedError", "TemplateSecurityError", "render_template"),
        _P + "sandbox",
    ),
    **dict.fromkeys(
        (
            "BasePromptSelector",
            "ConditionalPromptSelector",
            "FamilyPromptSelector",
            "family_condition",
            "is_chat_model",
            "is_family",
            "is_gpt4all",
            "is_llama_cpp",
            "is_llamafile",
            "is_llm",
            "is_ollama",
        ),
        _P + "selectors",
    ),
    **dict.fromkeys(("GuardedPromptTemplate", "to_family_prompt"), _P + "templates"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'langchain_localkit.prompts' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "BUILTIN_FAMILIES",
    "DEFAULT_LLAMA_SEARCH_PROMPT",
    "DEFAULT_SEARCH_PROMPT",
    "FAMILIES",
    "QUESTION_PROMPT_SELECTOR",
    "RAG_CHAT_PROMPT",
    "RAG_PROMPT",
    "RAG_PROMPTS",
    "RAG_PROMPT_LLAMA",
    "RAG_PROMPT_SELECTOR",
    "SEARCH_QUERIES_CHAT_PROMPT",
    "SEARCH_QUERIES_LLAMA_PROMPT",
    "SEARCH_QUERIES_PROMPT",
    "SEARCH_QUERIES_SELECTOR",
    "ZERO_WIDTH_SPACE",
    "BasePromptSelector",
    "ConditionalPromptSelector",
    "Detection",
    "DetectionSource",
    "FamilyPromptSelector",
    "FamilyRegistry",
    "GuardPolicy",
    "GuardedPromptTemplate",
    "ModelFamily",
    "RenderedPrompt",
    "TemplateRejectedError",
    "TemplateSecurityError",
    "control_strings_in_template",
    "detect",
    "detect_family",
    "family_condition",
    "format_prompt_for",
    "get_family",
    "guard_text",
    "is_chat_model",
    "is_family",
    "is_gpt4all",
    "is_llama_cpp",
    "is_llamafile",
    "is_llm",
    "is_ollama",
    "list_families",
    "match_model_name",
    "normalize_model_name",
    "recognize_template",
    "register_family",
    "render_chat",
    "render_template",
    "to_family_prompt",
    "to_template_messages",
    "unregister_family",
]
