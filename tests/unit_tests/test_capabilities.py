"""Capabilities are class-level declarations, read the same way by every consumer."""

from pathlib import Path

import pytest

from langchain_localkit import (
    ChatGPT4All,
    ChatLlamaCpp,
    ChatLlamafile,
    GPT4All,
    GPT4AllEmbeddings,
    LlamaCpp,
    LlamaCppEmbeddings,
    Llamafile,
    LlamafileEmbeddings,
)
from langchain_localkit.chains import supports_grammar
from langchain_localkit.prompts import is_gpt4all, is_llama_cpp, is_llamafile

GRAMMAR = {LlamaCpp: True, ChatLlamaCpp: True, Llamafile: True, ChatLlamafile: True}
NO_GRAMMAR = [GPT4All, ChatGPT4All, LlamaCppEmbeddings, LlamafileEmbeddings, GPT4AllEmbeddings]


@pytest.mark.parametrize("cls", [*GRAMMAR, *NO_GRAMMAR], ids=lambda c: c.__name__)
def test_supports_grammar_is_the_class_declaration(cls: type) -> None:
    assert getattr(cls, "supports_grammar", False) is GRAMMAR.get(cls, False)


def test_supports_grammar_sees_through_bind(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF")
    assert supports_grammar(LlamaCpp(model_path=str(path)).bind(stop=["x"]))
    assert supports_grammar(ChatLlamafile())
    assert not supports_grammar(LlamafileEmbeddings())
    assert not supports_grammar(object())


def test_runtime_is_declared_once_and_read_by_the_selectors() -> None:
    assert ChatLlamafile._localkit_runtime == Llamafile._localkit_runtime == "llamafile"
    assert is_llamafile(ChatLlamafile()) and not is_llama_cpp(ChatLlamafile())
    renamed = type("MyServerChat", (ChatLlamafile,), {"__module__": __name__})
    assert is_llamafile(renamed()) and not is_gpt4all(renamed())


@pytest.mark.parametrize("cls", [LlamaCpp, ChatLlamaCpp, GPT4All, ChatGPT4All, Llamafile])
def test_chat_faces_take_the_chat_options(cls: type) -> None:
    options = cls.call_options()  # type: ignore[attr-defined]
    chat = {"tools", "tool_choice", "parallel_tool_calls", "response_format"}
    assert (chat <= options) is cls.__name__.startswith("Chat")
