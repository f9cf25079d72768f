"""llama.cpp runs on every x86-64 host: our builds have no AMX path, and a model loads and
decodes with llama.cpp's extra buffer types (weight repacking) on, off, or decided for this host.

On a CPU with AMX these prove that the automatic decision decodes Gemma and the tiny model; on
others, that nothing changes and no probe runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from langchain_localkit import ChatLlamaCpp, LlamaCpp, LlamaCppEmbeddings
from langchain_localkit._core.cpu import (
    amx_instructions,
    build_has_amx,
    read_host_cpu,
)
from langchain_localkit.engines import llamacpp_amx as amx
from langchain_localkit.engines.llamacpp import (
    LlamaCppEngine,
    LlamaLoadOptions,
    SamplingParams,
    clear_model_cache,
    import_llama_cpp,
)

GREEDY = SamplingParams(max_tokens=12, temperature=0.0, top_k=1, repeat_penalty=1.0)


def never() -> amx.ProbeResult:
    pytest.fail("no probe may run for a build without an AMX path")


@pytest.fixture
def fresh_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(amx.ENV_VAR, raising=False)
    amx.forget_decision()
    clear_model_cache()


@pytest.fixture(scope="module")
def probe_gguf() -> Path:
    return amx.probe_model_path()


def _text(engine: LlamaCppEngine, prompt: str) -> str:
    return "".join(x for x in engine.stream(prompt, GREEDY) if isinstance(x, str))


def _load_log(caplog: pytest.LogCaptureFixture, options: LlamaLoadOptions) -> str:
    clear_model_cache()  # a load, not a cache hit
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="langchain_localkit.llama_cpp"):
        engine = LlamaCppEngine(options)
        engine.load()
    engine.unload()
    return caplog.text


def test_the_installed_llama_cpp_has_no_amx_path() -> None:
    """The llama-cpp-python our Makefile builds: no AMX by its own report, nor in its code."""
    llama_cpp = import_llama_cpp()
    features = amx.build_features(llama_cpp)
    assert features.get("REPACK") == "1" or not read_host_cpu().is_x86
    assert not build_has_amx(features), features
    lib = Path(llama_cpp.__file__).parent / "lib" / "libggml-cpu.so"
    if not lib.exists():
        pytest.skip(f"no {lib.name} to disassemble")
    count = amx_instructions(lib)
    if count is None:
        pytest.skip("objdump is not installed")
    assert count == 0


def test_auto_decision_runs_no_probe_for_this_build(fresh_decision: None) -> None:
    decision = amx.decide_extra_bufts(llama_cpp=import_llama_cpp(), probe=never)
    assert decision.use_extra_bufts is True and decision.probe is None


def test_the_probe_passes_on_this_host() -> None:
    """The probe itself, in a real child process: both kinds of kernels give the same tokens."""
    result = amx.probe_extra_bufts()
    assert result.verdict == "ok", result.detail
    assert result.elapsed_ms < 60_000


def test_use_extra_bufts_reaches_llama_cpp(
    probe_gguf: Path, caplog: pytest.LogCaptureFixture, fresh_decision: None
) -> None:
    """False really loads without repacked weights; True (and auto here) with them."""
    off = _load_log(caplog, LlamaLoadOptions(str(probe_gguf), n_ctx=256, use_extra_bufts=False))
    on = _load_log(caplog, LlamaLoadOptions(str(probe_gguf), n_ctx=256, use_extra_bufts=True))
    auto = _load_log(caplog, LlamaLoadOptions(str(probe_gguf), n_ctx=256))
    assert "model buffer size" in off  # the log was captured at all
    assert "REPACK" not in off
    if "REPACK" not in on:
        pytest.skip("this CPU has no repacking kernel for Q4_0/Q8_0")
    assert "REPACK" in auto


def test_greedy_output_is_the_same_with_and_without(probe_gguf: Path) -> None:
    prompt = amx.PROBE_PROMPT
    texts = {
        flag: _text(LlamaCppEngine(LlamaLoadOptions(str(probe_gguf), use_extra_bufts=flag)), prompt)
        for flag in (False, True)
    }
    assert texts[False] and texts[False] == texts[True]


@pytest.mark.parametrize("use_extra_bufts", [None, False, True])
def test_tiny_decodes(tiny_gguf_path: Path, use_extra_bufts: bool | None) -> None:
    llm = LlamaCpp(
        model_path=str(tiny_gguf_path), temperature=0, max_tokens=8, use_extra_bufts=use_extra_bufts
    )
    assert llm.invoke("the moon").split()


@pytest.mark.gemma
@pytest.mark.parametrize("use_extra_bufts", [None, False])
def test_gemma_decodes(gemma_path: Path, use_extra_bufts: bool | None) -> None:
    llm = LlamaCpp(
        model_path=str(gemma_path),
        n_ctx=512,
        temperature=0,
        max_tokens=8,
        use_extra_bufts=use_extra_bufts,
    )
    result = llm.generate(["Question: What is the capital of France?\nAnswer:"])
    info = result.generations[0][0].generation_info or {}
    assert "Paris" in result.generations[0][0].text
    assert info["usage"]["output_tokens"] > 0


def test_every_face_honours_the_field(tiny_gguf_path: Path, probe_gguf: Path) -> None:
    chat = ChatLlamaCpp(model_path=str(tiny_gguf_path), max_tokens=4, use_extra_bufts=False)
    assert chat._load_options().use_extra_bufts is False
    assert chat.invoke("the moon").content
    emb = LlamaCppEmbeddings(model_path=str(probe_gguf), use_extra_bufts=False)
    assert emb._load_options().use_extra_bufts is False
    assert len(emb.embed_query("the moon")) == 128
    llm = LlamaCpp(model_path=str(tiny_gguf_path), use_extra_bufts=True)
    assert llm._load_options().use_extra_bufts is True
    assert LlamaCpp(model_path=str(tiny_gguf_path))._load_options().use_extra_bufts is None


def test_the_environment_variable_turns_it_off(
    probe_gguf: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    fresh_decision: None,
) -> None:
    monkeypatch.setenv(amx.ENV_VAR, "off")
    log = _load_log(caplog, LlamaLoadOptions(str(probe_gguf), n_ctx=256))
    assert "model buffer size" in log and "REPACK" not in log
