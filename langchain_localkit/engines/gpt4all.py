"""The GPT4All engine: a GGUF file in the `gpt4all` bindings (2.8.2), offline, timed, stoppable.

The bindings return neither token counts nor timings and know no stop strings. The engine
drives `LLModel.prompt_model` itself, with its own callbacks: the prompt callback counts the
prompt tokens as the bundled llama.cpp evaluates them, the response callback counts generated
tokens, watches for stop strings and cancellation (returning False halts decoding), and the
clock around both gives load time, time to first token, prompt and eval times.

The bundled llama.cpp is from July 2024: the architecture is read from the GGUF header first,
and one it cannot load (`gemma3`, `qwen3`, ...) raises `UnsupportedArchitectureError` before
anything is loaded. `allow_download` is off: a path is split into the bindings' directory and
file name, and nothing is fetched (the bindings would otherwise fetch their model list).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from langchain_localkit._core.errors import (
    ContextOverflowError,
    ModelLoadError,
    RuntimeNotInstalledError,
    UnsupportedArchitectureError,
    llama_cpp_load_reason,
)
from langchain_localkit._core.generation import GenerationInfo
from langchain_localkit._core.gguf import GGUFInfo, check_model_path, read_gguf_info
from langchain_localkit._core.models import Lease, LoadedModel, ModelCache
from langchain_localkit._core.timings import Timings

T = TypeVar("T")

logger = logging.getLogger(__name__)

SOURCE = "gpt4all (measured)"
"""`Timings.source` of GPT4All runs: measured around the bindings' callbacks."""

ARCHITECTURES = frozenset(
    {
        "llama", "falcon", "gpt2", "gptneox", "mpt", "baichuan", "starcoder", "refact", "bert",
        "nomic-bert", "bloom", "stablelm", "qwen", "qwen2", "qwen2moe", "phi2", "phi3",
        "codeshell", "orion", "internlm2", "gemma", "gemma2", "starcoder2", "xverse",
        "command-r", "olmo", "openelm", "deepseek2", "chatglm", "jais",
    }
)  # fmt: skip
"""What gpt4all 2.8.2's llama.cpp loads (`KNOWN_ARCHES` in gpt4all-backend/llamamodel.cpp)."""

EMBEDDING_ARCHITECTURES = frozenset({"bert", "nomic-bert"})
"""Architectures gpt4all 2.8.2 embeds with (`Embed4All`)."""


def import_gpt4all() -> Any:
    """The `gpt4all` module, or a clear error saying how to install it."""
    try:
        import gpt4all
    except ImportError as e:
        raise RuntimeNotInstalledError("gpt4all", "gpt4all", "GPT4All") from e
    return gpt4all


def check_architecture(info: GGUFInfo, *, embedding: bool = False) -> str:
    """The file's architecture, if gpt4all 2.8.2 can load it.

    Raises:
        UnsupportedArchitectureError: The bundled llama.cpp (July 2024) does not know it.
    """
    arch = info.architecture or "unknown"
    allowed = EMBEDDING_ARCHITECTURES if embedding else ARCHITECTURES
    if arch not in allowed:
        what = "embedding" if embedding else "generation"
        raise UnsupportedArchitectureError(
            f"{info.path.name} is a {arch!r} model, which gpt4all 2.8.2 cannot load for "
            f"{what} (its llama.cpp is from July 2024; it knows {', '.join(sorted(allowed))}). "
            + (
                "Use `LlamaCppEmbeddings` (a current llama.cpp) for this model."
                if embedding
                else "Use `LlamaCpp` / `ChatLlamaCpp` (a current llama.cpp) for this model."
            ),
            info.path,
            architecture=arch,
        )
    return arch


@dataclass(frozen=True)
class GPT4AllLoadOptions:
    """How to load a model in the bindings; equal options share one loaded model.

    Attributes:
        model_path: The `.gguf` file.
        n_ctx: Context window in tokens.
        n_threads: CPU threads (None: the bindings' default).
        device: "cpu" (default), "gpu", "kompute", "cuda", ... as the bindings accept.
        ngl: Layers offloaded to a GPU device.
        allow_download: Let the bindings fetch their model list (off: nothing leaves the machine).
    """

    model_path: str
    n_ctx: int = 2048
    n_threads: int | None = None
    device: str | None = "cpu"
    ngl: int = 100
    allow_download: bool = False

    def cache_key(self) -> tuple[Any, ...]:
        """What makes two loads the same: the file (path, size, mtime) and the load options."""
        path = Path(self.model_path).expanduser().resolve()
        stat = path.stat()
        return ("gpt4all", str(path), stat.st_size, stat.st_mtime_ns, self.n_ctx, self.device,
                self.ngl, self.n_threads)  # fmt: skip


