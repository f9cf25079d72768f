"""`LlamaCpp` on real llama.cpp, with the tiny generated GGUF and with Gemma 3 270M."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManager, StreamingStdOutCallbackHandler

from langchain_localkit import (
    ContextOverflowError,
    InvalidModelFileError,
    LlamaCpp,
    ModelLoadError,
)
from tests.integration_tests._concurrency import (
    LONG_STORY,
    assert_closing_astream_stops_decoding,
    cancel_mid_stream,
    in_threads,
    wait_until_idle,
)


@pytest.fixture
def tiny(tiny_gguf_path: Path) -> LlamaCpp:
    return LlamaCpp(model_path=str(tiny_gguf_path), temperature=0, max_tokens=24, seed=1)


@pytest.fixture
def gemma(gemma_path: Path) -> LlamaCpp:
    return LlamaCpp(model_path=str(gemma_path), temperature=0, max_tokens=24, seed=1, n_ctx=2048)


def _info(llm: LlamaCpp, prompt: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    result = llm.generate([prompt], **kwargs)
    gen = result.generations[0][0]
    assert gen.generation_info is not None
    return gen.text, gen.generation_info


# --- basic calls -------------------------------------------------------------------------------


def test_invoke_tiny(tiny: LlamaCpp) -> None:
    text = tiny.invoke("the moon")
    assert isinstance(text, str) and text.strip()


def test_invoke_gemma(gemma: LlamaCpp) -> None:
    text = gemma.invoke("Question: What is the capital of France?\nAnswer:")
    assert text.strip().startswith("Paris")


def test_greedy_is_deterministic(tiny: LlamaCpp) -> None:
    assert tiny.invoke("the first man") == tiny.invoke("the first man")


def test_seeded_sampling_is_reproducible(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), temperature=1.0, max_tokens=24, seed=42)
    first = llm.invoke("the year")
    assert llm.invoke("the year") == first
    others = {llm.invoke("the year", seed=s) for s in range(5)}
    assert len(others) > 1, "different seeds should sample different text"


def test_stream_equals_invoke(tiny: LlamaCpp) -> None:
    chunks = list(tiny.stream("the team won"))
    assert len(chunks) > 3, "expected token-by-token chunks"
    assert "".join(chunks) == tiny.invoke("the team won")


def test_stream_gemma_token_by_token(gemma: LlamaCpp) -> None:
    chunks = list(gemma.stream("The first man on the moon was"))
    assert len([c for c in chunks if c]) >= 10
    assert "".join(chunks) == gemma.invoke("The first man on the moon was")


def test_batch_equals_invoke(tiny: LlamaCpp) -> None:
    prompts = ["the moon", "a question", "the answer was"]
    assert tiny.batch(prompts) == [tiny.invoke(p) for p in prompts]


async def test_async_equals_sync(tiny: LlamaCpp) -> None:
    expected = tiny.invoke("the first year")
    assert await tiny.ainvoke("the first year") == expected
    chunks = [c async for c in tiny.astream("the first year")]
    assert "".join(chunks) == expected
    assert await tiny.abatch(["the first year", "the moon"]) == [expected, tiny.invoke("the moon")]


# --- generation_info: finish reason, usage, timings ----------------------------------------------


def test_generation_info_counts_and_timings(tiny: LlamaCpp) -> None:
    text, info = _info(tiny, "the moon was")
    usage = info["usage"]
    assert usage["input_tokens"] == len(tiny.engine.tokenize("the moon was"))
    assert usage["output_tokens"] == 24 and info["finish_reason"] == "length"
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert info["model_name"] == "tiny-llama.gguf"
    timings = info["timings"]
    assert timings["eval_tokens"] == usage["output_tokens"]
    assert timings["prompt_tokens"] + timings["cached_tokens"] == usage["input_tokens"]
    assert timings["eval_ms"] > 0 and timings["prompt_ms"] > 0
    assert timings["eval_tokens_per_second"] == pytest.approx(
        timings["eval_tokens"] / timings["eval_ms"] * 1000
    )
    assert 0 < timings["ttft_ms"] <= timings["total_ms"]
    assert timings["source"] == "llama.cpp"
    assert len(tiny.engine.tokenize(text, add_bos=False)) >= 20


def test_max_tokens_is_exact(gemma: LlamaCpp) -> None:
    _, info = _info(gemma, "Once upon a time", max_tokens=7)
    assert info["usage"]["output_tokens"] == 7
    assert info["finish_reason"] == "length"


def test_prefix_reuse_evaluates_only_new_tokens(gemma: LlamaCpp) -> None:
    base = "The history of the Moon landing program is long. " * 4
    _, first = _info(gemma, base + "First,", max_tokens=2)
    _, second = _info(gemma, base + "Second, the", max_tokens=2)
    assert second["timings"]["cached_tokens"] > 30
    assert second["timings"]["prompt_tokens"] < first["timings"]["prompt_tokens"]
    assert (
        second["timings"]["prompt_tokens"] + second["timings"]["cached_tokens"]
        == second["usage"]["input_tokens"]
    )


# --- stop sequences ------------------------------------------------------------------------------


def test_stop_halts_decoding(tiny: LlamaCpp) -> None:
    """Test that decoding stops at the stop string, not trimmed after generating everything."""
    full, full_info = _info(tiny, "the first man")
    words = full.split()
    stop_word = words[len(words) // 2]
    expected = full[: full.index(stop_word)]
    text, info = _info(tiny, "the first man", stop=[stop_word])
    assert text == expected
    assert info["finish_reason"] == "stop" and info["stop_reason"] == stop_word
    assert info["usage"]["output_tokens"] < full_info["usage"]["output_tokens"]


def test_constructor_and_call_stops_both_apply(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), temperature=0, max_tokens=24)
    words = llm.invoke("the first man").split()
    ctor = LlamaCpp(model_path=str(tiny_gguf_path), temperature=0, max_tokens=24, stop=[words[6]])
    assert words[6] not in ctor.invoke("the first man")
    both = ctor.invoke("the first man", stop=[words[2]])
    assert words[2] not in both and len(both) < len(ctor.invoke("the first man"))


def test_stop_in_stream(tiny: LlamaCpp) -> None:
    full = tiny.invoke("the answer")
    stop_word = full.split()[3]
    streamed = "".join(tiny.stream("the answer", stop=[stop_word]))
    assert streamed == full[: full.index(stop_word)]


# --- grammar, echo, logprobs -------------------------------------------------------------------


def test_grammar_constrains_output(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), grammar='root ::= "yes" | "no"', temperature=0.9)
    for seed in range(5):
        assert llm.invoke("is it?", seed=seed) in {"yes", "no"}


def test_echo_returns_prompt_first(tiny: LlamaCpp) -> None:
    echoed = LlamaCpp(model_path=tiny.model_path, temperature=0, max_tokens=8, echo=True)
    assert echoed.invoke("the moon").startswith("the moon")


def test_logprobs_need_and_use_logits_all(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(
        model_path=str(tiny_gguf_path), temperature=0, max_tokens=4, logprobs=2, logits_all=True
    )
    _, info = _info(llm, "the moon")
    assert info["logprobs"] is not None
    assert len(info["logprobs"]["tokens"]) == 4


# --- sharing, threads, async cancellation ---------------------------------------------------


def test_same_file_and_options_share_one_model(tiny_gguf_path: Path) -> None:
    a = LlamaCpp(model_path=str(tiny_gguf_path), n_ctx=512)
    b = LlamaCpp(model_path=str(tiny_gguf_path), n_ctx=512, temperature=0.1)
    c = LlamaCpp(model_path=str(tiny_gguf_path), n_ctx=1024)
    assert a.client is b.client
    assert a.client is not c.client


def test_concurrent_threads_are_serialised(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), temperature=0, max_tokens=32)
    prompts = [f"the {w}" for w in ("moon", "team", "year", "answer", "man", "question")]
    expected = {p: llm.invoke(p) for p in prompts}
    results: dict[str, str] = {}

    def run(p: str) -> None:
        for _ in range(3):
            out = llm.invoke(p)
            assert results.setdefault(p, out) == out, f"{p}: {out!r}"

    assert not in_threads(run, prompts)
    assert results == expected


async def test_concurrent_tasks_are_serialised(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), temperature=0, max_tokens=32)
    prompts = ["the moon", "the team", "the year", "the answer"]
    expected = [llm.invoke(p) for p in prompts]
    assert await asyncio.gather(*(llm.ainvoke(p) for p in prompts)) == expected


def test_nested_call_in_a_stream_runs_on_a_spare_context(tiny: LlamaCpp) -> None:
    expected = tiny.invoke("the year")
    stream = tiny.stream("the moon")
    next(stream)
    assert tiny.invoke("the year") == expected  # a spare context, not ModelBusyError
    stream.close()
    assert not tiny.engine.load()[0].busy


def test_closing_a_sync_stream_stops_decoding(gemma_path: Path) -> None:
    llm = LlamaCpp(model_path=str(gemma_path), max_tokens=2000, n_ctx=2048)
    stream = llm.stream(LONG_STORY)
    for _ in range(3):
        next(stream)
    entry, _ = llm.engine.load()
    assert entry.busy
    stream.close()
    assert not entry.busy


async def test_breaking_out_of_astream_stops_decoding(gemma_path: Path) -> None:
    llm = LlamaCpp(model_path=str(gemma_path), max_tokens=2000, n_ctx=2048)
    await assert_closing_astream_stops_decoding(llm)


async def test_cancelled_task_stops_decoding(gemma_path: Path) -> None:
    llm = LlamaCpp(model_path=str(gemma_path), max_tokens=2000, n_ctx=2048)
    entry, _ = llm.engine.load()
    await cancel_mid_stream(llm.astream(LONG_STORY))
    await wait_until_idle(entry)


# --- the source document's call, silence, and errors ------------------------------------------


def test_seed_call_streams_tokens_and_prints_timings(
    source_document_llamacpp: Callable[..., LlamaCpp], capsys: pytest.CaptureFixture[str]
) -> None:
    """Test the mission's exact LlamaCpp call, only the import changed."""
    with pytest.warns(DeprecationWarning, match="callbacks="):
        llm = source_document_llamacpp(
            callback_manager=CallbackManager([StreamingStdOutCallbackHandler()]),
            verbose=True,
            max_tokens=32,
        )
    result = llm.invoke("The first man on the moon was ... Let's think step by step")
    captured = capsys.readouterr()
    assert result and captured.out == result, "tokens must stream to stdout as they come"
    for line in ("prompt eval time", "eval time", "total time", "tokens per second"):
        assert line in captured.err


