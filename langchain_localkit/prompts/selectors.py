"""Prompt selectors: pick a prompt for a model by runtime, by model kind or by prompt family.

The runtime predicates read the runtime that localkit's classes declare (`_localkit_runtime`);
for langchain-community's old classes they fall back to class names along the MRO and
`_llm_type` (neither package is imported). They see through `llm.bind(...)` wrappers.
`ConditionalPromptSelector` has the same fields and behaviour as LangChain's classic one, so code
written for `langchain.chains.prompt_selector` keeps working without depending on the archived
package; LangChain's own selector accepts these predicates too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.prompts import BasePromptTemplate, ChatPromptTemplate
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from langchain_localkit.prompts.detection import _unwrap, detect_family
from langchain_localkit.prompts.families import FAMILIES, ModelFamily, get_family

Condition = Callable[[Any], bool]
"""A predicate on a language model, as `ConditionalPromptSelector` takes."""

# The values of `_localkit_runtime`, the class attribute localkit's model classes declare.
_Runtime = Literal["llamacpp", "gpt4all", "llamafile", "ollama"]

# The fallback for classes that declare no runtime (langchain-community's, and look-alikes):
# class names along the MRO, and `_llm_type`.
_FALLBACK_CLASSES: dict[_Runtime, frozenset[str]] = {
    "llamacpp": frozenset({"LlamaCpp", "ChatLlamaCpp"}),
    "gpt4all": frozenset({"GPT4All", "ChatGPT4All"}),
    "llamafile": frozenset({"Llamafile", "ChatLlamafile"}),
    "ollama": frozenset({"OllamaLLM", "ChatOllama", "Ollama"}),
}
_FALLBACK_LLM_TYPES: dict[_Runtime, frozenset[str]] = {
    "llamacpp": frozenset({"llamacpp", "llamacpp-chat", "llama-cpp-python", "llama.cpp"}),
    "gpt4all": frozenset({"gpt4all", "gpt4all-chat"}),
    "llamafile": frozenset({"llamafile", "llamafile-chat"}),
    "ollama": frozenset({"ollama-llm", "chat-ollama", "ollama", "ollama-chat"}),
}


def _llm_type(obj: Any) -> str | None:
    try:
        value = obj._llm_type
    except Exception:  # a property that needs state the object lacks
        return None
    return value.lower() if isinstance(value, str) else None


def _is_runtime(llm: Any, runtime: _Runtime) -> bool:
    obj = _unwrap(llm)
    declared = getattr(type(obj), "_localkit_runtime", None)
    if isinstance(declared, str) and declared:
        return declared == runtime
    names = {cls.__name__ for cls in type(obj).__mro__}
    if names & _FALLBACK_CLASSES[runtime]:
        return True
    return _llm_type(obj) in _FALLBACK_LLM_TYPES[runtime]


def is_llama_cpp(llm: Any) -> bool:
    """Whether `llm` runs on llama.cpp in-process (localkit's or langchain-community's classes).

    Example:
        >>> from langchain_localkit.prompts import is_llama_cpp
        >>> is_llama_cpp(object())
        False
    """
    return _is_runtime(llm, "llamacpp")


def is_gpt4all(llm: Any) -> bool:
    """Whether `llm` is a GPT4All model (`GPT4All` or `ChatGPT4All`)."""
    return _is_runtime(llm, "gpt4all")


def is_llamafile(llm: Any) -> bool:
    """Whether `llm` talks to a llamafile / llama.cpp server (`Llamafile`, `ChatLlamafile`)."""
    return _is_runtime(llm, "llamafile")


def is_ollama(llm: Any) -> bool:
    """Whether `llm` is an Ollama model (`OllamaLLM`, `ChatOllama`)."""
    return _is_runtime(llm, "ollama")


def is_chat_model(llm: Any) -> bool:
    """Whether `llm` is a chat model (a `BaseChatModel`), which applies its own template.

    Example:
        >>> from langchain_core.language_models import FakeListChatModel
        >>> from langchain_localkit.prompts import is_chat_model
        >>> is_chat_model(FakeListChatModel(responses=["hi"]))
        True
    """
    from langchain_core.language_models import BaseChatModel

    return isinstance(_unwrap(llm), BaseChatModel)


def is_llm(llm: Any) -> bool:
    """Whether `llm` is a text-in/text-out model (a `BaseLLM`)."""
    from langchain_core.language_models import BaseLLM

    return isinstance(_unwrap(llm), BaseLLM)


def is_family(llm: Any, family: str | ModelFamily) -> bool:
    """Whether `llm`'s model belongs to a prompt family (detected as `detect_family` does).

    Args:
        llm: A model object, path, file name, model name or Ollama tag.
        family: A family or its name/alias (`"llama2"`, `"llama-2"`, ...).

    Raises:
        ValueError: `family` names no registered family.

    Example:
        >>> from langchain_localkit.prompts import is_family
        >>> is_family("llama-2-13b-chat.Q4_0.gguf", "llama2")
        True
        >>> is_family("gemma3:270m", "llama-2")
        False
    """
    wanted = get_family(family)
    found = detect_family(llm)
    return found is not None and found.name == wanted.name


def family_condition(*families: str | ModelFamily) -> Condition:
    """A one-argument predicate for `ConditionalPromptSelector`: is the model in these families?

    Raises:
        ValueError: A name is not a registered family.

    Example:
        >>> from langchain_localkit.prompts import family_condition
        >>> is_llama = family_condition("llama2", "llama3")
        >>> is_llama("llama3.1:8b"), is_llama("mistral:7b")
        (True, False)
    """
    if not families:
        raise ValueError("family_condition() needs at least one family.")
    wanted = frozenset(get_family(f).name for f in families)

    def condition(llm: Any) -> bool:
        found = detect_family(llm)
        return found is not None and found.name in wanted

    condition.__name__ = condition.__qualname__ = f"is_family_{'_or_'.join(sorted(wanted))}"
    condition.__doc__ = f"Whether the model's prompt family is one of {sorted(wanted)}."
    return condition


class BasePromptSelector(BaseModel, ABC):
    """Picks a prompt for a language model."""

    @abstractmethod
    def get_prompt(self, llm: Any) -> BasePromptTemplate:
        """The prompt to use with `llm`."""


class ConditionalPromptSelector(BasePromptSelector):
    """The first prompt whose condition holds for the model, else the default.

    Same fields and behaviour as `langchain.chains.prompt_selector.ConditionalPromptSelector`.

    Example:
        >>> from langchain_core.prompts import PromptTemplate
        >>> from langchain_localkit.prompts import ConditionalPromptSelector, is_llama_cpp
        >>> selector = ConditionalPromptSelector(
        ...     default_prompt=PromptTemplate.from_template("Q: {question}"),
        ...     conditionals=[
        ...         (is_llama_cpp, PromptTemplate.from_template("[INST] {question} [/INST]"))
        ...     ],
        ... )
        >>> selector.get_prompt(object()).template
        'Q: {question}'
    """

    default_prompt: BasePromptTemplate
    """The prompt used when no condition holds."""
    conditionals: list[tuple[Condition, BasePromptTemplate]] = Field(default_factory=list)
    """(condition, prompt) pairs, tried in order."""

    def get_prompt(self, llm: Any) -> BasePromptTemplate:
        """The prompt of the first condition `llm` satisfies, else `default_prompt`."""
        for condition, prompt in self.conditionals:
            if condition(llm):
                return prompt
        return self.default_prompt


class FamilyPromptSelector(BasePromptSelector):
    r"""A prompt per detected model family, with a default.

    For a chat model (which applies its own chat template) it returns `chat_prompt` (or the
    default). For a text-in/text-out model it detects the family and returns the prompt
    registered for it in `prompts`; failing that, when `chat_prompt` is a `ChatPromptTemplate`,
    it derives one in the family's format with `to_family_prompt` (cached), so families you
    register later are served too; failing that, `default_prompt`.

    Example:
        >>> from langchain_core.prompts import ChatPromptTemplate, PromptTemplate
        >>> from langchain_localkit.prompts import FamilyPromptSelector
        >>> selector = FamilyPromptSelector(
        ...     default_prompt=PromptTemplate.from_template("Summarise: {text}"),
        ...     chat_prompt=ChatPromptTemplate.from_messages([("human", "Summarise: {text}")]),
        ... )
        >>> selector.get_prompt("gemma3:270m").template
        '<start_of_turn>user\nSummarise: {text}<end_of_turn>\n<start_of_turn>model\n'
        >>> selector.get_prompt("no-such-model").template
        'Summarise: {text}'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    default_prompt: BasePromptTemplate
    """The prompt for models of unknown family (and chat models when `chat_prompt` is None)."""
    prompts: dict[str, BasePromptTemplate] = Field(default_factory=dict)
    """Prompts by family name (aliases are resolved)."""
    chat_prompt: BasePromptTemplate | None = None
    """The prompt for chat models; also the source of derived per-family text prompts."""
    derive_from_chat_prompt: bool = True
    """Derive a family's text prompt from `chat_prompt` when `prompts` has none for it."""

    _derived: dict[ModelFamily, BasePromptTemplate] = PrivateAttr(default_factory=dict)

    @field_validator("prompts")
    @classmethod
    def _canonical_keys(cls, value: dict[str, BasePromptTemplate]) -> dict[str, Any]:
        out: dict[str, BasePromptTemplate] = {}
        for key, prompt in value.items():
            family = FAMILIES.find(key)
            out[family.name if family else key.strip().lower()] = prompt
        return out

    def prompt_for_family(self, family: str | ModelFamily) -> BasePromptTemplate:
        """The text prompt this selector gives to models of `family`."""
        fam = get_family(family)
        if fam.name in self.prompts:
            return self.prompts[fam.name]
        if self.derive_from_chat_prompt and isinstance(self.chat_prompt, ChatPromptTemplate):
            derived = self._derived.get(fam)
            if derived is None:
                from langchain_localkit.prompts.templates import to_family_prompt

                derived = self._derived[fam] = to_family_prompt(self.chat_prompt, fam)
            return derived
        return self.default_prompt

    def get_prompt(self, llm: Any) -> BasePromptTemplate:
        """The prompt for `llm`: see the class description for the order."""
        if is_chat_model(llm):
            return self.chat_prompt or self.default_prompt
        family = detect_family(llm)
        if family is None:
            return self.default_prompt
        return self.prompt_for_family(family)


__all__ = [
    "BasePromptSelector",
    "Condition",
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
]
