"""The llama.cpp engine (llama-cpp-python, in-process): load once, tokenize, generate per token.

Nothing LangChain-specific lives here. The faces (`LlamaCpp`, `ChatLlamaCpp`, embeddings) call
`LlamaCppEngine.stream`, which yields text deltas and ends with a `GenerationInfo`.

Why not `Llama.create_completion`: it re-detokenizes the whole completion on every token
(quadratic in the output length), cannot say whether it stopped on end-of-generation or on a
stop string, and reports no token counts while streaming. Driving `Llama.generate` directly
gives exact counts, decoding that halts at a stop string, per-token cancellation, and timings
from llama.cpp's own perf counters.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import dataclasses
import functools
import inspect
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_localkit._core.errors import (
    ContextOverflowError,
    ModelLoadError,
    RuntimeNotInstalledError,
    llama_cpp_load_reason,
)
from langchain_localkit._core.generation import FinishReason, GenerationInfo
from langchain_localkit._core.gguf import GGUFInfo, read_gguf_info
from langchain_localkit._core.models import LoadedModel, ModelCache
from langchain_localkit._core.timings import Timings
from langchain_localkit.engines.llamacpp_amx import (
    decide_extra_bufts,
    extra_bufts_override,
    install_params_hook,
    rebuild_command,
    supports_extra_bufts_switch,
)

if TYPE_CHECKING:
    import llama_cpp

logger = logging.getLogger("langchain_localkit.llama_cpp")

DEFAULT_N_CTX = 4096
"""Context window used when none is given: the model's training context, capped at this."""

_CACHE: ModelCache[Any] = ModelCache(close=lambda llama: llama.close())
_RECENT_LOG: deque[str] = deque(maxlen=12)
_LOG_STATE: dict[str, Any] = {}
_IMPORT_LOCK = threading.Lock()


def import_llama_cpp() -> Any:
    """Import llama_cpp once, routing llama.cpp's log output to Python `logging`.

    llama.cpp writes its log to stderr; we install a log callback that sends each line to the
    `langchain_localkit.llama_cpp` logger instead, so `verbose=False` is silent and users who
    want the log configure logging as usual.

    Raises:
        RuntimeNotInstalledError: llama-cpp-python is not installed.
    """
    with _IMPORT_LOCK:
        if "module" in _LOG_STATE:
            return _LOG_STATE["module"]
        try:
            import llama_cpp
        except ImportError as e:
            raise RuntimeNotInstalledError(
                "llama-cpp-python", "llamacpp", "Running GGUF models in-process"
            ) from e
        levels = {1: logging.DEBUG, 2: logging.DEBUG, 3: logging.WARNING, 4: logging.ERROR}

        @llama_cpp.llama_log_callback
        def _route(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
            line = text.decode("utf-8", errors="replace").rstrip("\n")
            if not line:
                return
            # level 5 continues the previous line at its level
            lvl = levels.get(level, _LOG_STATE.get("last_level", logging.DEBUG))
            _LOG_STATE["last_level"] = lvl
            if lvl >= logging.WARNING:
                _RECENT_LOG.append(line)
            if logger.isEnabledFor(lvl):
                logger.log(lvl, "%s", line)

        llama_cpp.llama_log_set(_route, ctypes.c_void_p(0))
        _LOG_STATE["callback"] = _route  # keep the ctypes callback alive
        install_params_hook(llama_cpp)
        _LOG_STATE["module"] = llama_cpp
        return llama_cpp


@dataclass(frozen=True)
class LlamaLoadOptions:
    """How to load a GGUF file in llama.cpp. Equal options share one loaded model.

    `n_ctx=None` means the model's training context, capped at `DEFAULT_N_CTX`. RoPE values of
    0 mean "from the model" (llama-cpp-python's convention). `f16_kv=False` asks for an F32 KV
    cache (llama.cpp's default is F16, which is what `f16_kv=True` meant).
    `use_extra_bufts=None` lets `decide_extra_bufts` choose whether weights are repacked into
    CPU-specific layouts (llama.cpp's extra buffer types, AMX included) when loading.
    """

    model_path: str
    n_ctx: int | None = None
    n_batch: int = 512
    n_ubatch: int | None = None
    n_gpu_layers: int = 0
    n_threads: int | None = None
    n_threads_batch: int | None = None
    use_mmap: bool = True
    use_mlock: bool = False
    vocab_only: bool = False
    embedding: bool = False
    logits_all: bool = False
    rope_freq_base: float = 0.0
    rope_freq_scale: float = 0.0
    f16_kv: bool = True
    flash_attn: bool = False
    lora_base: str | None = None
    lora_path: str | None = None
    lora_scale: float = 1.0
    pooling_type: int | None = None
    use_extra_bufts: bool | None = None
    extra: tuple[tuple[str, Any], ...] = ()

    def cache_key(self) -> tuple[Any, ...]:
        """A hashable identity: the file (path, size, mtime) and every load option."""
        p = Path(self.model_path)
        st = p.stat()
        values = tuple(
            (f.name, repr(getattr(self, f.name)) if f.name == "extra" else getattr(self, f.name))
            for f in dataclasses.fields(self)
        )
        return (str(p), st.st_size, st.st_mtime_ns, values)


@dataclass(frozen=True)
class SamplingParams:
    """Per-call generation settings (llama-cpp-python's names and meanings)."""

    max_tokens: int | None = 256
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    typical_p: float = 1.0
    repeat_penalty: float = 1.0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    mirostat_mode: int = 0
    mirostat_tau: float = 5.0
    mirostat_eta: float = 0.1
    seed: int | None = None
    stop: tuple[str, ...] = ()
    grammar: str | None = None
    """A GBNF grammar that every generated token must follow."""
    logits_processor: Any = None


@functools.lru_cache(maxsize=64)
def _compile_grammar(gbnf: str) -> Any:
    llama_cpp = import_llama_cpp()
    try:
        return llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False)
    except ValueError as e:
        raise ValueError(f"Invalid GBNF grammar: {e}\n{gbnf[:500]}") from e


