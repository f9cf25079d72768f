"""Decoding with llama.cpp token by token: sampling settings, stop strings, counts and timings.

Why not `Llama.create_completion`: it re-detokenizes the whole completion on every token
(quadratic in the output length), cannot say whether it stopped on end-of-generation or on a
stop string, and reports no token counts while streaming. Driving `Llama.generate` directly
gives exact counts, decoding that halts at a stop string, per-token cancellation, and timings
from llama.cpp's own perf counters.
"""

from __future__ import annotations

import codecs
import ctypes
import random
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_localkit._core.errors import ContextOverflowError
from langchain_localkit._core.generation import FinishReason, GenerationInfo
from langchain_localkit._core.models import LoadedModel
from langchain_localkit._core.timings import Timings
from langchain_localkit.engines.base import CallSettings
from langchain_localkit.engines.gbnf import compile_grammar
from langchain_localkit.engines.llamacpp_runtime import import_llama_cpp
from langchain_localkit.engines.llamacpp_speculative import DraftStats, speculative_tokens
from langchain_localkit.engines.stops import StopScanner

SOURCE = "llama.cpp"
"""`Timings.source` of in-process llama.cpp runs: llama.cpp's own perf counters."""


@dataclass(frozen=True)
class SamplingParams(CallSettings):
    """Per-call generation settings (llama-cpp-python's names and meanings)."""

    max_tokens: int | None = 256
    """None or 0 and below: until the context is full."""
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    typical_p: float = 1.0
    repeat_penalty: float = 1.0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    mirostat_mode: int = 0
    """0: off, 1: Mirostat, 2: Mirostat 2.0 (then top-k/top-p/min-p are not used)."""
    mirostat_tau: float = 5.0
    mirostat_eta: float = 0.1
    seed: int | None = None
    """None or negative: a fresh random seed per call."""
    stop: tuple[str, ...] = ()
    grammar: str | None = None
    """A GBNF grammar that every generated token must follow."""
    logits_processor: Any = None
    render_special: bool = False
    """Write special (control) tokens as their text, e.g. gpt-oss's Harmony markers
    (`<|channel|>`, `<|message|>`, `<|end|>`, ...), which llama.cpp otherwise renders as
    nothing. End-of-generation tokens and stop strings that are one control token still end
    decoding without being written. Honoured by `stream` (not by `complete`)."""
    prompt_lookup: int | None = None
    """Prompt-lookup speculative decoding: up to this many tokens guessed from the prompt and
    the reply so far are checked per step (None or 0: off). Honoured by `stream` when no
    `logits_processor` is set."""


def sampler_kwargs(params: SamplingParams) -> dict[str, Any]:
    """The sampler arguments `Llama.generate` and `Llama.create_completion` share."""
    return {
        "top_k": params.top_k,
        "top_p": params.top_p,
        "min_p": params.min_p,
        "typical_p": params.typical_p,
        "repeat_penalty": params.repeat_penalty,
        "frequency_penalty": params.frequency_penalty,
        "presence_penalty": params.presence_penalty,
        "mirostat_mode": params.mirostat_mode,
        "mirostat_tau": params.mirostat_tau,
        "mirostat_eta": params.mirostat_eta,
        "logits_processor": params.logits_processor,
        "grammar": compile_grammar(params.grammar) if params.grammar else None,
    }


def ctx_limit(llm: Any) -> int:
    """Tokens that fit in the context window.

    llama.cpp pads the context (64 becomes 256) but llama-cpp-python's token buffer keeps the
    size asked for, so the smaller of the two is the limit.
    """
    return min(int(llm.n_ctx()), int(llm.input_ids.shape[0]))


