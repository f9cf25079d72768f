"""Predicates and prompt selectors, on localkit's, langchain-community's and fake models."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_core.language_models import FakeListChatModel, FakeListLLM
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

from langchain_localkit.prompts import (
    ConditionalPromptSelector,
    FamilyPromptSelector,
    ModelFamily,
    family_condition,
    get_family,
    is_chat_model,
    is_family,
    is_gpt4all,
    is_llama_cpp,
    is_llamafile,
    is_llm,
    is_ollama,
    register_family,
    unregister_family,
)

from ._helpers import write_gguf


@pytest.fixture(scope="module")
def gguf_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("selectors")
    return {
        "gemma": write_gguf(root / "model-a.gguf", architecture="gemma3", name="Gemma 3 270m"),
        "llama2": write_gguf(root / "llama-2-7b-chat.Q4_0.gguf", architecture="llama"),
    }


@pytest.fixture(scope="module")
def community() -> dict[str, Any]:
    pytest.importorskip("langchain_community")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.chat_models import ChatLlamaCpp
        from langchain_community.llms import GPT4All, LlamaCpp, Llamafile
    return {
        "LlamaCpp": LlamaCpp.model_construct(model_path="/m/llama-2-13b-chat.Q4_0.gguf"),
        "ChatLlamaCpp": ChatLlamaCpp.model_construct(model_path="/m/llama-2-13b-chat.Q4_0.gguf"),
        "GPT4All": GPT4All.model_construct(model="/m/nous-hermes-13b.ggmlv3.q4_0.bin"),
        "Llamafile": Llamafile(),
    }


def test_localkit_llama_cpp(gguf_files: dict[str, Path]) -> None:
    from langchain_localkit import LlamaCpp

    llm = LlamaCpp(model_path=str(gguf_files["gemma"]))
    assert is_llama_cpp(llm)
    assert is_llama_cpp(llm.bind(stop=["\n"]))
    assert is_llm(llm)
    assert not is_chat_model(llm)
    assert not is_ollama(llm)
    assert is_family(llm, "gemma")
    assert not is_family(llm, "llama2")


def test_community_classes(community: dict[str, Any]) -> None:
    assert is_llama_cpp(community["LlamaCpp"])
    assert is_llama_cpp(community["ChatLlamaCpp"])
    assert is_chat_model(community["ChatLlamaCpp"])
    assert is_gpt4all(community["GPT4All"])
    assert is_llamafile(community["Llamafile"])
    assert not is_llama_cpp(community["GPT4All"])
    assert is_family(community["LlamaCpp"], "llama2")
    assert is_family(community["GPT4All"], "alpaca")
    assert not is_family(community["Llamafile"], "llama2")


def test_ollama_classes() -> None:
    langchain_ollama = pytest.importorskip("langchain_ollama")
    llm = langchain_ollama.OllamaLLM(model="llama3.1:8b")
    chat = langchain_ollama.ChatOllama(model="llama2:13b")
    assert is_ollama(llm)
    assert is_ollama(chat)
    assert not is_llama_cpp(chat)
    assert is_family(llm, "llama3")
    assert is_family(chat, "llama-2")


def test_duck_typing_by_class_name_and_llm_type() -> None:
    class ChatLlamaCpp:  # any class of that name, from any package
        pass

    class Custom:
        _llm_type = "llamacpp"

    class Broken:
        @property
        def _llm_type(self) -> str:
            raise RuntimeError("not ready")

    assert is_llama_cpp(ChatLlamaCpp())
    assert is_llama_cpp(Custom())
    assert not is_llama_cpp(Broken())
    assert not is_llama_cpp(FakeListLLM(responses=["x"]))
    assert is_chat_model(FakeListChatModel(responses=["x"]))
    assert is_llm(FakeListLLM(responses=["x"]))


@pytest.mark.parametrize(
    ("runtime", "predicate"),
    [
        ("llamacpp", is_llama_cpp),
        ("gpt4all", is_gpt4all),
        ("llamafile", is_llamafile),
        ("ollama", is_ollama),
    ],
)
def test_declared_runtime_decides(runtime: str, predicate: Callable[[Any], bool]) -> None:
    class LlamaCpp(FakeListLLM):  # the declaration wins over a look-alike class name
        _localkit_runtime: ClassVar[str] = runtime

    class Undeclared(FakeListLLM):  # an empty declaration falls back to the class name
        _localkit_runtime: ClassVar[str] = ""

    class ChatLlamaCpp(Undeclared):
        pass

    llm = LlamaCpp(responses=["x"])
    assert predicate(llm)
    assert predicate(llm.bind(stop=["\n"]))
    assert is_llama_cpp(llm) == (runtime == "llamacpp")
    assert sum(p(llm) for p in (is_llama_cpp, is_gpt4all, is_llamafile, is_ollama)) == 1
    assert is_llama_cpp(ChatLlamaCpp(responses=["x"]))


def test_is_family_rejects_unknown_family_names() -> None:
    with pytest.raises(ValueError, match="Unknown model family"):
        is_family("llama2:13b", "llama-two")


def test_family_condition() -> None:
    cond = family_condition("llama2", "llama-3")
    assert cond("llama2:13b")
    assert cond("llama3.1:8b")
    assert not cond("gemma3:270m")
    assert not cond("unknown-model")
    assert cond.__name__ == "is_family_llama2_or_llama3"
    with pytest.raises(ValueError, match="at least one"):
        family_condition()
    with pytest.raises(ValueError, match="Unknown model family"):
        family_condition("nope")


def test_conditional_prompt_selector() -> None:
    default = PromptTemplate.from_template("Q: {question}")
    llama = PromptTemplate.from_template("[INST] {question} [/INST]")
    selector = ConditionalPromptSelector(
        default_prompt=default, conditionals=[(is_llama_cpp, llama)]
    )

    class LlamaCpp(FakeListLLM):
        pass

    assert selector.get_prompt(LlamaCpp(responses=["x"])) is llama
    assert selector.get_prompt(FakeListLLM(responses=["x"])) is default
    assert ConditionalPromptSelector(default_prompt=default).get_prompt(object()) is default


def test_langchain_classic_selector_accepts_our_predicates() -> None:
    classic = pytest.importorskip("langchain_classic.chains.prompt_selector")
    default = PromptTemplate.from_template("Q: {question}")
    llama = PromptTemplate.from_template("[INST] {question} [/INST]")
    selector = classic.ConditionalPromptSelector(
        default_prompt=default, conditionals=[(is_llama_cpp, llama)]
    )

    class LlamaCpp(FakeListLLM):
        pass

    assert selector.get_prompt(LlamaCpp(responses=["x"])) is llama


@pytest.fixture
def echo_family() -> Iterator[ModelFamily]:
    fam = register_family(
        ModelFamily(
            name="echo-test",
            template="{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>",
            control_strings=("<user>", "<assistant>", "<system>"),
            name_patterns=(r"echo-model",),
        )
    )
    yield fam
    unregister_family("echo-test")


def test_family_prompt_selector(gguf_files: dict[str, Path], echo_family: ModelFamily) -> None:
    from langchain_localkit import LlamaCpp

    default = PromptTemplate.from_template("Summarise: {text}")
    chat = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), ("human", "Summarise: {text}")]
    )
    special = PromptTemplate.from_template("LLAMA2 {text}")
    selector = FamilyPromptSelector(
        default_prompt=default, prompts={"llama-2": special}, chat_prompt=chat
    )
    assert set(selector.prompts) == {"llama2"}
    gemma = LlamaCpp(model_path=str(gguf_files["gemma"]))
    assert selector.get_prompt(gemma).template == (
        "<start_of_turn>user\nBe brief.\n\nSummarise: {text}<end_of_turn>\n<start_of_turn>model\n"
    )
    assert selector.get_prompt(gemma) is selector.get_prompt(gemma)  # cached
    assert selector.get_prompt(LlamaCpp(model_path=str(gguf_files["llama2"]))) is special
    assert selector.get_prompt(FakeListChatModel(responses=["x"])) is chat
    assert selector.get_prompt("mystery-model:1b") is default
    assert selector.get_prompt("echo-model:1b").template == (
        "<system>Be brief.<user>Summarise: {text}<assistant>"
    )
    assert selector.prompt_for_family("llama2") is special


def test_family_prompt_selector_without_chat_prompt() -> None:
    default = PromptTemplate.from_template("{text}")
    selector = FamilyPromptSelector(default_prompt=default)
    assert selector.get_prompt("gemma3:270m") is default
    assert selector.get_prompt(FakeListChatModel(responses=["x"])) is default
    assert selector.prompt_for_family(get_family("gemma")) is default
