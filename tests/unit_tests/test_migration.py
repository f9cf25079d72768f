"""docs/migration.md's tables are the code's; every community argument is handled as they say."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from langchain_localkit import ChatLlamaCpp, GPT4All, GPT4AllEmbeddings, LlamaCpp
from langchain_localkit._compat import CALL, CONSTRUCTOR, Change
from langchain_localkit.embeddings import LlamaCppEmbeddings

ROOT = Path(__file__).resolve().parents[2]


def _script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "migration_table", ROOT / "scripts" / "migration_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_page_holds_the_generated_tables() -> None:
    script = _script()
    page = script.PAGE.read_text(encoding="utf-8")
    assert script.splice(page, script.render()) == page, (
        "docs/migration.md is stale: run `python scripts/migration_table.py --write`"
    )


def test_every_community_argument_is_classified() -> None:
    """Test that render() found a row for every argument (it raises on one it cannot place)."""
    script = _script()
    snapshot = json.loads(script.SNAPSHOT.read_text(encoding="utf-8"))
    tables = script.render()
    for name, spec in snapshot["classes"].items():
        for arg in [*spec["fields"], *spec["call_options"]]:
            assert f"| `{arg}` |" in tables, (name, arg)


def test_an_unexplained_change_fails_the_render(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_localkit import _compat

    script = _script()
    monkeypatch.setitem(_compat.DEFAULTS, "LlamaCpp", {})
    with pytest.raises(script.Unclassified, match="no reason"):
        script.render()


@pytest.fixture
def stub_gguf(tiny_gguf_path: Path) -> Path:
    return tiny_gguf_path  # a real GGUF; nothing here loads it


LLAMA_FACES: dict[str, Any] = {
    "LlamaCpp": LlamaCpp,
    "ChatLlamaCpp": ChatLlamaCpp,
    "LlamaCppEmbeddings": LlamaCppEmbeddings,
}


def _llama_changes(table: dict[str, dict[str, Change]], kind: str) -> list[tuple[str, str]]:
    """(face, argument) pairs of the llama.cpp faces whose change is `kind`."""
    return [
        (face, arg)
        for face, changes in table.items()
        if face in LLAMA_FACES
        for arg, change in changes.items()
        if change.kind == kind
    ]


@pytest.mark.parametrize(("face", "arg"), _llama_changes(CONSTRUCTOR, "removed"))
def test_removed_constructor_arguments_say_what_replaced_them(
    face: str, arg: str, stub_gguf: Path
) -> None:
    why = CONSTRUCTOR[face][arg].why
    with pytest.raises(ValueError, match=f"`{arg}`.*{re.escape(why[:30])}"):
        LLAMA_FACES[face](model_path=str(stub_gguf), **{arg: 3})


@pytest.mark.parametrize(("face", "arg"), _llama_changes(CONSTRUCTOR, "ignored"))
def test_ignored_constructor_arguments_warn_and_change_nothing(
    face: str, arg: str, stub_gguf: Path
) -> None:
    cls = LLAMA_FACES[face]
    plain = cls(model_path=str(stub_gguf))
    with pytest.warns(UserWarning, match=f"`{arg}` has no effect in {face}"):
        given = cls(model_path=str(stub_gguf), **{arg: 2})
    assert given._load_options() == plain._load_options()
    assert given.model_kwargs == {}


@pytest.mark.parametrize(("face", "option"), _llama_changes(CALL, "removed"))
def test_removed_call_options_say_what_replaced_them(
    face: str, option: str, stub_gguf: Path
) -> None:
    model = LLAMA_FACES[face](model_path=str(stub_gguf))
    why = CALL[face][option].why
    with pytest.raises(TypeError, match=re.escape(f"`{option}` is not supported: {why[:30]}")):
        model.invoke("hi", **{option: 1})


def test_unknown_call_option_suggests_the_near_name(stub_gguf: Path) -> None:
    with pytest.raises(TypeError, match="did you mean `temperature`"):
        LlamaCpp(model_path=str(stub_gguf)).invoke("hi", temprature=0.2)


def test_undeclared_llama_argument_goes_to_model_kwargs_with_a_warning(stub_gguf: Path) -> None:
    with pytest.warns(UserWarning, match="`offload_kqv` is not a parameter of LlamaCpp"):
        llm = LlamaCpp(model_path=str(stub_gguf), offload_kqv=False)
    assert llm.model_kwargs == {"offload_kqv": False}
    assert ("offload_kqv", False) in llm._load_options().extra
    with pytest.warns(UserWarning, match="Did you mean `n_gpu_layers`"):
        ChatLlamaCpp(model_path=str(stub_gguf), n_gpu_layer=2)


def test_declared_parameter_inside_model_kwargs_is_moved_up(stub_gguf: Path) -> None:
    with pytest.warns(UserWarning, match="taken out of `model_kwargs`"):
        llm = LlamaCpp(model_path=str(stub_gguf), model_kwargs={"n_ctx": 1024, "offload_kqv": True})
    assert llm.n_ctx == 1024 and llm.model_kwargs == {"offload_kqv": True}


def test_same_argument_given_twice_is_an_error(stub_gguf: Path) -> None:
    with pytest.raises(ValueError, match="both directly and in `model_kwargs`"):
        LlamaCpp(model_path=str(stub_gguf), n_ctx=512, model_kwargs={"n_ctx": 1024})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="both directly and in `model_kwargs`"):
            LlamaCpp(model_path=str(stub_gguf), offload_kqv=True, model_kwargs={"offload_kqv": 1})


def test_community_defaults_given_explicitly_do_not_warn(stub_gguf: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LlamaCpp(model_path=str(stub_gguf), n_parts=-1, client=None)


def test_gpt4all_removed_call_option(tiny_gguf_path: Path) -> None:
    llm = GPT4All(model=str(tiny_gguf_path))
    with pytest.raises(TypeError, match="`callback` is not supported: pass a LangChain callback"):
        llm.invoke("hi", callback=print)


def test_gpt4all_embeddings_client_argument_is_removed(tiny_gguf_path: Path) -> None:
    with pytest.raises(ValueError, match=r"`client` .* is not supported"):
        GPT4AllEmbeddings(model=str(tiny_gguf_path), client=object())


def test_recorded_signatures_are_community_0_4_2s() -> None:
    """Test the snapshot against the installed langchain-community (the test extra has it)."""
    pytest.importorskip("langchain_community")
    from importlib import metadata

    assert metadata.version("langchain-community") == "0.4.2"
    script = _script()
    recorded = json.loads(script.SNAPSHOT.read_text(encoding="utf-8"))["classes"]
    from langchain_core.language_models import BaseChatModel, BaseLLM

    bases = {"langchain_community.llms": BaseLLM, "langchain_community.chat_models": BaseChatModel}
    for name, spec in recorded.items():
        cls = getattr(importlib.import_module(spec["module"]), name)
        base = bases.get(spec["module"])
        fields = [
            f
            for f in cls.model_fields
            if base is None or f not in base.model_fields or f == "verbose"
        ]
        assert fields == list(spec["fields"]), name
