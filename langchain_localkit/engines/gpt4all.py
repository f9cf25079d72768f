"""The GPT4All engine: a GGUF file in the `gpt4all` bindings (2.8.2), offline, timed, stoppable.

The bindings return neither token counts nor timings and know no stop strings. The engine
drives `LLModel.prompt_model` itself, with its own callbacks: the prompt callback counts the
prompt tokens as the bundled llama.cpp evaluates them, the response callback counts generated
tokens, watches for stop strings and cancellation (returning False halts decoding), and the
clock around both gives load time, time to first token, prompt and eval times. Loading (and
the architectures the bundled llama.cpp knows) is `gpt4all_load`; its names are importable
from here too.
"""

from __future__ import annotations

import dataclasses
import functools
import queue
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_localkit._core.errors import ContextOverflowError, ModelLoadError
from langchain_localkit._core.generation import FinishReason, GenerationInfo
from langchain_localkit._core.gguf import (
    GGUFInfo,
    check_model_path,
    context_memory_problem,
    read_gguf_info,
)
from langchain_localkit._core.models import Lease
from langchain_localkit._core.timings import Timings
from langchain_localkit.engines.base import CallSettings, InProcessEngine
from langchain_localkit.engines.gpt4all_load import (
    ARCHITECTURES,
    EMBEDDING_ARCHITECTURES,
    GPT4AllLoadOptions,
    _load,
    check_architecture,
    clear_model_cache,
    import_gpt4all,
    load_or_raise,
    new_handle,
)
from langchain_localkit.engines.stops import StopScanner

SOURCE = "gpt4all (measured)"
"""`Timings.source` of GPT4All runs: measured around the bindings' callbacks."""