def perf_totals(perf: Any) -> tuple[int, float]:
    """Tokens and ms evaluated so far, from `llama_perf_context` data.

    llama.cpp reports counts as at least 1 even when nothing ran; a zero time means zero.
    A one-token batch counts as "eval" in llama.cpp, so both counters are added up.
    """
    n_p = int(perf.n_p_eval) if perf.t_p_eval_ms > 0 else 0
    n_e = int(perf.n_eval) if perf.t_eval_ms > 0 else 0
    return n_p + n_e, float(perf.t_p_eval_ms) + float(perf.t_eval_ms)


def control_stop_ids(entry: LoadedModel[Any], stops: Sequence[str]) -> dict[int, str]:
    """Stop strings that are one control token (e.g. `<end_of_turn>`), by token id.

    Control tokens decode to no text, so a text match would never see them.
    """
    if not stops:
        return {}
    cache: dict[str, int | None] = entry.state.setdefault("control_stop_ids", {})
    llm = entry.model
    found: dict[int, str] = {}
    for s in stops:
        if s not in cache:
            ids = llm.tokenize(s.encode("utf-8"), add_bos=False, special=True)
            is_control = len(ids) == 1 and not llm.detokenize(ids)
            cache[s] = ids[0] if is_control else None
        token = cache[s]
        if token is not None:
            found[token] = s
    return found


def tokenize(llm: Any, text: str, *, add_bos: bool = True, special: bool = True) -> list[int]:
    """Tokenize `text` as a prompt: BOS added when the model wants it and it is not there."""
    tokens: list[int] = llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
    bos = llm.token_bos()
    if add_bos and bos >= 0 and llm._model.add_bos_token() and tokens[:1] != [bos]:
        tokens.insert(0, bos)
    return tokens


def run_info(
    *,
    finish: FinishReason,
    stop_reason: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    perf: tuple[int, float],
    total_ms: float,
    load_ms: float | None,
    ttft_ms: float | None,
    model_name: str,
    drafts: DraftStats | None = None,
) -> GenerationInfo:
    """A run's `GenerationInfo`, its timings from llama.cpp's prompt counters.

    Args:
        finish: Why decoding ended.
        stop_reason: The stop string or "eos" that ended it.
        prompt_tokens: Tokens of the prompt.
        completion_tokens: Tokens generated.
        perf: Prompt tokens evaluated and their ms (`perf_totals`); the rest was cached.
        total_ms: Wall time of the call.
        load_ms: Load time, when the call loaded the model.
        ttft_ms: Time to the first token.
        model_name: The model's name.
        drafts: Guessed and kept tokens, when the call decoded speculatively.
    """
    prompt_n, prompt_ms = perf
    timings = Timings(
        prompt_tokens=prompt_n,
        prompt_ms=prompt_ms,
        eval_tokens=completion_tokens,
        eval_ms=max(total_ms - prompt_ms, 0.0) if completion_tokens else 0.0,
        cached_tokens=max(prompt_tokens - prompt_n, 0),
        load_ms=load_ms,
        ttft_ms=ttft_ms,
        total_ms=total_ms,
        source=SOURCE,
        draft_tokens=drafts.drafted if drafts is not None else 0,
        draft_accepted=drafts.accepted if drafts is not None else 0,
    )
    return GenerationInfo(
        finish_reason=finish,
        stop_reason=stop_reason,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        timings=timings,
        model_name=model_name,
    )