def _sampler_kwargs(params: SamplingParams) -> dict[str, Any]:
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
        "grammar": _compile_grammar(params.grammar) if params.grammar else None,
    }


def _ctx_limit(llm: Any) -> int:
    """Tokens that fit in the context window.

    llama.cpp pads the context (64 becomes 256) but llama-cpp-python's token buffer keeps the
    size asked for, so the smaller of the two is the limit.
    """
    return min(int(llm.n_ctx()), int(llm.input_ids.shape[0]))


def _perf_totals(perf: Any) -> tuple[int, float]:
    """Tokens and ms evaluated so far, from `llama_perf_context` data.

    llama.cpp reports counts as at least 1 even when nothing ran; a zero time means zero.
    A one-token batch counts as "eval" in llama.cpp, so both counters are added up.
    """
    n_p = int(perf.n_p_eval) if perf.t_p_eval_ms > 0 else 0
    n_e = int(perf.n_eval) if perf.t_eval_ms > 0 else 0
    return n_p + n_e, float(perf.t_p_eval_ms) + float(perf.t_eval_ms)


def _control_stop_ids(entry: LoadedModel[Any], stops: Sequence[str]) -> dict[int, str]:
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


def _held_back(text: str, stops: Sequence[str]) -> int:
    """Length of the longest suffix of `text` that could still grow into a stop string."""
    keep = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), keep, -1):
            if text.endswith(s[:n]):
                keep = n
                break
    return keep


