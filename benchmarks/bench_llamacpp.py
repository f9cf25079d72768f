"""llama.cpp in-process: raw llama-cpp-python vs LlamaCpp (and community LlamaCpp)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Contender, Sample, ScenarioResult, run_interleaved, timed_stream

PROMPT = "Once upon a time, in a small village by the sea, there lived"


def _counters(llama: Any) -> tuple[int, int, float]:
    import llama_cpp

    perf = llama_cpp.llama_perf_context(llama.ctx)
    decode = int(perf.n_eval) if perf.t_eval_ms > 0 else 0
    prompt = int(perf.n_p_eval) if perf.t_p_eval_ms > 0 else 0
    return decode, prompt, float(perf.t_p_eval_ms)


def _fresh(llama: Any) -> None:
    """Forget the KV cache so every run evaluates the whole prompt, and reset the counters."""
    import llama_cpp

    llama.reset()
    llama_cpp.llama_perf_context_reset(llama.ctx)


def stream_scenario(
    model_path: Path, *, tokens: int, rounds: int, n_ctx: int = 2048
) -> ScenarioResult:
    from langchain_localkit import LlamaCpp

    ours = LlamaCpp(
        model_path=str(model_path),
        n_ctx=n_ctx,
        temperature=0,
        repeat_penalty=1.0,
        max_tokens=tokens,
    )
    llama = ours.client  # the same loaded model serves the raw contender

    def raw() -> Sample:
        _fresh(llama)
        return timed_stream(
            lambda: llama.create_completion(
                PROMPT, max_tokens=tokens, temperature=0, repeat_penalty=1.0, stream=True
            ),
            lambda: _counters(llama),
        )

    def localkit_stream() -> Sample:
        _fresh(llama)
        return timed_stream(lambda: ours.stream(PROMPT), lambda: _counters(llama))

    contenders = [
        Contender("raw llama_cpp create_completion(stream)", raw),
        Contender("localkit LlamaCpp.stream", localkit_stream),
    ]
    notes = []
    try:
        from langchain_community.llms import LlamaCpp as CommunityLlamaCpp
    except ImportError:
        notes.append("community LlamaCpp not measured: install the `compat` extra")
    else:
        community = CommunityLlamaCpp(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_batch=512,
            rope_freq_base=0.0,  # its default 10000 would change the model (wrong RoPE)
            rope_freq_scale=0.0,
            temperature=0,
            repeat_penalty=1.0,
            max_tokens=tokens,
            verbose=False,
        )
        community_llama = community.client

        def community_stream() -> Sample:
            _fresh(community_llama)
            return timed_stream(
                lambda: community.stream(PROMPT), lambda: _counters(community_llama)
            )

        contenders.append(Contender("community LlamaCpp.stream", community_stream))
        notes.append("community LlamaCpp loads its own copy of the model (no sharing)")
    result = run_interleaved(
        f"LlamaCpp.stream vs raw, {model_path.name}, {tokens} tokens, greedy",
        contenders,
        rounds=rounds,
    )
    result.notes.extend(notes)
    return result


def load_once_scenario(model_path: Path) -> ScenarioResult:
    """First wrapper loads the model; a second wrapper on the same file reuses it."""
    from langchain_localkit import LlamaCpp, clear_model_cache

    clear_model_cache()
    import gc

    gc.collect()
    t0 = time.perf_counter()
    first = LlamaCpp(model_path=str(model_path), n_ctx=1024)
    first.client  # noqa: B018  (loads)
    t1 = time.perf_counter()
    second = LlamaCpp(model_path=str(model_path), n_ctx=1024, temperature=0.1)
    second.client  # noqa: B018
    t2 = time.perf_counter()
    assert first.client is second.client
    result = ScenarioResult(scenario=f"load once, {model_path.name}", unit="ms")
    first_ms, second_ms = (t1 - t0) * 1000, (t2 - t1) * 1000
    result.rows.append(
        {"first_load_ms": first_ms, "second_wrapper_ms": second_ms, "ratio": second_ms / first_ms}
    )
    return result


CHAT = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


def chat_stream_scenario(
    model_path: Path, *, tokens: int, rounds: int, n_ctx: int = 2048
) -> ScenarioResult:
    """ChatLlamaCpp.stream vs raw create_chat_completion(stream=True), same chat format."""
    from langchain_localkit import ChatLlamaCpp

    ours = ChatLlamaCpp(
        model_path=str(model_path),
        n_ctx=n_ctx,
        temperature=0,
        repeat_penalty=1.0,
        max_tokens=tokens,
        chat_format="gemma",
    )
    llama = ours.client
    llama.chat_format = "gemma"  # llama-cpp-python's own Gemma format for the raw contender
    messages = [("human", CHAT[0]["content"])]

    def raw() -> Sample:
        _fresh(llama)
        return timed_stream(
            lambda: llama.create_chat_completion(
                CHAT, max_tokens=tokens, temperature=0, repeat_penalty=1.0, stream=True
            ),
            lambda: _counters(llama),
        )

    def localkit_chat() -> Sample:
        _fresh(llama)
        return timed_stream(lambda: ours.stream(messages), lambda: _counters(llama))

    contenders = [
        Contender("raw llama_cpp create_chat_completion(stream)", raw),
        Contender("localkit ChatLlamaCpp.stream", localkit_chat),
    ]
    notes = []
    try:
        from langchain_community.chat_models import ChatLlamaCpp as CommunityChat
    except ImportError:
        notes.append("community ChatLlamaCpp not measured: install the `compat` extra")
    else:
        community = CommunityChat(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_batch=512,
            rope_freq_base=0.0,
            rope_freq_scale=0.0,
            temperature=0,
            repeat_penalty=1.0,
            max_tokens=tokens,
            verbose=False,
            model_kwargs={"chat_format": "gemma"},
        )
        community_llama = community.client

        def community_chat() -> Sample:
            _fresh(community_llama)
            return timed_stream(
                lambda: community.stream(messages), lambda: _counters(community_llama)
            )

        contenders.append(Contender("community ChatLlamaCpp.stream", community_chat))
    result = run_interleaved(
        f"ChatLlamaCpp.stream vs raw, {model_path.name}, {tokens} tokens, greedy",
        contenders,
        rounds=rounds,
    )
    result.notes.extend(notes)
    return result