@dataclass(frozen=True)
class GPT4AllSampling:
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


_CACHE: ModelCache[Any] = ModelCache()


@contextlib.contextmanager
def _stderr_captured() -> Iterator[Callable[[], str]]:
    """Everything written to the process's stderr (fd 2, C code included) inside the block.

    The bindings' llama.cpp reports why a model did not load only there.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)

        def text() -> str:
            sink.flush()
            sink.seek(0)
            return sink.read().decode("utf-8", errors="replace")

        try:
            yield text
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def load_or_raise(make: Callable[[], T], path: Path, llmodel: Callable[[T], Any], what: str) -> T:
    """Load with `make()`; a load the bindings report as failed raises instead of returning.

    gpt4all 2.8.2 ignores its own "model not loaded" status: a file its llama.cpp cannot read
    (an unknown pre-tokenizer, a damaged tensor) gives an object that answers every prompt
    with an empty string. Here that is a `ModelLoadError` naming the file, the runtime's
    reason (read from what it printed) and what to do.

    Args:
        make: Builds the bindings' object.
        path: The model file (for the message).
        llmodel: The bindings' `LLModel` of what `make` built.
        what: "model" or "embedding model" (for the message).
    """
    pyllmodel = importlib.import_module("gpt4all._pyllmodel")
    with _stderr_captured() as printed:
        try:
            built = make()
        except (RuntimeError, ValueError) as e:
            reason = f"{e}; {llama_cpp_load_reason(printed()) or 'no reason printed'}"
            raise ModelLoadError(_load_message(path, reason, what), path, reason) from e
        log = printed()
    model = llmodel(built)
    if not pyllmodel.llmodel.llmodel_isModelLoaded(model.model):
        with contextlib.suppress(Exception):
            model.close()
        reason = llama_cpp_load_reason(log) or "the bindings printed no reason"
        raise ModelLoadError(_load_message(path, reason, what), path, reason)
    if log:
        sys.stderr.write(log)  # nothing the bindings said is lost
    return built


def _load_message(path: Path, reason: str, what: str) -> str:
    advice = (
        "Use `LlamaCppEmbeddings` (a current llama.cpp) for this model."
        if what == "embedding model"
        else "Use `LlamaCpp` / `ChatLlamaCpp` (a current llama.cpp) for this model."
    )
    return (
        f"gpt4all could not load the {what} {path}: {reason}. Either the file is damaged, or "
        f"it needs a newer llama.cpp than gpt4all 2.8.2's (July 2024), which does not know "
        f"newer tokenizers and architectures. {advice}"
    )


def _load(options: GPT4AllLoadOptions, path: Path) -> Any:
    gpt4all = import_gpt4all()
    return load_or_raise(
        lambda: gpt4all.GPT4All(
            path.name,
            model_path=str(path.parent),
            allow_download=options.allow_download,
            n_threads=options.n_threads,
            device=options.device,
            n_ctx=options.n_ctx,
            ngl=options.ngl,
            verbose=False,
        ),
        path,
        lambda built: built.model,
        "model",
    )


def _held_back(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters could still be the start of a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:n]):
                longest = max(longest, n)
                break
    return longest


class _Halt:
    """Whether decoding should stop: the caller cancelled, or the consumer stopped reading."""

    def __init__(self, cancel: threading.Event | None) -> None:
        self.cancel = cancel
        self.consumer_gone = threading.Event()

    def is_set(self) -> bool:
        return self.consumer_gone.is_set() or (self.cancel is not None and self.cancel.is_set())


class GPT4AllEngine:
    """One GGUF file in the gpt4all bindings, loaded on first use and shared.

    Example:
        >>> engine = GPT4AllEngine(GPT4AllLoadOptions("model.gguf"))  # doctest: +SKIP
        >>> for item in engine.stream("Hello", GPT4AllSampling(max_tokens=8)):  # doctest: +SKIP
        ...     print(item)
    """

    def __init__(self, options: GPT4AllLoadOptions) -> None:
        self.options = options
        self._entry: LoadedModel[Any] | None = None
        self._entry_lock = threading.Lock()
        self._unreported_load_ms: float | None = None

    @property
    def model_name(self) -> str:
        """The model's file name."""
        return Path(self.options.model_path).name

    @functools.cached_property
    def info(self) -> GGUFInfo:
        """The GGUF header, checked for an architecture the bindings can load."""
        path = check_model_path(self.options.model_path)
        info = read_gguf_info(path)
        check_architecture(info)
        return info

    @property
    def is_loaded(self) -> bool:
        """Whether this engine holds a loaded model."""
        return self._entry is not None

    def load(self) -> tuple[LoadedModel[Any], bool]:
        """Load the model (or take it from the cache): the shared entry, and whether this did.

        Raises:
            ModelNotFoundError, ModelIsDirectoryError, InvalidModelFileError: Bad file.
            UnsupportedArchitectureError: The bindings' llama.cpp cannot load this architecture.
            ModelLoadError: The bindings refused a file that looked valid.
        """
        entry = self._entry
        if entry is not None:
            return entry, False
        with self._entry_lock:
            if self._entry is not None:
                return self._entry, False
            path = self.info.path
            entry, loaded = _CACHE.get_or_load(
                self.options.cache_key(), functools.partial(_load, self.options, path)
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
        load_ms, self._unreported_load_ms = self._unreported_load_ms, None
        out: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        halt = _Halt(cancel)
        lease = entry.lease()
        lease.hand_off()  # the worker decodes to the end on its own: this thread's calls wait
        worker = threading.Thread(
            target=self._run,
            args=(lease, prompt, params, special, halt, out, load_ms),
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
                kind, value = out.get()
                if kind == "text":
                    yield value
                elif kind == "done":
                    yield value
                    return
                else:
                    raise value
        finally:
            halt.consumer_gone.set()
            worker.join()

    def _run(
        self,
        lease: Lease[Any],
        prompt: str,
        params: GPT4AllSampling,
        special: bool,
        cancel: _Halt,
        out: queue.SimpleQueue[tuple[str, Any]],
        load_ms: float | None,
    ) -> None:
        try:
            model = lease.model.model
            out.put(("done", self._decode(model, prompt, params, special, cancel, out, load_ms)))
        except BaseException as e:  # handed to the consumer's thread
            out.put(("error", e))
        finally:
            lease.release()

    def _decode(
        self,
        llmodel: Any,
        prompt: str,
        params: GPT4AllSampling,
        special: bool,
        cancel: _Halt,
        out: queue.SimpleQueue[tuple[str, Any]],
        load_ms: float | None,
    ) -> GenerationInfo:
        stops = params.stop
        prompt_tokens = 0
        last_prompt: float | None = None
        first: float | None = None
        generated = 0
        pending = ""
        stop_reason: str | None = None
        cancelled = False
        overflow: str | None = None

        def on_prompt(_token: int) -> bool:
            nonlocal prompt_tokens, last_prompt
            prompt_tokens += 1
            last_prompt = time.perf_counter()
            return not cancel.is_set()

        def on_token(token: int, piece: str) -> bool:
            nonlocal first, generated, pending, stop_reason, cancelled, overflow
            if token == -1:  # the bindings' way of saying the prompt does not fit
                overflow = piece
                return False
            if first is None:
                first = time.perf_counter()
            generated += 1
            if cancel.is_set():
                cancelled = True
                return False
            pending += piece
            if stops:
                hits = [(pending.find(s), s) for s in stops if s and s in pending]
                if hits:
                    at, stop_reason = min(hits)
                    if at:
                        out.put(("text", pending[:at]))
                    pending = ""
                    return False
                keep = _held_back(pending, stops)
                ready, pending = pending[: len(pending) - keep], pending[len(pending) - keep :]
            else:
                ready, pending = pending, ""
            if ready:
                out.put(("text", ready))
            return generated < params.max_tokens

        started = time.perf_counter()
        llmodel._prompt_callback = on_prompt
        try:
            llmodel.prompt_model(
                prompt,
                "%1",
                on_token,
                n_predict=max(params.max_tokens, 0),
                temp=params.temp,
                top_k=params.top_k,
                top_p=params.top_p,
                min_p=params.min_p,
                repeat_penalty=params.repeat_penalty,
                repeat_last_n=params.repeat_last_n,
                n_batch=params.n_batch,
                reset_context=True,
                special=special,
            )
        finally:
            del llmodel._prompt_callback
        ended = time.perf_counter()
        if pending and stop_reason is None:
            out.put(("text", pending))
        if overflow is not None:
            raise ContextOverflowError(None, self.options.n_ctx)
        prompt_end = first or last_prompt or ended
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
            load_ms=load_ms,
            ttft_ms=(first - started) * 1000 if first is not None else None,
            total_ms=(ended - started) * 1000 + (load_ms or 0.0),
            source=SOURCE,
        )
        return GenerationInfo(
            finish_reason=finish,  # type: ignore[arg-type]
            stop_reason=stop_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=generated,
            timings=timings,
            model_name=self.model_name,
        )


def clear_model_cache() -> None:
    """Forget every loaded GPT4All model (each is freed once no wrapper holds it)."""
    _CACHE.clear()


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
]
