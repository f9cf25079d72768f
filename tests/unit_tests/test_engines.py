"""The in-process engines' shared shape: capabilities, `info()`, call settings, stop strings."""

import ast
from pathlib import Path

import pytest

import langchain_localkit
from langchain_localkit import UnsupportedArchitectureError
from langchain_localkit.engines.base import Engine, InProcessEngine
from langchain_localkit.engines.gpt4all import (
    GPT4AllEngine,
    GPT4AllLoadOptions,
    GPT4AllSampling,
)
from langchain_localkit.engines.llamacpp import LlamaCppEngine, LlamaLoadOptions, SamplingParams
from langchain_localkit.engines.stops import StopScanner, held_back


@pytest.mark.parametrize(
    ("engine", "grammar", "embeddings"),
    [(LlamaCppEngine, True, True), (GPT4AllEngine, False, False)],
)
def test_in_process_engines_declare_their_capabilities(
    engine: type[Engine], grammar: bool, embeddings: bool
) -> None:
    assert issubclass(engine, InProcessEngine)
    assert engine.in_process is True
    assert engine.supports_grammar is grammar
    assert engine.supports_embeddings is embeddings


def test_llamacpp_info_reads_the_header_without_loading(tiny_gguf_path: Path) -> None:
    engine = LlamaCppEngine(LlamaLoadOptions(str(tiny_gguf_path)))
    info = engine.info()
    assert info.architecture == "llama" and info.path == tiny_gguf_path
    assert engine.info() is info
    assert not engine.is_loaded
    assert engine.model_name == tiny_gguf_path.name


def test_gpt4all_info_refuses_an_architecture_it_cannot_load(gemma_path: Path) -> None:
    engine = GPT4AllEngine(GPT4AllLoadOptions(str(gemma_path)))
    with pytest.raises(UnsupportedArchitectureError, match="'gemma3'"):
        engine.info()
    assert not engine.is_loaded


def test_call_settings_take_fixed_then_call_options_then_the_face() -> None:
    class Face:
        temperature = 0.2
        top_k = 10
        top_p = 0.5
        max_tokens = 99

    params = SamplingParams.resolve(
        Face(), {"top_k": 5, "not_a_field": 1, "max_tokens": 7}, max_tokens=3, stop=("\n",)
    )
    assert params.max_tokens == 3  # fixed wins over the call option
    assert params.top_k == 5  # the call option wins over the face
    assert params.temperature == 0.2 and params.top_p == 0.5
    assert params.min_p == SamplingParams.min_p  # the face has none: the default
    assert params.stop == ("\n",)
    with pytest.raises(TypeError, match="no field"):
        SamplingParams.resolve(Face(), {}, temp=0.1)


def test_gpt4all_settings_map_to_the_bindings_arguments() -> None:
    params = GPT4AllSampling(max_tokens=4, temp=0.1, stop=("x",))
    assert params.sampler_kwargs() == {
        "temp": 0.1,
        "top_k": 40,
        "top_p": 0.4,
        "min_p": 0.0,
        "repeat_penalty": 1.18,
        "repeat_last_n": 64,
        "n_batch": 8,
    }
    options = GPT4AllLoadOptions("m.gguf", n_ctx=512, n_threads=2)
    assert options.bindings_kwargs() == {
        "n_ctx": 512,
        "n_threads": 2,
        "device": "cpu",
        "ngl": 100,
        "allow_download": False,
    }


@pytest.mark.parametrize(
    ("pieces", "stops", "shown", "stop"),
    [
        (["Hello", " wor", "ld"], [], "Hello world", None),
        (["Hi <e", "nd> more"], ["<end>"], "Hi ", "<end>"),
        (["a<", "b"], ["<end>"], "a<b", None),
        (["one STOP two"], ["two", "STOP"], "one ", "STOP"),
        (["abc"], [""], "abc", None),
    ],
)
def test_stop_scanner_cuts_at_the_first_stop_across_pieces(
    pieces: list[str], stops: list[str], shown: str, stop: str | None
) -> None:
    scanner = StopScanner(stops)
    out = ""
    for piece in pieces:
        out += scanner.feed(piece)
        if scanner.stop is not None:
            break
    out += scanner.pending
    assert out == shown and scanner.stop == stop


def test_held_back_is_the_longest_possible_stop_prefix() -> None:
    assert held_back("say <end", ["<end>", "<e"]) == 4
    assert held_back("nothing", ["<end>"]) == 0


def test_core_imports_nothing_above_it() -> None:
    core = Path(langchain_localkit.__file__).parent / "_core"
    upward: list[str] = []
    for module in sorted(core.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            upward += [
                f"{module.name}: {name}"
                for name in names
                if name.startswith("langchain_localkit")
                and not name.startswith("langchain_localkit._core")
            ]
    assert upward == []


def test_any_json_grammar_comes_through_the_guarded_import() -> None:
    pytest.importorskip("llama_cpp")
    from langchain_localkit.engines.gbnf import any_json_gbnf

    assert any_json_gbnf().lstrip().startswith("root")