@dataclass(frozen=True)
class GPT4AllSampling(CallSettings):
    """The sampling of one call (the bindings' names and defaults)."""

    max_tokens: int = 200
    temp: float = 0.7
    top_k: int = 40
    top_p: float = 0.4
    min_p: float = 0.0
    repeat_penalty: float = 1.18
    repeat_last_n: int = 64
    n_batch: int = 8
    stop: tuple[str, ...] = ()

    def sampler_kwargs(self) -> dict[str, Any]:
        """The sampler arguments of the bindings' `prompt_model` (all but the limit and stops)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("max_tokens", "stop")
        }


@dataclass
class _Call:
    """One `stream` call, as its worker thread sees it."""

    prompt: str
    params: GPT4AllSampling
    special: bool
    load_ms: float | None
    cancel: threading.Event | None
    out: queue.SimpleQueue[tuple[str, Any]] = field(default_factory=queue.SimpleQueue)
    consumer_gone: threading.Event = field(default_factory=threading.Event)

    def halted(self) -> bool:
        """Whether decoding should stop: the caller cancelled, or the consumer stopped reading."""
        return self.consumer_gone.is_set() or (self.cancel is not None and self.cancel.is_set())


class GPT4AllEngine(InProcessEngine[GPT4AllLoadOptions]):
    """One GGUF file in the gpt4all bindings, loaded on first use and shared.

    Args:
        options: Load options; equal options share one loaded model.

    Example:
        >>> engine = GPT4AllEngine(GPT4AllLoadOptions("model.gguf"))  # doctest: +SKIP
        >>> for item in engine.stream("Hello", GPT4AllSampling(max_tokens=8)):  # doctest: +SKIP
        ...     print(item)
    """

    supports_grammar = False
    supports_embeddings = False
    _new_handle = staticmethod(new_handle)

    def _read_info(self) -> GGUFInfo:
        """The GGUF header, checked for an architecture the bindings can load."""
        info = read_gguf_info(check_model_path(self.options.model_path))
        check_architecture(info)
        return info

    def _prepare_load(self) -> tuple[Hashable, Callable[[], Any]]:
        info = self.info()
        problem = context_memory_problem(info, self.options.n_ctx)
        if problem is not None:  # the bindings would abort the process
            raise ModelLoadError(
                f"gpt4all cannot load {info.path} as asked: {problem}", info.path, problem
            )
        return self.options.cache_key(), functools.partial(_load_on_device, self.options, info)

    @property
    def gpt4all(self) -> Any:
        """The underlying `gpt4all.GPT4All` (loads the model if needed)."""
        return self.load()[0].model

    def count_tokens(self, text: str) -> int:
        """Tokens in `text` as the bindings tokenize it (BOS excluded).

        The bindings expose no tokenizer, so the text is evaluated (no token is generated)
        and the tokens they ingest are counted: exact, at the cost of a prompt evaluation.
        """
        return self._count_by_evaluation(text)

    def _count_by_evaluation(self, text: str) -> int:
        entry, _ = self.load()
        counted = 0

        def on_prompt(_token: int) -> bool:
            nonlocal counted
            counted += 1
            return True

        with entry.lease() as lease:
            llmodel = lease.model.model
            llmodel._prompt_callback = on_prompt
            try:
                llmodel.prompt_model(text, "%1", lambda *_: False, n_predict=0, reset_context=True)
            finally:
                del llmodel._prompt_callback
        return max(counted - 1, 0)

    def stream(
        self,
        prompt: str,
        params: GPT4AllSampling,
        *,
        special: bool = False,
        cancel: threading.Event | None = None,
    ) -> Iterator[str | GenerationInfo]:
        """Generate: text pieces as they are decoded, then one `GenerationInfo`.

        Decoding runs in a worker thread (as the bindings' own streaming does); it halts at a
        stop string (not returned), at `max_tokens`, or when `cancel` is set or the consumer
        stops reading.

        Args:
            prompt: The text to continue.
            params: Sampling and stop strings.
            special: Parse special-token text (`<|im_start|>`, ...) in the prompt as tokens.
            cancel: Set it to stop decoding.
        """
        entry, _ = self.load()
        call = _Call(prompt, params, special, self._take_load_ms(), cancel)
        lease = entry.lease()
        lease.hand_off()  # the worker decodes to the end on its own: this thread's calls wait
        worker = threading.Thread(
            target=self._run,
            args=(lease, call),
            name="localkit-gpt4all",
            daemon=True,
        )
        try:
            worker.start()
        except BaseException:
            lease.release()
            raise
        try:
            while True:
                kind, value = call.out.get()
                if kind == "text":
                    yield value
                elif kind == "done":
                    yield value
                    return
                else:
                    raise value
        finally:
            call.consumer_gone.set()
            worker.join()

    def _run(self, lease: Lease[Any], call: _Call) -> None:
        try:
            call.out.put(("done", self._decode(lease.model.model, call)))
        except BaseException as e:  # handed to the consumer's thread
            call.out.put(("error", e))
        finally:
            lease.release()

    def _decode(self, llmodel: Any, call: _Call) -> GenerationInfo:
        params = call.params
        scanner = StopScanner(params.stop)
        prompt_tokens = 0
        last_prompt: float | None = None
        first: float | None = None
        generated = 0
        cancelled = False
        overflow: str | None = None

        def on_prompt(_token: int) -> bool:
            nonlocal prompt_tokens, last_prompt
            prompt_tokens += 1
            last_prompt = time.perf_counter()
            return not call.halted()

        def on_token(token: int, piece: str) -> bool:
            nonlocal first, generated, cancelled, overflow
            if token == -1:  # the bindings' way of saying the prompt does not fit
                overflow = piece
                return False
            if first is None:
                first = time.perf_counter()
            generated += 1
            if call.halted():
                cancelled = True
                return False
            ready = scanner.feed(piece)
            if ready:
                call.out.put(("text", ready))
            return scanner.stop is None and generated < params.max_tokens

        started = time.perf_counter()
        llmodel._prompt_callback = on_prompt
        try:
            llmodel.prompt_model(
                call.prompt,
                "%1",
                on_token,
                n_predict=max(params.max_tokens, 0),
                reset_context=True,
                special=call.special,
                **params.sampler_kwargs(),
            )
        finally:
            del llmodel._prompt_callback
        ended = time.perf_counter()
        if scanner.pending and scanner.stop is None:
            call.out.put(("text", scanner.pending))
        if overflow is not None:
            n_ctx = self.options.n_ctx
            raise ContextOverflowError(
                _count_tokens(self.options.model_path, call.prompt, call.special),
                n_ctx,
                f"gpt4all needs the prompt to leave 4 tokens free. Shorten the prompt, or load "
                f"the model with a larger `n_ctx` (now {n_ctx}; the model was trained with "
                f"{self.info().context_length or 'an unknown number of'} tokens).",
            )
        prompt_end = first or last_prompt or ended
        stop_reason = scanner.stop
        finish: FinishReason
        if cancelled:
            finish = "cancelled"
        elif stop_reason is not None or generated < params.max_tokens:
            finish = "stop"
            stop_reason = stop_reason or "eos"
        else:
            finish = "length"
        timings = Timings(
            prompt_tokens=prompt_tokens,
            prompt_ms=(prompt_end - started) * 1000,
            eval_tokens=generated,
            eval_ms=(ended - first) * 1000 if first is not None else 0.0,
            load_ms=call.load_ms,
            ttft_ms=(first - started) * 1000 if first is not None else None,
            total_ms=(ended - started) * 1000 + (call.load_ms or 0.0),
            source=SOURCE,
        )
        return GenerationInfo(
            finish_reason=finish,
            stop_reason=stop_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=generated,
            timings=timings,
            model_name=self.model_name,
        )


def _count_tokens(path: str, text: str, special: bool) -> int | None:
    """Tokens in `text` by the file's vocabulary, read by llama.cpp (None without it).

    The bindings do not say how long a prompt they refuse is; llama-cpp-python, when
    installed, reads the same vocabulary (`vocab_only`: no weights) and counts it.
    """
    try:
        from langchain_localkit.engines.llamacpp_runtime import captured_log, import_llama_cpp

        llama_cpp = import_llama_cpp()
        with captured_log():
            vocab = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    except Exception:
        return None
    try:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=True, special=special))
    except Exception:
        return None
    finally:
        vocab.close()


def _load_on_device(options: GPT4AllLoadOptions, info: GGUFInfo) -> Any:
    """`_load`, with a device the bindings cannot use said as such (not as a damaged file)."""
    try:
        return _load(options, info.path)
    except ModelLoadError as e:
        if options.device in (None, "cpu") or "gpu" not in str(e.reason).lower():
            raise
        raise ModelLoadError(
            f"gpt4all could not load {info.path} on device={options.device!r}: {e.reason}. "
            "The bindings found no GPU they can use here; pass device='cpu' (the default), "
            "or install the GPU drivers gpt4all needs (Vulkan, or CUDA for 'cuda').",
            info.path,
            e.reason,
        ) from e


__all__ = [
    "ARCHITECTURES",
    "EMBEDDING_ARCHITECTURES",
    "SOURCE",
    "GPT4AllEngine",
    "GPT4AllLoadOptions",
    "GPT4AllSampling",
    "check_architecture",
    "clear_model_cache",
    "import_gpt4all",
    "load_or_raise",
]