def test_verbose_false_is_silent(tiny_gguf_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Test that loading and generating print nothing at the file-descriptor level."""
    llm = LlamaCpp(model_path=str(tiny_gguf_path), n_ctx=640, max_tokens=4)
    llm.invoke("the moon")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_context_overflow_is_typed_and_early(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), n_ctx=64, n_batch=64, max_tokens=4)
    with pytest.raises(ContextOverflowError) as e:
        llm.invoke("the moon " * 100)
    assert e.value.n_ctx == 64 and e.value.n_prompt_tokens > 64
    assert "64" in str(e.value)
    assert llm.invoke("the moon")  # the model is still usable


def test_non_gguf_file_is_a_typed_error_at_first_use(tmp_path: Path) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_text("definitely not a model " * 10)
    llm = LlamaCpp(model_path=str(bad))
    with pytest.raises(InvalidModelFileError, match="not a GGUF"):
        llm.invoke("hi")


def test_truncated_gguf_is_a_typed_error(tiny_gguf_path: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gguf_path.read_bytes()[:-4096])
    with pytest.raises(InvalidModelFileError, match="truncated"):
        LlamaCpp(model_path=str(cut)).invoke("hi")


def test_unknown_architecture_is_a_load_error(tmp_path: Path) -> None:
    from tests.models import write_unknown_architecture

    path = write_unknown_architecture(tmp_path / "weird.gguf")
    with pytest.raises(ModelLoadError, match="nosucharch"):
        LlamaCpp(model_path=str(path)).invoke("hi")


def test_unknown_model_kwargs_are_refused(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), model_kwargs={"n_gpu_layerz": 3})
    with pytest.raises(ValueError, match="n_gpu_layerz"):
        llm.invoke("hi")


def test_get_num_tokens_uses_the_model_tokenizer(gemma: LlamaCpp) -> None:
    assert gemma.get_num_tokens("The first man on the moon was") == 7


@pytest.mark.gemma
def test_cli_run_streams_and_reports(gemma_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "langchain_localkit.cli", "run", "-n", "8", "The moon is"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.startswith("# gemma-3-270m-q4_k_m.gguf via llama.cpp\nThe moon is")
    assert "load time" in out.stdout and "eval time" in out.stdout
    assert "output_tokens=8" in out.stdout
    assert out.stderr == ""


# --- the prompt pack on a text-in/text-out face ------------------------------------------------


def test_apply_chat_template_formats_prompts_for_the_model(gemma_path: Path) -> None:
    from langchain_core.prompts import ChatPromptTemplate

    llm = LlamaCpp(model_path=str(gemma_path), apply_chat_template=True)
    value = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")]).invoke(
        {"q": "Hi"}
    )
    assert llm._convert_input(value).to_string() == (
        "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
    )
    assert "<end_of_turn>" in llm._template_stops()
    raw = LlamaCpp(model_path=str(gemma_path))
    assert raw._convert_input("Hi").to_string() == "Hi"
    assert raw._template_stops() == []


def test_apply_chat_template_in_a_chain(gemma_path: Path) -> None:
    from langchain_core.prompts import ChatPromptTemplate

    llm = LlamaCpp(model_path=str(gemma_path), apply_chat_template=True, max_tokens=12)
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | llm
    _, info = _info(llm, llm._convert_input("Say hi").to_string())
    assert isinstance(chain.invoke({"q": "Say hi"}), str)
    assert info["usage"]["input_tokens"] == len(
        llm.engine.tokenize("<bos><start_of_turn>user\nSay hi<end_of_turn>\n<start_of_turn>model\n")
    )
