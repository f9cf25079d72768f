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

from typing import TYPE_CHECKING

from langchain_localkit._core.lazy import lazy_exports

if TYPE_CHECKING:
    # `name as name` re-exports explicitly (`__all__` is computed, so type checkers cannot read
    # it); isort is off because it would give every aliased name an import statement of its own.
    # isort: off
    from langchain_localkit.prompts.detection import (
        Detection as Detection,
        DetectionSource as DetectionSource,
        detect as detect,
        detect_family as detect_family,
        match_model_name as match_model_name,
        normalize_model_name as normalize_model_name,
        recognize_template as recognize_template,
    )
    from langchain_localkit.prompts.families import (
        BUILTIN_FAMILIES as BUILTIN_FAMILIES,
        FAMILIES as FAMILIES,
        FamilyRegistry as FamilyRegistry,
        ModelFamily as ModelFamily,
        get_family as get_family,
        list_families as list_families,
        register_family as register_family,
        unregister_family as unregister_family,
    )
    from langchain_localkit.prompts.guard import (
        ZERO_WIDTH_SPACE as ZERO_WIDTH_SPACE,
        GuardPolicy as GuardPolicy,
        control_strings_in_template as control_strings_in_template,
        guard_text as guard_text,
    )
    from langchain_localkit.prompts.recipes import (
        DEFAULT_LLAMA_SEARCH_PROMPT as DEFAULT_LLAMA_SEARCH_PROMPT,
        DEFAULT_SEARCH_PROMPT as DEFAULT_SEARCH_PROMPT,
        QUESTION_PROMPT_SELECTOR as QUESTION_PROMPT_SELECTOR,
        RAG_CHAT_PROMPT as RAG_CHAT_PROMPT,
        RAG_PROMPT as RAG_PROMPT,
        RAG_PROMPT_LLAMA as RAG_PROMPT_LLAMA,
        RAG_PROMPT_SELECTOR as RAG_PROMPT_SELECTOR,
        RAG_PROMPTS as RAG_PROMPTS,
        SEARCH_QUERIES_CHAT_PROMPT as SEARCH_QUERIES_CHAT_PROMPT,
        SEARCH_QUERIES_LLAMA_PROMPT as SEARCH_QUERIES_LLAMA_PROMPT,
        SEARCH_QUERIES_PROMPT as SEARCH_QUERIES_PROMPT,
        SEARCH_QUERIES_SELECTOR as SEARCH_QUERIES_SELECTOR,
    )
    from langchain_localkit.prompts.render import (
        RenderedPrompt as RenderedPrompt,
        format_prompt_for as format_prompt_for,
        render_chat as render_chat,
        to_template_messages as to_template_messages,
    )
    from langchain_localkit.prompts.sandbox import (
        TemplateRejectedError as TemplateRejectedError,
        TemplateSecurityError as TemplateSecurityError,
        render_template as render_template,
    )
    from langchain_localkit.prompts.selectors import (
        BasePromptSelector as BasePromptSelector,
        ConditionalPromptSelector as ConditionalPromptSelector,
        FamilyPromptSelector as FamilyPromptSelector,
        family_condition as family_condition,
        is_chat_model as is_chat_model,
        is_family as is_family,
        is_gpt4all as is_gpt4all,
        is_llama_cpp as is_llama_cpp,
        is_llamafile as is_llamafile,
        is_llm as is_llm,
        is_ollama as is_ollama,
    )
    from langchain_localkit.prompts.templates import (
        GuardedPromptTemplate as GuardedPromptTemplate,
        to_family_prompt as to_family_prompt,
    )
    # isort: on

# The module that defines each public name, imported when the name is first used.
_EXPORTS: dict[str, str] = {
    "detection": "Detection DetectionSource detect detect_family match_model_name "
    "normalize_model_name recognize_template",
    "families": "BUILTIN_FAMILIES FAMILIES FamilyRegistry ModelFamily get_family list_families "
    "register_family unregister_family",
    "guard": "ZERO_WIDTH_SPACE GuardPolicy control_strings_in_template guard_text",
    "recipes": "DEFAULT_LLAMA_SEARCH_PROMPT DEFAULT_SEARCH_PROMPT QUESTION_PROMPT_SELECTOR "
    "RAG_CHAT_PROMPT RAG_PROMPT RAG_PROMPT_LLAMA RAG_PROMPT_SELECTOR RAG_PROMPTS "
    "SEARCH_QUERIES_CHAT_PROMPT SEARCH_QUERIES_LLAMA_PROMPT SEARCH_QUERIES_PROMPT "
    "SEARCH_QUERIES_SELECTOR",
    "render": "RenderedPrompt format_prompt_for render_chat to_template_messages",
    "sandbox": "TemplateRejectedError TemplateSecurityError render_template",
    "selectors": "BasePromptSelector ConditionalPromptSelector FamilyPromptSelector "
    "family_condition is_chat_model is_family is_gpt4all is_llama_cpp is_llamafile is_llm "
    "is_ollama",
    "templates": "GuardedPromptTemplate to_family_prompt",
}
_LAZY = {
    name: f"{__name__}.{module}" for module, names in _EXPORTS.items() for name in names.split()
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
