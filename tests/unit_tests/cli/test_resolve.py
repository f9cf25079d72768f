"""Model arguments: provider strings, files, discovered names, and the errors people see."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_localkit._core.errors import ModelNotFoundError
from langchain_localkit.cli import build_parser, main
from langchain_localkit.cli._chat import pick_model
from langchain_localkit.cli._common import CommandError
from langchain_localkit.cli._resolve import (
    chat_kwargs,
    find_model_argument,
    looks_like_model,
    resolve_model,
)
from langchain_localkit.testing.stores import file_sha256
from tests.unit_tests.cli.conftest import FakeHome


def blob(home: FakeHome, source: Path) -> Path:
    return home.ollama / "blobs" / f"sha256-{file_sha256(source)}"


@pytest.mark.parametrize(
    ("argument", "provider", "model", "base_url"),
    [
        ("ollama:llama3.1:8b", "ollama", "llama3.1:8b", None),
        ("lmstudio:qwen3-4b", "lmstudio", "qwen3-4b", None),
        ("llama-server:@http://127.0.0.1:8080", "llama-server", None, "http://127.0.0.1:8080"),
        ("ollama:qwen3:4b@http://127.0.0.1:11434/v1", "ollama", "qwen3:4b", "http://127.0.0.1:11434"),
    ],
)  # fmt: skip
def test_a_provider_string_comes_first(
    fake_home: FakeHome, argument: str, provider: str, model: str | None, base_url: str | None
) -> None:
    found = resolve_model(argument)
    assert found.path is None and found.spec is not None
    assert (found.spec.provider, found.spec.model, found.spec.base_url) == (
        provider,
        model,
        base_url,
    )
    assert found.runtime.startswith(provider)


def test_llamacpp_strings_files_and_paths_run_in_process(fake_home: FakeHome) -> None:
    assert resolve_model(f"llamacpp:{fake_home.tiny}").path == fake_home.tiny
    assert resolve_model(str(fake_home.tiny)).path == fake_home.tiny
    missing = resolve_model("models/nope.gguf")  # a path: reported missing when it is read
    assert missing.path == Path("models/nope.gguf") and missing.entry is None
    assert resolve_model(str(fake_home.tiny)).runtime == "llama.cpp"


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("tiny:latest", "tiny:latest"),
        ("tiny", "tiny:latest"),  # Ollama's name without :latest
        ("Qwen3-4B-Q4_K_M.gguf", "Qwen/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf"),  # the file name
        ("qwen3-4b-q4_k_m", "Qwen/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf"),  # its stem, any case
        ("qwen3:4b", "qwen3:4b"),
    ],
)
def test_an_alias_is_a_discovered_model(fake_home: FakeHome, alias: str, name: str) -> None:
    found = resolve_model(alias)
    assert found.entry is not None and found.entry.name == name
    assert found.path == found.entry.path and found.name == name


def test_an_unknown_alias_lists_close_names(fake_home: FakeHome) -> None:
    with pytest.raises(ModelNotFoundError, match="qwen3:4b") as e:
        resolve_model("qwen3:8b")
    assert "ollama:qwen3:8b" in str(e.value)  # the way to a model Ollama serves


def test_a_broken_alias_says_what_is_wrong(fake_home: FakeHome) -> None:
    with pytest.raises(ModelNotFoundError, match="blob"):
        resolve_model("llama3.1:8b")


def test_a_bad_provider_string_is_a_command_error(fake_home: FakeHome) -> None:
    with pytest.raises(CommandError, match="takes no server address"):
        resolve_model("llamacpp:x.gguf@http://127.0.0.1:8080")


def test_unknown_models_exit_2_with_the_suggestion_and_no_traceback(
    fake_home: FakeHome, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", "tiny:lates"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("localkit: error: No local model is called 'tiny:lates'")
    assert "tiny:latest" in err and "Traceback" not in err
    assert main(["chat", "-m", "qwen3:8b", "hi"]) == 2
    assert "Close names: qwen3:4b" in capsys.readouterr().err


def test_the_first_word_of_chat_is_the_model_only_when_it_is_one(fake_home: FakeHome) -> None:
    assert pick_model(None, ["What is the capital of France?"]) == (
        None,
        ["What is the capital of France?"],
    )
    assert pick_model(None, ["hello", "there"]) == (None, ["hello", "there"])
    model, words = pick_model(None, ["tiny", "the", "moon"])
    assert model is not None and model.name == "tiny:latest" and words == ["the", "moon"]
    model, words = pick_model(None, [str(fake_home.tiny)])
    assert model is not None and model.path == fake_home.tiny and words == []
    model, words = pick_model(None, ["ollama:qwen3:4b", "hi"])
    assert model is not None and model.spec is not None and words == ["hi"]
    model, words = pick_model("tiny", ["qwen3:4b"])  # --model given: every word is the message
    assert model is not None and model.name == "tiny:latest" and words == ["qwen3:4b"]
    with pytest.raises(ModelNotFoundError, match="qwen3:4b"):
        pick_model(None, ["qwen3:8b", "hi"])  # looks like a model, is none
    with pytest.raises(ModelNotFoundError):
        pick_model(None, ["Qwen3-8B.gguf"])


def test_looks_like_model() -> None:
    assert looks_like_model("llama3.1:8b") and looks_like_model("Model.GGUF")
    assert not looks_like_model("hello") and not looks_like_model("what: is this")
    assert find_model_argument("two words") is None


def test_chat_words_may_follow_options(fake_home: FakeHome) -> None:
    args = build_parser().parse_known_args(["chat", "tiny", "-n", "5", "the", "moon"])
    assert args[0].message == ["tiny"] and args[1] == ["the", "moon"]  # main() joins them
    with pytest.raises(SystemExit):
        main(["chat", "tiny", "-n", "5", "the", "--bogus"])


def test_generation_options_take_each_class_s_names() -> None:
    from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp
    from langchain_localkit.chat_models.ollama import ChatOllama
    from langchain_localkit.chat_models.openai_compat import ChatOpenAICompatible

    options = {
        "n_ctx": 4096,
        "n_threads": 2,
        "max_tokens": 64,
        "temperature": 0.0,
        "seed": -1,
        "reasoning": True,
    }
    assert chat_kwargs(ChatLlamaCpp, options) == {
        "n_ctx": 4096,
        "n_threads": 2,
        "max_tokens": 64,
        "temperature": 0.0,
        "reasoning": True,
    }
    assert chat_kwargs(ChatOllama, {**options, "seed": 7}) == {
        "num_ctx": 4096,
        "num_thread": 2,
        "num_predict": 64,
        "temperature": 0.0,
        "seed": 7,
        "reasoning": True,
    }
    assert chat_kwargs(ChatOpenAICompatible, options) == {
        "max_tokens": 64,
        "temperature": 0.0,
        "reasoning": True,
    }


def test_a_server_model_is_built_without_a_request(fake_home: FakeHome) -> None:
    chat = resolve_model("llama-server:@http://127.0.0.1:9").chat_model({"max_tokens": 8})
    assert type(chat).__name__ == "ChatOpenAICompatible"
    assert getattr(chat, "max_tokens", None) == 8