def decode(
    llm: Any,
    tokens: list[int],
    params: SamplingParams,
    *,
    stop_ids: dict[int, str],
    cancel: threading.Event | None,
    start: float,
    load_ms: float | None,
    model_name: str,
    prefill: Callable[[Any, list[int]], None] | None = None,
) -> Generator[str | GenerationInfo, None, None]:
    """Generate after `tokens`: text deltas, then one `GenerationInfo`.

    Args:
        llm: The `llama_cpp.Llama` (or spare context) this call holds.
        tokens: The prompt.
        params: Sampling settings and stop strings.
        stop_ids: Stop strings that are one control token (`control_stop_ids`).
        cancel: Stops decoding when set (checked per token).
        start: When the call started (`time.perf_counter()`).
        load_ms: Load time, when the call loaded the model.
        model_name: The model's name, for the `GenerationInfo`.
        prefill: Brings the context to the whole prompt before sampling (the persistent
            prompt cache restores a saved prefix and evaluates the rest); llama.cpp's perf
            counters, reset just before, count only what it evaluates.

    Raises:
        ContextOverflowError: The prompt does not fit the context window (before decoding).
    """
    llama_cpp = import_llama_cpp()
    if not tokens:
        tokens = [llm.token_bos()]
    n_ctx = ctx_limit(llm)
    if len(tokens) >= n_ctx:
        raise ContextOverflowError(len(tokens), n_ctx)
    room = n_ctx - len(tokens)
    limit = room if not params.max_tokens or params.max_tokens <= 0 else params.max_tokens
    limit = min(limit, room)
    seed = params.seed
    llm.set_seed(seed if seed is not None and seed >= 0 else random.getrandbits(32))
    ctx = llm.ctx
    llama_cpp.llama_perf_context_reset(ctx)

    vocab = llm._model.vocab
    is_eog = llama_cpp.llama_vocab_is_eog
    to_piece = llama_cpp.llama_token_to_piece
    special = bool(params.render_special)
    buf = ctypes.create_string_buffer(256)
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
    scanner = StopScanner(params.stop)
    n_out = 0
    finish: FinishReason = "length"
    stop_reason: str | None = None
    first_at: float | None = None
    perf = (0, 0.0)
    if prefill is not None:
        prefill(llm, tokens)
    sampler = {**sampler_kwargs(params), "temp": params.temperature}
    drafts: DraftStats | None = None
    gen: Generator[int, Any, None]
    if params.prompt_lookup and params.prompt_lookup > 0 and params.logits_processor is None:
        drafts = DraftStats()
        gen = speculative_tokens(
            llm, tokens, sampler, n_draft=params.prompt_lookup, budget=limit, stats=drafts
        )
    else:
        gen = llm.generate(tokens, **sampler)
    try:
        for token in gen:
            if first_at is None:
                first_at = time.perf_counter()
                perf = perf_totals(llama_cpp.llama_perf_context(ctx))
            if is_eog(vocab, token):
                finish, stop_reason = "stop", "eos"
                break
            if token in stop_ids:
                finish, stop_reason = "stop", stop_ids[token]
                break
            n_out += 1
            n = to_piece(vocab, token, buf, len(buf), 0, special)
            if n < 0:  # a piece longer than the buffer (a long special token): -n bytes
                buf = ctypes.create_string_buffer(-n)
                n = to_piece(vocab, token, buf, len(buf), 0, special)
            text = scanner.feed(utf8(buf.raw[:n]) if n > 0 else "")
            if text:
                yield text
            if scanner.stop is not None:
                finish, stop_reason = "stop", scanner.stop
                break
            if n_out >= limit:
                break
            if cancel is not None and cancel.is_set():
                finish = "cancelled"
                break
    finally:
        gen.close()
    # The bytes of a character cut off by max_tokens are dropped, not shown as U+FFFD:
    # llama-cpp-python and llama-server's stream end the same way.
    if scanner.pending and finish != "cancelled":
        yield scanner.pending
    end = time.perf_counter()
    yield run_info(
        finish=finish,
        stop_reason=stop_reason,
        prompt_tokens=len(tokens),
        completion_tokens=n_out,
        perf=perf,
        total_ms=(end - start) * 1e3,
        load_ms=load_ms,
        ttft_ms=(first_at - start) * 1e3 if first_at is not None else None,
        model_name=model_name,
        drafts=drafts,
    )


__all__ = [
    "SOURCE",
    "SamplingParams",
    "control_stop_ids",
    "ctx_limit",
    "decode",
    "perf_totals",
    "run_info",
    "sampler_kwargs",
    "tokenize",
]
