"""Bad inputs for the in-process runtimes (llama.cpp and GPT4All): files, parameters, context.

Every case is a real file on disk or a real call on the tiny GGUF, and must end in a typed
error whose message says what happened and what to do (`expect_error`). A file that fails to
load must be left as it was: same bytes, same modification time, nothing written next to it.

Not errors, by design (each has a test saying so): `n_gpu_layers` on a CPU-only llama.cpp
(every layer runs on the CPU), `max_tokens <= 0` on the llama.cpp faces (until the context is
full, as in community `LlamaCpp`), and an unset `n_batch` with a small `n_ctx` on llama.cpp
(the default 512 is lowered to `n_ctx`; only an `n_batch` given above `n_ctx` is refused).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from langchain_localkit import (
    ChatGPT4All,
    ChatLlamaCpp,
    ContextOverflowError,
    GPT4All,
    InvalidRequestError,
    LlamaCpp,
    LlamaCppEmbeddings,
    ModelLoadError,
    ModelNotFoundError,
    UnsupportedArchitectureError,
)
from tests.integration_tests.test_load_failures import one_layer_short
from tests.reliability._bad_files import BadFile, folder_listing, snapshot, write_bad_files
from tests.reliability._record import expect_error

pytestmark = pytest.mark.timeout(120)

LONG = "the quick brown fox jumps over the lazy dog " * 40
"""A prompt of about 400 tokens: over a 64-token context."""


def _gpt4all() -> None:
    pytest.importorskip("gpt4all")


RUNTIMES: dict[str, Callable[[Path], Any]] = {
    "LlamaCpp": lambda p: LlamaCpp(model_path=str(p), max_tokens=4).invoke("hi"),
    "ChatLlamaCpp": lambda p: ChatLlamaCpp(model_path=str(p), max_tokens=4).invoke("hi"),
    "LlamaCppEmbeddings": lambda p: LlamaCppEmbeddings(model_path=str(p)).embed_query("hi"),
    "GPT4All": lambda p: GPT4All(model=str(p), max_tokens=4).invoke("hi"),
    "ChatGPT4All": lambda p: ChatGPT4All(model=str(p), max_tokens=4).invoke("hi"),
}
"""What a user does with a model file, per face: build it and use it once."""

UNKNOWN_ARCH = {
    "LlamaCpp": ModelLoadError,
    "ChatLlamaCpp": ModelLoadError,
    "LlamaCppEmbeddings": ModelLoadError,
    "GPT4All": UnsupportedArchitectureError,
    "ChatGPT4All": UnsupportedArchitectureError,
}
"""llama.cpp tries the unknown architecture and says why it failed; GPT4All knows its list."""


# --- 1. model files ---------------------------------------------------------------------------

CASES = [
    "missing-file",
    "directory",
    "empty-file",
    "truncated-header",
    "truncated-tensors",
    "text-file",
    "png-file",
    "zip-file",
    "ggml-file",
    "gguf-version",
    "unknown-arch",
]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, tiny_gguf_path: Path) -> dict[str, BadFile]:
    folder = tmp_path_factory.mktemp("bad-models")
    return {b.case: b for b in write_bad_files(folder, tiny_gguf_path)}


@pytest.mark.parametrize("runtime", list(RUNTIMES))
@pytest.mark.parametrize("case", CASES)
def test_bad_model_file(runtime: str, case: str, written: dict[str, BadFile]) -> None:
    if "GPT4All" in runtime:
        _gpt4all()
    bad = written[case]
    folder = bad.path.parent
    before, names = snapshot(bad.path), folder_listing(folder)
    error = UNKNOWN_ARCH[runtime] if case == "unknown-arch" else bad.error
    expect_error(case, runtime, error, lambda: RUNTIMES[runtime](bad.path), must_say=bad.must_say)
    assert snapshot(bad.path) == before, f"{case}: the file changed"
    assert folder_listing(folder) == names, f"{case}: a file was written next to it"


@pytest.mark.parametrize("runtime", ["GPT4All", "ChatGPT4All"])
def test_gpt4all_unloadable_model_raises(runtime: str, tmp_path: Path) -> None:
    """A file the bindings fail to load is an error, not an empty answer."""
    _gpt4all()
    from langchain_localkit.testing import make_tiny_gguf

    path = one_layer_short(make_tiny_gguf, tmp_path / "one-layer-short.gguf")
    before = snapshot(path)
    expect_error(
        "unloadable-model",
        runtime,
        ModelLoadError,
        lambda: RUNTIMES[runtime](path),
        must_say=["one-layer-short.gguf", "blk.2.", "LlamaCpp"],
    )
    assert snapshot(path) == before


@pytest.mark.parametrize("runtime", ["GPT4All", "ChatGPT4All"])
def test_gpt4all_model_name_is_not_fetched(runtime: str) -> None:
    """A catalogue name with downloads off: a clear error, no network (sockets are loopback)."""
    _gpt4all()
    face = GPT4All if runtime == "GPT4All" else ChatGPT4All
    expect_error(
        "model-name-not-path",
        runtime,
        ModelNotFoundError,
        lambda: face(model="orca-mini-3b-gguf2-q4_0.gguf", allow_download=False),
        must_say=["orca-mini-3b-gguf2-q4_0.gguf", "not found", "nothing is downloaded"],
    )


# --- 2. absurd parameters ---------------------------------------------------------------------

NAN = math.nan

LLAMA_BUILD = {
    "n-ctx-negative": ({"n_ctx": -1}, ["n_ctx"]),
    "n-batch-zero": ({"n_batch": 0}, ["n_batch"]),
    "n-batch-over-n-ctx": ({"n_ctx": 64, "n_batch": 128}, ["n_batch", "n_ctx"]),
    "temperature-negative": ({"temperature": -0.5}, ["temperature"]),
    "temperature-nan": ({"temperature": NAN}, ["temperature"]),
    "top-p-above-1": ({"top_p": 1.5}, ["top_p"]),
    "seed-wrong-type": ({"seed": "abc"}, ["seed", "integer"]),
}
"""Constructor arguments llama.cpp faces refuse (a pydantic `ValidationError` naming them)."""

GPT4ALL_BUILD = {
    "n-ctx-negative": ({"n_ctx": -1}, ["n_ctx"]),
    "n-batch-zero": ({"n_batch": 0}, ["n_batch"]),
    "max-tokens-negative": ({"max_tokens": -1}, ["max_tokens"]),
    "temperature-negative": ({"temp": -0.5}, ["temp"]),
    "temperature-nan": ({"temp": NAN}, ["temp"]),
    "top-p-above-1": ({"top_p": 1.5}, ["top_p"]),
    "seed-wrong-type": ({"seed": "abc"}, ["seed", "integer"]),
}


def _face(runtime: str, path: Path, **kwargs: Any) -> Any:
    if runtime == "LlamaCpp":
        return LlamaCpp(model_path=str(path), max_tokens=4, **kwargs)
    if runtime == "ChatLlamaCpp":
        return ChatLlamaCpp(model_path=str(path), max_tokens=4, **kwargs)
    if runtime == "LlamaCppEmbeddings":
        return LlamaCppEmbeddings(model_path=str(path), **kwargs)
    _gpt4all()
    if runtime == "GPT4All":
        return GPT4All(model=str(path), **{"max_tokens": 4, **kwargs})
    return ChatGPT4All(model=str(path), **{"max_tokens": 4, **kwargs})


def _pairs(llama: dict[str, Any], gpt4all: dict[str, Any]) -> list[tuple[str, str]]:
    """(runtime, case) for every case that is an error on that runtime."""
    return [
        (runtime, case)
        for runtime in ("LlamaCpp", "ChatLlamaCpp", "GPT4All", "ChatGPT4All")
        for case in (gpt4all if "GPT4All" in runtime else llama)
    ]


@pytest.mark.filterwarnings("ignore:`seed` has no effect in GPT4All")
@pytest.mark.parametrize(("runtime", "case"), _pairs(LLAMA_BUILD, GPT4ALL_BUILD))
def test_bad_constructor_argument(runtime: str, case: str, tiny_gguf_path: Path) -> None:
    kwargs, words = (GPT4ALL_BUILD if "GPT4All" in runtime else LLAMA_BUILD)[case]
    expect_error(
        case,
        runtime,
        ValidationError,
        lambda: _face(runtime, tiny_gguf_path, **kwargs),
        must_say=words,
    )


LLAMA_CALL = {
    "temperature-negative-call": {"temperature": -0.5},
    "temperature-nan-call": {"temperature": NAN},
    "top-p-above-1-call": {"top_p": 1.5},
    "top-k-negative-call": {"top_k": -3},
    "seed-wrong-type-call": {"seed": "abc"},
}
GPT4ALL_CALL = {
    "temperature-negative-call": {"temp": -0.5},
    "temperature-nan-call": {"temp": NAN},
    "top-p-above-1-call": {"top_p": 1.5},
    "max-tokens-negative-call": {"max_tokens": -1},
}


@pytest.mark.parametrize(("runtime", "case"), _pairs(LLAMA_CALL, GPT4ALL_CALL))
def test_bad_call_option(runtime: str, case: str, tiny_gguf_path: Path) -> None:
    """A call option its field would refuse is refused too, before anything is decoded."""
    options = (GPT4ALL_CALL if "GPT4All" in runtime else LLAMA_CALL)[case]
    face = _face(runtime, tiny_gguf_path)
    name = next(iter(options))
    expect_error(
        case,
        runtime,
        InvalidRequestError,
        lambda: face.invoke("hi", **options),
        must_say=[f"{name}=", runtime],
    )


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_context_larger_than_memory(runtime: str, tiny_gguf_path: Path) -> None:
    """n_ctx=10**9: refused before loading (gpt4all's C++ would abort the process)."""
    face = _face(runtime, tiny_gguf_path, n_ctx=10**9)
    use = face.embed_query if runtime == "LlamaCppEmbeddings" else face.invoke
    expect_error(
        "n-ctx-huge", runtime, ModelLoadError, lambda: use("hi"), must_say=["n_ctx", "GiB"]
    )


def test_negative_max_tokens_is_not_an_error_on_llamacpp(tiny_gguf_path: Path) -> None:
    """Not an error: community `LlamaCpp`'s `max_tokens <= 0` means "until the context is full"."""
    llm = LlamaCpp(model_path=str(tiny_gguf_path), n_ctx=64, n_batch=64, max_tokens=-1)
    result = llm.generate(["hi"]).generations[0][0]
    info = result.generation_info or {}
    assert result.text and info["usage"]["total_tokens"] <= 64


def test_small_n_ctx_with_the_default_n_batch(tiny_gguf_path: Path) -> None:
    """Not an error: `LlamaCpp(n_ctx=64)` lowers the default `n_batch` (512) to 64."""
    llm = LlamaCpp(model_path=str(tiny_gguf_path), n_ctx=64, max_tokens=4)
    assert llm.invoke("hi")


def test_gpu_layers_on_a_cpu_build_are_ignored(tiny_gguf_path: Path) -> None:
    """Not an error: llama.cpp without a GPU backend runs every layer on the CPU."""
    llm = LlamaCpp(model_path=str(tiny_gguf_path), n_gpu_layers=99, max_tokens=4, temperature=0)
    baseline = LlamaCpp(model_path=str(tiny_gguf_path), max_tokens=4, temperature=0)
    assert llm.invoke("hi") == baseline.invoke("hi") != ""


def test_gpt4all_gpu_device_without_a_gpu() -> None:
    _gpt4all()
    import gpt4all

    try:
        gpus = gpt4all.GPT4All.list_gpus()
    except Exception:
        gpus = []
    if gpus:
        pytest.skip(f"this host has a GPU gpt4all can use: {gpus}")
    from tests.models import tiny_path

    face = GPT4All(model=str(tiny_path()), device="gpu", max_tokens=4)
    expect_error(
        "gpu-device-missing",
        "GPT4All",
        ModelLoadError,
        lambda: face.invoke("hi"),
        must_say=["device='gpu'", "device='cpu'"],
    )


# --- 3. a prompt over the context window -----------------------------------------------------


@pytest.mark.parametrize("runtime", ["LlamaCpp", "ChatLlamaCpp", "GPT4All", "ChatGPT4All"])
def test_prompt_over_the_context(runtime: str, tiny_gguf_path: Path) -> None:
    small = {"n_ctx": 64} if "GPT4All" in runtime else {"n_ctx": 64, "n_batch": 64}
    face = _face(runtime, tiny_gguf_path, **small)
    exc = expect_error(
        "prompt-over-context",
        runtime,
        ContextOverflowError,
        lambda: face.invoke(LONG),
        must_say=["tokens", "64", "n_ctx", "shorten"],
    )
    assert isinstance(exc, ContextOverflowError)
    assert exc.n_ctx == 64
    assert exc.n_prompt_tokens is not None and exc.n_prompt_tokens > 64, str(exc)
    assert str(exc.n_prompt_tokens) in str(exc)


def test_embedding_text_over_the_batch(tiny_gguf_path: Path) -> None:
    emb = LlamaCppEmbeddings(model_path=str(tiny_gguf_path), n_ctx=64, n_batch=64, truncate=False)
    exc = expect_error(
        "text-over-context",
        "LlamaCppEmbeddings",
        ContextOverflowError,
        lambda: emb.embed_query(LONG),
        must_say=["tokens", "64", "split the text"],
    )
    assert isinstance(exc, ContextOverflowError) and (exc.n_prompt_tokens or 0) > 64