class LlamaCppEngine:
    """One GGUF file in llama.cpp, loaded on first use and shared through the model cache.

    Args:
        options: Load options; equal options share one loaded model.

    Example:
        >>> engine = LlamaCppEngine(LlamaLoadOptions("model.gguf"))  # doctest: +SKIP
        >>> for item in engine.stream("Hello", SamplingParams(max_tokens=8)):  # doctest: +SKIP
        ...     print(item)
    """

    def __init__(self, options: LlamaLoadOptions) -> None:
        self.options = options
        self._entry: LoadedModel[Any] | None = None
        self._entry_lock = threading.Lock()
        self._unreported_load_ms: float | None = None

    @property
    def info(self) -> GGUFInfo:
        """The GGUF header (read without loading the model)."""
        return read_gguf_info(self.options.model_path)

    @property
    def model_name(self) -> str:
        """The model's file name."""
        return Path(self.options.model_path).name

    @property
    def is_loaded(self) -> bool:
        """Whether this engine holds a loaded model."""
        return self._entry is not None

    def load(self) -> tuple[LoadedModel[Any], bool]:
        """Load the model (or take it from the cache).

        Returns:
            The shared entry and whether this call loaded it.

        Raises:
            ModelNotFoundError, ModelIsDirectoryError, InvalidModelFileError: Bad file.
            ModelLoadError: llama.cpp refused a file that looked valid.
        """
        entry = self._entry
        if entry is not None:
            return entry, False
        with self._entry_lock:
            if self._entry is not None:
                return self._entry, False
            info = read_gguf_info(self.options.model_path)
            options = self.options
            if options.use_extra_bufts is None:
                decision = decide_extra_bufts(llama_cpp=import_llama_cpp())
                options = dataclasses.replace(options, use_extra_bufts=decision.use_extra_bufts)
            entry, loaded = _CACHE.get_or_load(
                options.cache_key(),
                functools.partial(_load_llama, options, info),
                spawn=_spare_context,
                close_spare=_close_spare,
            )
            self._entry = entry
            if loaded:
                self._unreported_load_ms = entry.load_ms
            return entry, loaded

    def unload(self) -> None:
        """Drop this engine's reference; the model is freed when no other wrapper uses it."""
        with self._entry_lock:
            self._entry = None

    @property
    def llama(self) -> llama_cpp.Llama:
        """The underlying `llama_cpp.Llama` (loads the model if needed)."""
        return self.load()[0].model

    def n_ctx(self) -> int:
        """The context window the model was loaded with."""
        return _ctx_limit(self.llama)

    def tokenize(self, text: str, *, add_bos: bool = True, special: bool = True) -> list[int]:
        """Tokenize `text` as a prompt: BOS added when the model wants it and it is not there.

        Args:
            text: The text.
            add_bos: Add the BOS token if the model's tokenizer asks for it.
            special: Parse special tokens written as text (e.g. `<start_of_turn>`).
        """
        llm = self.llama
        tokens: list[int] = llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
        bos = llm.token_bos()
        if add_bos and bos >= 0 and llm._model.add_bos_token() and tokens[:1] != [bos]:
            tokens.insert(0, bos)
        return tokens

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Text of `tokens` (special tokens omitted)."""
        return bytes(self.llama.detokenize(list(tokens))).decode("utf-8", errors="replace")

    def stream(
        self,
        prompt: str | Sequence[int],
        params: SamplingParams,
        *,
        cancel: threading.Event | None = None,
    ) -> Iterator[str | GenerationInfo]:
        """Generate from `prompt`, yielding text deltas and finally one `GenerationInfo`.

        Decoding halts at the first stop string (which is not yielded), at end of generation,
        at `max_tokens`, or when `cancel` is set. The model is held for the whole iteration;
        closing the iterator early releases it.

        Raises:
            ContextOverflowError: The prompt does not fit the context window (before decoding).
        """
        entry, _ = self.load()
        return self._stream(entry, self._take_load_ms(), prompt, params, cancel)

    def _take_load_ms(self) -> float | None:
        """The load time, once: the first call after this engine loaded the model reports it."""
        load_ms, self._unreported_load_ms = self._unreported_load_ms, None
        return load_ms

    def _stream(
        self,
        entry: LoadedModel[Any],
        load_ms: float | None,
        prompt: str | Sequence[int],
        params: SamplingParams,
        cancel: threading.Event | None,
    ) -> Iterator[str | GenerationInfo]:
        with (
            entry.lease() as lease,
            contextlib.closing(
                self._decode(entry, lease.model, load_ms, prompt, params, cancel)
            ) as items,
        ):
            for item in items:
                lease.pause()
                yield item
                lease.resume()

    def _decode(
        self,
        entry: LoadedModel[Any],
        llm: Any,
        load_ms: float | None,
        prompt: str | Sequence[int],
        params: SamplingParams,
        cancel: threading.Event | None,
    ) -> Generator[str | GenerationInfo, None, None]:
        llama_cpp = import_llama_cpp()
        start = time.perf_counter()
        tokens = self.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
        if not tokens:
            tokens = [llm.token_bos()]
        n_ctx = _ctx_limit(llm)
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
        buf = ctypes.create_string_buffer(256)
        decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
        stops = tuple(s for s in params.stop if s)
        stop_ids = _control_stop_ids(entry, stops)
        pending = ""
        n_out = 0
        finish: FinishReason = "length"
        stop_reason: str | None = None
        first_at: float | None = None
        prompt_n = 0
        prompt_ms = 0.0
        gen = llm.generate(tokens, **_sampler_kwargs(params), temp=params.temperature)
        try:
            for token in gen:
                if first_at is None:
                    first_at = time.perf_counter()
                    prompt_n, prompt_ms = _perf_totals(llama_cpp.llama_perf_context(ctx))
                if is_eog(vocab, token):
                    finish, stop_reason = "stop", "eos"
                    break
                if token in stop_ids:
                    finish, stop_reason = "stop", stop_ids[token]
                    break
                n_out += 1
                n = to_piece(vocab, token, buf, 256, 0, False)
                text = decode(buf.raw[:n]) if n > 0 else ""
                if stops:
                    pending += text
                    hit = min(((pending.find(s), s) for s in stops if s in pending), default=None)
                    if hit is not None:
                        if hit[0] > 0:
                            yield pending[: hit[0]]
                        pending = ""
                        finish, stop_reason = "stop", hit[1]
                        break
                    keep = _held_back(pending, stops)
                    if len(pending) > keep:
                        yield pending[: len(pending) - keep]
                        pending = pending[len(pending) - keep :]
                elif text:
                    yield text
                if n_out >= limit:
                    break
                if cancel is not None and cancel.is_set():
                    finish = "cancelled"
                    break
        finally:
            gen.close()
        # The bytes of a character cut off by max_tokens are dropped, not shown as U+FFFD:
        # llama-cpp-python and llama-server's stream end the same way.
        tail = pending
        if tail and finish != "cancelled":
            yield tail
        end = time.perf_counter()
        total_ms = (end - start) * 1e3
        timings = Timings(
            prompt_tokens=prompt_n,
            prompt_ms=prompt_ms,
            eval_tokens=n_out,
            eval_ms=max(total_ms - prompt_ms, 0.0) if n_out else 0.0,
            cached_tokens=max(len(tokens) - prompt_n, 0),
            load_ms=load_ms,
            ttft_ms=(first_at - start) * 1e3 if first_at is not None else None,
            total_ms=total_ms,
            source="llama.cpp",
        )
        yield GenerationInfo(
            finish_reason=finish,
            stop_reason=stop_reason,
            prompt_tokens=len(tokens),
            completion_tokens=n_out,
            timings=timings,
            model_name=self.model_name,
        )

    def embed(
        self, texts: Sequence[str], *, normalize: bool = True, truncate: bool = True
    ) -> list[list[float]]:
        """Embed `texts` (the model must be loaded with `embedding=True`).

        Token-level outputs (pooling "none") are mean-pooled, so every text gives one vector.

        Raises:
            ContextOverflowError: A text is longer than the batch and `truncate` is False.
        """
        entry, _ = self.load()
        with entry.lease() as lease:
            llm = lease.model
            if not truncate:
                limit = llm.n_batch
                for text in texts:
                    n = len(llm.tokenize(text.encode("utf-8")))
                    if n > limit:
                        raise ContextOverflowError(
                            n, limit, "Split the text, or raise `n_batch`/`n_ctx`."
                        )
            data = llm.embed(list(texts), normalize=False, truncate=True)
        vectors: list[list[float]] = []
        for item in data:
            if item and isinstance(item[0], list):
                n = len(item)
                item = [sum(col) / n for col in zip(*item, strict=True)]
            vec = [float(x) for x in item]
            if normalize:
                norm = sum(x * x for x in vec) ** 0.5
                if norm > 0:
                    vec = [x / norm for x in vec]
            vectors.append(vec)
        return vectors

    def complete(
        self, prompt: str, params: SamplingParams, **extra: Any
    ) -> tuple[dict[str, Any], GenerationInfo]:
        """One non-streaming `create_completion` call, for options only it offers.

        Used for `logprobs`, `echo` and `suffix` (fill-in-the-middle); everything else goes
        through `stream`.
        """
        llama_cpp = import_llama_cpp()
        entry, _ = self.load()
        load_ms = self._take_load_ms()
        with entry.lease() as lease:
            llm = lease.model
            start = time.perf_counter()
            n_prompt = len(self.tokenize(prompt))
            if n_prompt >= _ctx_limit(llm):
                raise ContextOverflowError(n_prompt, _ctx_limit(llm))
            llama_cpp.llama_perf_context_reset(llm.ctx)
            response = llm.create_completion(
                prompt,
                **_sampler_kwargs(params),
                temperature=params.temperature,
                max_tokens=params.max_tokens,
                seed=params.seed if params.seed is not None and params.seed >= 0 else None,
                stop=list(params.stop),
                **extra,
            )
            total_ms = (time.perf_counter() - start) * 1e3
            prompt_n, prompt_ms = _perf_totals(llama_cpp.llama_perf_context(llm.ctx))
        usage = response.get("usage") or {}
        choice = response["choices"][0]
        out = int(usage.get("completion_tokens", 0))
        timings = Timings(
            prompt_tokens=prompt_n,
            prompt_ms=prompt_ms,
            eval_tokens=out,
            eval_ms=max(total_ms - prompt_ms, 0.0) if out else 0.0,
            cached_tokens=max(int(usage.get("prompt_tokens", 0)) - prompt_n, 0),
            load_ms=load_ms,
            total_ms=total_ms,
            source="llama.cpp",
        )
        info = GenerationInfo(
            finish_reason="stop" if choice.get("finish_reason") == "stop" else "length",
            stop_reason=None,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=out,
            timings=timings,
            model_name=self.model_name,
        )
        return choice, info


def _llama_kwargs(options: LlamaLoadOptions, info: GGUFInfo) -> dict[str, Any]:
    llama_cpp = import_llama_cpp()
    n_ctx = options.n_ctx
    if n_ctx is None:
        n_ctx = min(info.context_length or DEFAULT_N_CTX, DEFAULT_N_CTX)
    kwargs: dict[str, Any] = {
        "n_ctx": n_ctx,
        "n_batch": min(options.n_batch, n_ctx) if n_ctx > 0 else options.n_batch,
        "n_gpu_layers": options.n_gpu_layers,
        "use_mmap": options.use_mmap,
        "use_mlock": options.use_mlock,
        "vocab_only": options.vocab_only,
        "embedding": options.embedding,
        "logits_all": options.logits_all,
        "rope_freq_base": options.rope_freq_base,
        "rope_freq_scale": options.rope_freq_scale,
        "flash_attn": options.flash_attn,
        "lora_scale": options.lora_scale,
    }
    optional = {
        "n_ubatch": options.n_ubatch,
        "n_threads": options.n_threads,
        "n_threads_batch": options.n_threads_batch,
        "lora_base": options.lora_base,
        "lora_path": options.lora_path,
        "pooling_type": options.pooling_type,
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    if not options.f16_kv:
        kwargs["type_k"] = kwargs["type_v"] = llama_cpp.GGML_TYPE_F32
    extra = dict(options.extra)
    allowed = set(inspect.signature(llama_cpp.Llama.__init__).parameters) - {"self", "kwargs"}
    unknown = sorted(set(extra) - allowed)
    if unknown:
        raise ValueError(
            f"Unknown llama_cpp.Llama parameter(s) in model_kwargs: {', '.join(unknown)}. "
            f"llama-cpp-python accepts: {', '.join(sorted(allowed))}."
        )
    kwargs.update(extra)
    return kwargs


def _load_llama(options: LlamaLoadOptions, info: GGUFInfo) -> Any:
    llama_cpp = import_llama_cpp()
    kwargs = _llama_kwargs(options, info)
    if options.use_extra_bufts is False and not supports_extra_bufts_switch(llama_cpp):
        raise ModelLoadError(
            "This llama-cpp-python has no `use_extra_bufts` switch (its llama.cpp predates "
            "August 2025), so the model cannot load with llama.cpp's extra buffer types off. "
            "Upgrade llama-cpp-python, or rebuild it without the AMX path:\n  " + rebuild_command()
        )
    _RECENT_LOG.clear()
    try:
        with extra_bufts_override(options.use_extra_bufts):
            return llama_cpp.Llama(model_path=options.model_path, verbose=False, **kwargs)
    except (ValueError, RuntimeError, OSError) as e:
        log = "\n".join(_RECENT_LOG)
        reason = llama_cpp_load_reason(log)
        raise ModelLoadError(
            f"llama.cpp could not load {options.model_path} "
            f"(architecture {info.architecture!r}, GGUF v{info.version}): "
            f"{reason or e}. Check that this llama-cpp-python build supports the architecture "
            "and that the file is not damaged (a newer llama-cpp-python may know it)."
            + (f"\nllama.cpp said:\n{log}" if log else ""),
            options.model_path,
            reason,
        ) from e


def _spare_context(llm: Any) -> Any:
    """A second `llama_cpp.Llama` on `llm`'s loaded weights, with a context of its own.

    It costs a KV cache and compute buffers (tens of milliseconds, no file read), where a
    second `Llama` on the same file would load and repack every weight again. Built from
    llama-cpp-python 0.3's own pieces (`LlamaContext`, `LlamaBatch`) as its `__init__` builds
    them; `Llama.__getstate__` would reload the file, so the object is assembled by hand.
    """
    import numpy

    llama_cpp = import_llama_cpp()
    internals = llama_cpp._internals
    spare = object.__new__(type(llm))
    spare.__dict__.update(llm.__dict__)
    stack = contextlib.ExitStack()
    spare._stack = stack
    spare._ctx = stack.enter_context(
        contextlib.closing(
            internals.LlamaContext(model=llm._model, params=llm.context_params, verbose=False)
        )
    )
    spare._batch = stack.enter_context(
        contextlib.closing(
            internals.LlamaBatch(
                n_tokens=llm.n_batch, embd=0, n_seq_max=llm.context_params.n_ctx, verbose=False
            )
        )
    )
    adapter = getattr(llm, "_lora_adapter", None)
    if adapter is not None:
        adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter)
        scales = (ctypes.c_float * 1)(llm.lora_scale)
        if llama_cpp.llama_set_adapters_lora(spare._ctx.ctx, adapters, 1, scales):
            stack.close()
            raise ModelLoadError(f"llama.cpp could not apply the LoRA adapter {llm.lora_path}")
    spare._candidates = internals.LlamaTokenDataArray(n_vocab=llm._n_vocab)
    spare.n_tokens = 0
    spare._requires_eval = True
    spare.input_ids = numpy.ndarray(llm.input_ids.shape, dtype=llm.input_ids.dtype)
    spare.scores = numpy.ndarray(llm.scores.shape, dtype=llm.scores.dtype)
    spare._mirostat_mu = ctypes.c_float(10.0)
    spare._sampler = None
    spare.cache = None
    spare._chat_handlers = {}
    spare._localkit_weights = llm  # the weights must outlive this context
    return spare


def _close_spare(spare: Any) -> None:
    spare.close()


def clear_model_cache() -> None:
    """Forget every cached llama.cpp model (each is freed when no wrapper holds it)."""
    _CACHE.clear()


__all__ = [
    "DEFAULT_N_CTX",
    "GenerationInfo",
    "LlamaCppEngine",
    "LlamaLoadOptions",
    "SamplingParams",
    "clear_model_cache",
    "import_llama_cpp",
]
