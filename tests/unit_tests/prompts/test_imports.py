"""The prompt pack's public names, and a light import."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import langchain_localkit.prompts as prompts

EXPECTED_ALL = [
    "BUILTIN_FAMILIES",
    "BasePromptSelector",
    "ConditionalPromptSelector",
    "DEFAULT_LLAMA_SEARCH_PROMPT",
    "DEFAULT_SEARCH_PROMPT",
    "Detection",
    "DetectionSource",
    "FAMILIES",
    "FamilyPromptSelector",
    "FamilyRegistry",
    "GuardPolicy",
    "GuardedPromptTemplate",
    "ModelFamily",
    "QUESTION_PROMPT_SELECTOR",
    "RAG_CHAT_PROMPT",
    "RAG_PROMPT",
    "RAG_PROMPTS",
    "RAG_PROMPT_LLAMA",
    "RAG_PROMPT_SELECTOR",
    "RenderedPrompt",
    "SEARCH_QUERIES_CHAT_PROMPT",
    "SEARCH_QUERIES_LLAMA_PROMPT",
    "SEARCH_QUERIES_PROMPT",
    "SEARCH_QUERIES_SELECTOR",
    "TemplateRejectedError",
    "TemplateSecurityError",
    "ZERO_WIDTH_SPACE",
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


def test_all() -> None:
    assert sorted(prompts.__all__) == sorted(EXPECTED_ALL)
    assert sorted(dir(prompts)) == sorted(EXPECTED_ALL)


def test_every_public_name_resolves() -> None:
    for name in prompts.__all__:
        assert getattr(prompts, name) is not None, name
    assert callable(prompts.detect)  # a function, not the submodule of a similar name


@pytest.mark.parametrize(
    "module",
    ["detection", "families", "guard", "recipes", "render", "sandbox", "selectors", "templates"],
)
def test_names_resolve_in_their_modules_too(module: str) -> None:
    mod = importlib.import_module(f"{prompts.__name__}.{module}")
    for name in mod.__all__:
        value = getattr(mod, name)
        if name in EXPECTED_ALL:
            assert getattr(prompts, name) is value, name


def test_unknown_name() -> None:
    with pytest.raises(AttributeError, match="Nope"):
        prompts.Nope  # noqa: B018


@pytest.mark.parametrize(
    ("code", "heavy"),
    [
        pytest.param(
            "import langchain_localkit.prompts",
            ("jinja2", "langchain_core", "llama_cpp", "gguf", "numpy", "gpt4all"),
            id="import",
        ),
        pytest.param(
            "from langchain_localkit.prompts import detect_family\n"
            "assert detect_family('llama3.1:8b').name == 'llama3'",
            ("jinja2", "langchain_core", "llama_cpp", "numpy"),
            id="detect-by-name",
        ),
    ],
)
def test_light_imports(code: str, heavy: tuple[str, ...]) -> None:
    """Importing the pack, or detecting by name, loads neither Jinja nor a runtime."""
    script = f"{code}\nimport sys\nprint(sorted(set({heavy!r}) & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == "[]"
