"""The loaded-model cache: one loaded model per (file, load options), shared, with one lock each.

Loading a GGUF costs seconds and gigabytes; wrappers that name the same file with the same load
options share one loaded model. Entries are held weakly (a model is freed when no wrapper uses
it) plus a small strong LRU, so re-running a notebook cell that builds a new wrapper does not
reload the model.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from langchain_localkit._core.errors import ModelBusyError

T = TypeVar("T")


class ModelLock:
    """Serialises use of one loaded model across threads and asyncio tasks.

    A thread that already holds the lock (for example while iterating a stream) and asks for
    it again gets a `ModelBusyError` instead of a deadlock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def acquire(self) -> None:
        """Wait for the model, then hold it."""
        me = threading.get_ident()
        if self._owner == me:
            raise ModelBusyError(
                "This thread is still using this model in an unfinished stream. Finish iterating "
                "(or close) the previous stream before starting another call on the same model."
            )
        self._lock.acquire()
        self._owner = me

    def try_acquire(self) -> bool:
        """Hold the model if no call is using it; whether it is now held."""
        if not self._lock.acquire(blocking=False):
            return False
        self._owner = threading.get_ident()
        return True

    def release(self) -> None:
        """Let the next caller use the model."""
        self._owner = None
        self._lock.release()

    def locked(self) -> bool:
        """Whether a call is using the model now."""
        return self._lock.locked()

    def __enter__(self) -> ModelLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass(eq=False)
class LoadedModel(Generic[T]):
    """A runtime's model object, shared by every wrapper that asked for the same key.

    Attributes:
        key: The cache key (file identity and load options).
        model: The runtime object (e.g. a `llama_cpp.Llama`).
        load_ms: How long loading took.
        lock: Held for the whole of each call that uses `model`.
        state: Free slots for the engine (e.g. cached tokenizer data).
    """

    key: Hashable
    model: T
    load_ms: float
    lock: ModelLock = field(default_factory=ModelLock)
    state: dict[str, Any] = field(default_factory=dict)
    __weakref__: Any = field(init=False, repr=False, default=None)


class ModelCache(Generic[T]):
    """Loads each model once and hands the same `LoadedModel` to every caller.

    Args:
        keep: How many of the most recently used models stay loaded after the last wrapper
            using them is gone (default from `LOCALKIT_KEEP_MODELS`, else 1).
        close: Frees a runtime object. Given, every model still loaded at interpreter exit is
            freed while the runtime's modules still exist (a `llama_cpp.Llama` left to the
            garbage collector at shutdown prints a traceback); a model in use by a thread that
            is still running is left alone.
    """

    def __init__(
        self, keep: int | None = None, *, close: Callable[[T], object] | None = None
    ) -> None:
        self._keep = keep if keep is not None else int(os.environ.get("LOCALKIT_KEEP_MODELS", "1"))
        self._close = close
        if close is not None:
            atexit.register(self.close_all)
        self._lock = threading.Lock()
        self._live: weakref.WeakValueDictionary[Hashable, LoadedModel[T]] = (
            weakref.WeakValueDictionary()
        )
        self._recent: OrderedDict[Hashable, LoadedModel[T]] = OrderedDict()
        self._loading: dict[Hashable, threading.Lock] = {}

    def get_or_load(self, key: Hashable, load: Callable[[], T]) -> tuple[LoadedModel[T], bool]:
        """Return the loaded model for `key`, loading it with `load()` if needed.

        Two threads asking for the same key at once load it once.

        Returns:
            The shared entry, and whether this call loaded it.
        """
        with self._lock:
            entry = self._live.get(key)
            if entry is not None:
                self._touch(key, entry)
                return entry, False
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                entry = self._live.get(key)
                if entry is not None:
                    self._touch(key, entry)
                    return entry, False
            start = time.perf_counter()
            model = load()
            entry = LoadedModel(key=key, model=model, load_ms=(time.perf_counter() - start) * 1e3)
            with self._lock:
                self._live[key] = entry
                self._touch(key, entry)
                self._loading.pop(key, None)
            return entry, True

    def _touch(self, key: Hashable, entry: LoadedModel[T]) -> None:
        if self._keep <= 0:
            return
        self._recent[key] = entry
        self._recent.move_to_end(key)
        while len(self._recent) > self._keep:
            self._recent.popitem(last=False)

    def clear(self) -> None:
        """Forget every model; each is freed once no wrapper holds it."""
        with self._lock:
            self._recent.clear()
            self._live.clear()

    def close_all(self) -> None:
        """Free every loaded model that no call is using now, and forget them all."""
        with self._lock:
            entries = list(self._live.values())
            self._recent.clear()
            self._live.clear()
        if self._close is None:
            return
        for entry in entries:
            if not entry.lock.try_acquire():
                continue
            try:
                self._close(entry.model)
            except Exception:  # noqa: S110 - freeing at exit is best effort
                pass
            finally:
                entry.lock.release()

    def __len__(self) -> int:
        with self._lock:
            return len(self._live)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._live


__all__ = ["LoadedModel", "ModelCache", "ModelLock"]
