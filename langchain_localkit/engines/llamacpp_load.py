"""Loading a GGUF file in llama.cpp: load options, the `llama_cpp.Llama` they build, spare contexts.

Loaded models live in one cache (`clear_model_cache` empties it). A spare context is a second
`llama_cpp.Llama` on the weights of a loaded one, for a call that would otherwise wait on a
paused stream (see `langchain_localkit._core.models`).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_localkit._core.errors import ModelLoadError, llama_cpp_load_reason
from langchain_localkit._core.gguf import GGUFInfo, context_memory_problem
from langchain_localkit._core.models import ModelCache, ModelHandle
from langchain_localkit.engines.llamacpp_amx import (
    extra_bufts_override,
    rebuild_command,
    supports_extra_bufts_switch,
)
from langchain_localkit.engines.llamacpp_runtime import captured_log, import_llama_cpp

DEFAULT_N_CTX = 4096
"""Context window used when none is given: the model's training context, capped at this."""


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
        """A hashable identity: the file (path, size, mtime, inode, ctime), every load option.

        Inode and ctime change when the file is replaced even with its size and mtime kept
        (`cp -p`, `rsync -a`, `tar x`), so another model is never served from the cache.
        """
        p = Path(self.model_path)
        st = p.stat()
        values = tuple(
            (f.name, repr(getattr(self, f.name)) if f.name == "extra" else getattr(self, f.name))
            for f in dataclasses.fields(self)
        )
        return (str(p), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, values)


_DIRECT = (
    "n_gpu_layers", "use_mmap", "use_mlock", "vocab_only", "embedding", "logits_all",
    "rope_freq_base", "rope_freq_scale", "flash_attn", "lora_scale",
)  # fmt: skip
"""Load options passed to `llama_cpp.Llama` as they are."""

_UNLESS_NONE = (
    "n_ubatch", "n_threads", "n_threads_batch", "lora_base", "lora_path", "pooling_type",
)  # fmt: skip
"""Load options passed on only when set (None: llama-cpp-python's default)."""


def _llama_kwargs(options: LlamaLoadOptions, info: GGUFInfo) -> dict[str, Any]:
    """The keyword arguments of `llama_cpp.Llama` for `options` (the model path aside).

    Raises:
        ValueError: `options.extra` names an argument `llama_cpp.Llama` does not take.
    """
    llama_cpp = import_llama_cpp()
    n_ctx = options.n_ctx
    if n_ctx is None:
        n_ctx = min(info.context_length or DEFAULT_N_CTX, DEFAULT_N_CTX)
    kwargs: dict[str, Any] = {
        "n_ctx": n_ctx,
        "n_batch": min(options.n_batch, n_ctx) if n_ctx > 0 else options.n_batch,
    }
    kwargs.update({name: getattr(options, name) for name in _DIRECT})
    optional = {name: getattr(options, name) for name in _UNLESS_NONE}
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
    """A `llama_cpp.Llama` on `options.model_path` (`use_extra_bufts` already decided).

    Raises:
        ModelLoadError: llama.cpp refused the file, with what it logged and why.
    """
    llama_cpp = import_llama_cpp()
    kwargs = _llama_kwargs(options, info)
    n_ctx = int(kwargs["n_ctx"]) or info.context_length or 0
    problem = context_memory_problem(info, n_ctx) if n_ctx > 0 else None
    if problem is not None:
        raise ModelLoadError(
            f"llama.cpp cannot load {options.model_path} as asked: {problem}",
            options.model_path,
            problem,
        )
    if options.use_extra_bufts is False and not supports_extra_bufts_switch(llama_cpp):
        raise ModelLoadError(
            "This llama-cpp-python has no `use_extra_bufts` switch (its llama.cpp predates "
            "August 2025), so the model cannot load with llama.cpp's extra buffer types off. "
            "Upgrade llama-cpp-python, or rebuild it without the AMX path:\n  " + rebuild_command()
        )
    with captured_log() as logged:
        try:
            with extra_bufts_override(options.use_extra_bufts):
                return llama_cpp.Llama(model_path=options.model_path, verbose=False, **kwargs)
        except (ValueError, RuntimeError, OSError) as e:
            log = logged()
            reason = llama_cpp_load_reason(log)
            advice = (
                f"The context did not fit in memory: lower `n_ctx` (asked: {n_ctx})."
                if "failed to initialize the context" in f"{reason} {e}"
                else "Check that this llama-cpp-python build supports the architecture and "
                "that the file is not damaged (a newer llama-cpp-python may know it)."
            )
            raise ModelLoadError(
                f"llama.cpp could not load {options.model_path} "
                f"(architecture {info.architecture!r}, GGUF v{info.version}): "
                f"{reason or e}. {advice}" + (f"\nllama.cpp said:\n{log}" if log else ""),
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


_CACHE: ModelCache[Any] = ModelCache(close=lambda llama: llama.close())


def new_handle() -> ModelHandle[Any]:
    """A reference into the llama.cpp model cache, with spare contexts on shared weights."""
    return ModelHandle(_CACHE, spawn=_spare_context, close_spare=lambda spare: spare.close())


def clear_model_cache() -> None:
    """Forget every cached llama.cpp model (each is freed when no wrapper holds it)."""
    _CACHE.clear()


__all__ = ["DEFAULT_N_CTX", "LlamaLoadOptions", "clear_model_cache", "new_handle"]
