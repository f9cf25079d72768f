"""GPT4All faces: community parameters, offline defaults, clear errors (no model loads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_localkit import (
    ChatGPT4All,
    GPT4All,
    GPT4AllEmbeddings,
    ModelIsDirectoryError,
    ModelNotFoundError,
    UnsupportedArchitectureError,
)
from langchain_localkit.engines.gpt4all import ARCHITECTURES
from tests.models import tiny_path

pytest.importorskip("gpt4all")


def test_community_parameters_are_accepted_with_their_meaning() -> None:
    sampling = {"max_tokens": 7, "temp": 0.0, "top_k": 1, "top_p": 0.5, "repeat_penalty": 1.1}
    sampling |= {"repeat_last_n": 32, "n_batch": 16}
    llm = GPT4All(model=str(tiny_path()), n_threads=2, device="cpu", streaming=True, **sampling)
    params = llm._sampling(["\n"], {})
    assert {name: getattr(params, name) for name in sampling} == sampling
    assert params.stop == ("\n",)
    assert llm.allow_download is False
    assert llm.engine.options.n_threads == 2 and llm.engine.options.allow_download is False


def test_n_predict_is_the_old_name_of_max_tokens() -> None:
    assert GPT4All(model=str(tiny_path()), n_predict=11)._sampling(None, {}).max_tokens == 11
    llm = GPT4All(model=str(tiny_path()))
    assert llm._sampling(None, {"n_predict": 5}).max_tokens == 5
    assert llm._sampling(None, {"max_tokens": 3}).max_tokens == 3


def test_unknown_call_options_are_refused() -> None:
    with pytest.raises(TypeError, match="temperature"):
        GPT4All(model=str(tiny_path()))._sampling(None, {"temperature": 0.1})


def test_options_the_bindings_lack_warn_that_they_are_ignored() -> None:
    with pytest.warns(UserWarning, match="use_mlock"):
        GPT4All(model=str(tiny_path()), use_mlock=True)


def test_model_may_be_a_name_inside_model_path() -> None:
    path = tiny_path()
    llm = GPT4All(model=path.name, model_path=str(path.parent))
    assert Path(llm.model) == path.resolve()


def test_bad_files_fail_with_typed_errors(tmp_path: Path, gemma_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="nothing is downloaded"):
        GPT4All(model=str(tmp_path / "missing.gguf"))
    with pytest.raises(ModelIsDirectoryError):
        ChatGPT4All(model=str(tmp_path))
    llm = GPT4All(model=str(gemma_path))  # the header is read on first use, like every face's
    with pytest.raises(UnsupportedArchitectureError, match=r"'gemma3'.*LlamaCpp") as info:
        llm.invoke("hi")
    assert info.value.architecture == "gemma3"
    assert not llm.engine.is_loaded
    with pytest.raises(UnsupportedArchitectureError, match="LlamaCppEmbeddings"):
        GPT4AllEmbeddings(model=str(tiny_path()))


def test_known_architectures_are_gpt4all_2_8_2s() -> None:
    assert {"llama", "qwen2", "gemma", "gemma2", "phi3"} <= ARCHITECTURES
    assert "gemma3" not in ARCHITECTURES
