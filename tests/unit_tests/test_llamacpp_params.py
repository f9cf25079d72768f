"""`LlamaCpp` construction: community parameters accepted, bad ones refused, no model loaded."""

import sys
import warnings
from pathlib import Path

import pytest
from langchain_core.callbacks import CallbackManager, StreamingStdOutCallbackHandler

from langchain_localkit import LlamaCpp, ModelIsDirectoryError, ModelNotFoundError
from langchain_localkit._core.langchain import merge_stop
from langchain_localkit.engines.llamacpp import _held_back


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "llama-2-13b-chat.Q4_0.gguf"
    path.write_bytes(b"GGUF")  # never loaded by these tests
    return path


def test_community_parameters_are_accepted(model_file: Path) -> None:
    """Test that every parameter of community LlamaCpp is accepted with its meaning."""
    llm = LlamaCpp(
        model_path=str(model_file),
        lora_base=None,
        lora_path=None,
        n_ctx=2048,
        n_parts=-1,
        seed=7,
        f16_kv=True,
        logits_all=False,
        vocab_only=False,
        use_mlock=False,
        n_threads=2,
        n_batch=512,
        n_gpu_layers=1,
        suffix=None,
        max_tokens=64,
        temperature=0.5,
        top_p=0.9,
        logprobs=None,
        echo=False,
        stop=["\n\n"],
        repeat_penalty=1.2,
        top_k=20,
        last_n_tokens_size=64,
        use_mmap=True,
        rope_freq_scale=1.0,
        rope_freq_base=10000.0,
        model_kwargs={},
        streaming=True,
        grammar_path=None,
        grammar=None,
        verbose=True,
    )
    assert llm._engine is None, "construction must not load the model"
    options = llm._load_options()
    assert options.n_ctx == 2048 and options.n_batch == 512 and options.n_threads == 2
    assert options.rope_freq_base == 10000.0


def test_defaults_fix_community_traps(model_file: Path) -> None:
    llm = LlamaCpp(model_path=str(model_file))
    options = llm._load_options()
    assert options.rope_freq_base == 0.0 and options.rope_freq_scale == 0.0  # from the model
    assert options.n_batch == 512
    assert options.n_ctx is None  # the model's own context, capped
    assert llm.verbose is False


def test_construction_does_not_import_llama_cpp(model_file: Path) -> None:
    if "llama_cpp" in sys.modules:
        pytest.skip("llama_cpp already imported by another test in this process")
    LlamaCpp(model_path=str(model_file))
    assert "llama_cpp" not in sys.modules


def test_missing_model_file_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"nope\.gguf"):
        LlamaCpp(model_path=str(tmp_path / "nope.gguf"))


def test_directory_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ModelIsDirectoryError):
        LlamaCpp(model_path=str(tmp_path))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": -1}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"n_batch": 0}, "n_batch"),
        ({"n_ctx": 256, "n_batch": 512}, "n_batch"),
        ({"n_ctx": -5}, "n_ctx"),
        ({"grammar": 'root ::= "a"', "grammar_path": "g.gbnf"}, "grammar"),
        ({"mirostat_mode": 3}, "mirostat_mode"),
    ],
)
def test_bad_parameters_fail_at_construction(
    model_file: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        LlamaCpp(model_path=str(model_file), **kwargs)


def test_obsolete_n_parts_warns(model_file: Path) -> None:
    with pytest.warns(UserWarning, match="`n_parts` has no effect in LlamaCpp"):
        LlamaCpp(model_path=str(model_file), n_parts=2)


def test_f16_kv_false_asks_for_f32_cache(model_file: Path) -> None:
    assert LlamaCpp(model_path=str(model_file), f16_kv=False)._load_options().f16_kv is False


def test_callback_manager_is_mapped_to_callbacks(model_file: Path) -> None:
    """Test the source document's call: callback_manager= is honoured, with a warning."""
    handler = StreamingStdOutCallbackHandler()
    with pytest.warns(DeprecationWarning, match="callbacks="):
        llm = LlamaCpp(model_path=str(model_file), callback_manager=CallbackManager([handler]))
    assert isinstance(llm.callbacks, CallbackManager)
    assert llm.callbacks.handlers == [handler]


def test_callback_manager_and_callbacks_conflict(model_file: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValueError, match="either"):
            LlamaCpp(
                model_path=str(model_file),
                callbacks=[StreamingStdOutCallbackHandler()],
                callback_manager=CallbackManager([]),
            )


def test_unknown_call_option_is_refused(model_file: Path) -> None:
    llm = LlamaCpp(model_path=str(model_file))
    with pytest.raises(TypeError, match="temprature"):
        llm._sampling(None, {"temprature": 0.1})


def test_call_options_override_fields(model_file: Path) -> None:
    llm = LlamaCpp(model_path=str(model_file), temperature=0.8, max_tokens=10, stop=["a"], seed=-1)
    params = llm._sampling(["b"], {"temperature": 0.0, "max_tokens": 3, "seed": 5})
    assert (params.temperature, params.max_tokens, params.seed) == (0.0, 3, 5)
    assert params.stop == ("a", "b")
    assert llm._sampling(None, {}).seed is None  # -1: a fresh random seed per call


def test_ls_params(model_file: Path) -> None:
    llm = LlamaCpp(model_path=str(model_file), max_tokens=10, temperature=0.3)
    params = llm._get_ls_params(stop=["x"])
    assert params == {
        "ls_provider": "llamacpp",
        "ls_model_name": "llama-2-13b-chat.Q4_0.gguf",
        "ls_model_type": "llm",
        "ls_temperature": 0.3,
        "ls_max_tokens": 10,
        "ls_stop": ["x"],
    }
    assert llm._llm_type == "llamacpp"


def test_grammar_file_is_read(model_file: Path, tmp_path: Path) -> None:
    g = tmp_path / "yes.gbnf"
    g.write_text('root ::= "yes"')
    llm = LlamaCpp(model_path=str(model_file), grammar_path=str(g))
    assert llm._sampling(None, {}).grammar == 'root ::= "yes"'


def test_merge_stop_keeps_order_and_drops_repeats() -> None:
    assert merge_stop(["a", "b"], ["b", "c", ""]) == ("a", "b", "c")
    assert merge_stop(None, None) == ()


@pytest.mark.parametrize(
    ("text", "stops", "held"),
    [
        ("hello wor", ["world"], 3),
        ("hello", ["world"], 0),
        ("abc[/IN", ["[/INST]"], 4),
        ("x</", ["</s>", "<|im_end|>"], 2),
        ("ends with w", ["world", "wx"], 1),
    ],
)
def test_held_back_suffix(text: str, stops: list[str], held: int) -> None:
    assert _held_back(text, stops) == held
