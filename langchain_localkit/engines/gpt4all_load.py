"""Loading a GGUF file in the `gpt4all` bindings (2.8.2), offline, or failing with a reason.

The bundled llama.cpp is from July 2024: the architecture is read from the GGUF header first,
and one it cannot load (`gemma3`, `qwen3`, ...) raises `UnsupportedArchitectureError` before
anything is loaded. `allow_download` is off: a path is split into the bindings' directory and
file name, and nothing is fetched (the bindings would otherwise fetch their model list).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from langchain_localkit._core.errors import (
    ModelLoadError,
    RuntimeNotInstalledError,
    UnsupportedArchitectureError,
    llama_cpp_load_reason,
)
from langchain_localkit._core.gguf import GGUFInfo
from langchain_localkit._core.models import ModelCache, ModelHandle
from langchain_localkit._core.stdio import stderr_captured

T = TypeVar("T")

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


def _advice(embedding: bool) -> str:
    if embedding:
        return "Use `LlamaCppEmbeddings` (a current llama.cpp) for this model."
    return "Use `LlamaCpp` / `ChatLlamaCpp` (a current llama.cpp) for this model."


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
            + _advice(embedding),
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

    def bindings_kwargs(self) -> dict[str, Any]:
        """The load options as `gpt4all.GPT4All` takes them (the file aside)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "model_path"
        }


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
    with stderr_captured() as printed:
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
    return (
        f"gpt4all could not load the {what} {path}: {reason}. Either the file is damaged, or "
        f"it needs a newer llama.cpp than gpt4all 2.8.2's (July 2024), which does not know "
        f"newer tokenizers and architectures. {_advice(what == 'embedding model')}"
    )


def _load(options: GPT4AllLoadOptions, path: Path) -> Any:
    gpt4all = import_gpt4all()
    kwargs = options.bindings_kwargs()
    return load_or_raise(
        lambda: gpt4all.GPT4All(path.name, model_path=str(path.parent), verbose=False, **kwargs),
        path,
        lambda built: built.model,
        "model",
    )


_CACHE: ModelCache[Any] = ModelCache()


def new_handle() -> ModelHandle[Any]:
    """A reference into the cache of models loaded in the bindings."""
    return ModelHandle(_CACHE)


def clear_model_cache() -> None:
    """Forget every loaded GPT4All model (each is freed once no wrapper holds it)."""
    _CACHE.clear()


__all__ = [
    "ARCHITECTURES",
    "EMBEDDING_ARCHITECTURES",
    "GPT4AllLoadOptions",
    "check_architecture",
    "clear_model_cache",
    "import_gpt4all",
    "load_or_raise",
    "new_handle",
]
