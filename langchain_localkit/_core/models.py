"""The loaded-model cache: one loaded model per (file, load options), shared, leased per call.

Loading a GGUF costs seconds and gigabytes; wrappers that name the same file with the same load
options share one loaded model. Entries are held weakly (a model is freed when no wrapper uses
it) plus a small strong LRU, so re-running a notebook cell that builds a new wrapper does not
reload the model. A `ModelHandle` is one holder's reference to its entry, taken on first use.
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


PAUSE_PATIENCE_S = 0.5
"""How long a stream may sit unread before another thread's call stops waiting for it and runs
on a spare context of the same weights (where the runtime has one)."""

MAX_SPARES = 4
"""Spare contexts one loaded model may have at once (each costs a KV cache)."""


@dataclass(eq=False)
class _Slot(Generic[T]):
    """One context of a loaded model: the primary, or a spare made on the same weights."""

    model: T
    spare: bool
    held: bool = False
    owner: int | None = None
    """The thread whose call holds the slot; None when free or decoding in a worker thread."""
    paused_since: float | None = None
    """When the holder last handed a token to its reader and has not resumed since."""


class Lease(Generic[T]):
    """One call's hold on a context of a loaded model; release it to let the next call in.

    A stream marks itself paused while its reader has a token and has not asked for the next
    one. A paused stream keeps its context, so it can go on later; a call that would have to
    wait for it runs on a spare context instead (see `LoadedModel.lease`).
    """

    __slots__ = ("_entry", "_slot")

    def __init__(self, entry: LoadedModel[T], slot: _Slot[T]) -> None:
        self._entry = entry
        self._slot: _Slot[T] | None = slot

    @property
    def model(self) -> T:
        """The runtime object this call may use (the primary model or a spare context)."""
        if self._slot is None:
            raise RuntimeError("This lease was released.")
        return self._slot.model

    @property
    def spare(self) -> bool:
        """Whether this call runs on a spare context."""
        return self._slot is not None and self._slot.spare

    def pause(self) -> None:
        """Mark the stream as waiting for its reader (call before each `yield`)."""
        if self._slot is not None:
            self._slot.paused_since = time.monotonic()

    def resume(self) -> None:
        """Mark the stream as decoding again (call after each `yield`)."""
        if self._slot is not None:
            self._slot.paused_since = None

    def hand_off(self) -> None:
        """Say that a worker thread now decodes, so this thread's next call waits for it."""
        if self._slot is not None:
            self._slot.owner = None

    def release(self) -> None:
        """Give the context back (idempotent)."""
        slot, self._slot = self._slot, None
        if slot is not None:
            self._entry._release(slot)

    def __enter__(self) -> Lease[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass(eq=False)
class LoadedModel(Generic[T]):
    """A runtime's model object, shared by every wrapper that asked for the same key.

    Each call holds a `Lease` on one context for its whole length: the primary `model`, or,
    where the runtime can make one (`spawn`), a spare context on the same weights. A call waits
    for a busy context, except when waiting could never end or only ends when someone reads:
    when the context is held by an unfinished stream of the *same* thread (a half-read
    generator, a nested call), or by a stream whose reader has not asked for a token for
    `PAUSE_PATIENCE_S`. Then the call runs on a spare context, and the paused stream can still
    be read to its end later. Spares are freed once the primary is free again.

    Attributes:
        key: The cache key (file identity and load options).
        model: The runtime object (e.g. a `llama_cpp.Llama`).
        load_ms: How long loading took.
        state: Free slots for the engine (e.g. cached tokenizer data).
        spawn: Makes a spare context on `model`'s weights (None: the runtime has none).
        close_spare: Frees a spare context.
    """

    key: Hashable
    model: T
    load_ms: float
    state: dict[str, Any] = field(default_factory=dict)
    spawn: Callable[[T], T] | None = None
    close_spare: Callable[[T], object] | None = None
    _cond: threading.Condition = field(init=False, repr=False, default_factory=threading.Condition)
    _slots: list[_Slot[T]] = field(init=False, repr=False, default_factory=list)
    _making: int = field(init=False, repr=False, default=0)
    __weakref__: Any = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self._slots.append(_Slot(self.model, spare=False))

    @property
    def busy(self) -> bool:
        """Whether a call holds any context of this model now."""
        with self._cond:
            return any(s.held for s in self._slots)

    @property
    def spares(self) -> int:
        """How many spare contexts exist now."""
        with self._cond:
            return sum(s.spare for s in self._slots)

    def lease(self) -> Lease[T]:
        """Wait for a context of this model and hold it (see the class docstring).

        Raises:
            ModelBusyError: This thread already holds every context it could use (unfinished
                streams) and no spare can be made.
        """
        me = threading.get_ident()
        with self._cond:
            while True:
                for slot in self._slots:
                    if not slot.held:
                        slot.held, slot.owner, slot.paused_since = True, me, None
                        return Lease(self, slot)
                mine = all(s.owner == me for s in self._slots)
                now = time.monotonic()
                paused = [now - s.paused_since for s in self._slots if s.paused_since is not None]
                stuck = any(s.owner == me for s in self._slots) or any(
                    p >= PAUSE_PATIENCE_S for p in paused
                )
                can_spawn = self.spawn is not None and (
                    sum(s.spare for s in self._slots) + self._making < MAX_SPARES
                )
                if stuck and can_spawn:
                    self._making += 1
                    break
                if mine:
                    raise ModelBusyError(
                        "This thread holds every context of this model in unfinished streams "
                        f"({len(self._slots)}). Finish iterating (or close) a stream before "
                        "starting another call on the same model."
                    )
                wait = min((PAUSE_PATIENCE_S - p for p in paused), default=PAUSE_PATIENCE_S)
                self._cond.wait(max(wait, 0.01))
        try:
            assert self.spawn is not None
            model = self.spawn(self.model)
        except BaseException:
            with self._cond:
                self._making -= 1
                self._cond.notify_all()
            raise
        slot = _Slot(model, spare=True, held=True, owner=me)
        with self._cond:
            self._making -= 1
            self._slots.append(slot)
        return Lease(self, slot)

    def try_lease_idle(self) -> Lease[T] | None:
        """Hold the primary context if no call uses the model (no waiting); else None."""
        with self._cond:
            if self._making or len(self._slots) > 1 or self._slots[0].held:
                return None
            slot = self._slots[0]
            slot.held, slot.owner = True, threading.get_ident()
            return Lease(self, slot)

    def _release(self, slot: _Slot[T]) -> None:
        with self._cond:
            slot.held, slot.owner, slot.paused_since = False, None, None
            unused: list[_Slot[T]] = []
            if not self._slots[0].held:
                unused = [s for s in self._slots if s.spare and not s.held]
                self._slots = [s for s in self._slots if s not in unused]
            self._cond.notify_all()
        for spare in unused:
            if self.close_spare is not None:
                self.close_spare(spare.model)


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

    def get_or_load(
        self,
        key: Hashable,
        load: Callable[[], T],
        *,
        spawn: Callable[[T], T] | None = None,
        close_spare: Callable[[T], object] | None = None,
    ) -> tuple[LoadedModel[T], bool]:
        """Return the loaded model for `key`, loading it with `load()` if needed.

        Two threads asking for the same key at once load it once. `spawn` and `close_spare`
        make and free spare contexts on the loaded weights (see `LoadedModel`).

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
            entry = LoadedModel(
                key=key,
                model=model,
                load_ms=(time.perf_counter() - start) * 1e3,
                spawn=spawn,
                close_spare=close_spare,
            )
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
            lease = entry.try_lease_idle()
            if lease is None:
                continue
            try:
                self._close(lease.model)
            except Exception:  # noqa: S110 - freeing at exit is best effort
                pass
            finally:
                lease.release()

    def __len__(self) -> int:
        with self._lock:
            return len(self._live)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._live


class ModelHandle(Generic[T]):
    """One holder's reference to a model in a `ModelCache`, taken on first use.

    Concurrent first calls load once. The load time is handed out once (`take_load_ms`), so
    only the first call after this handle loaded the model reports it.

    Args:
        cache: The cache the model lives in.
        spawn: Makes a spare context on the loaded weights (see `LoadedModel`).
        close_spare: Frees a spare context.

    Example:
        >>> cache: ModelCache[str] = ModelCache(keep=0)
        >>> handle = ModelHandle(cache)
        >>> entry, loaded = handle.get(lambda: ("key", lambda: "the model"))
        >>> entry.model, loaded, handle.get(lambda: ("key", str))[1]
        ('the model', True, False)
    """

    def __init__(
        self,
        cache: ModelCache[T],
        *,
        spawn: Callable[[T], T] | None = None,
        close_spare: Callable[[T], object] | None = None,
    ) -> None:
        self._cache = cache
        self._spawn = spawn
        self._close_spare = close_spare
        self._entry: LoadedModel[T] | None = None
        self._lock = threading.Lock()
        self._unreported_load_ms: float | None = None

    @property
    def held(self) -> bool:
        """Whether this handle holds a loaded model."""
        return self._entry is not None

    def get(
        self, prepare: Callable[[], tuple[Hashable, Callable[[], T]]]
    ) -> tuple[LoadedModel[T], bool]:
        """The held entry, taken from the cache (or loaded) when the handle holds none.

        Args:
            prepare: Gives the cache key and the loader. Called under the handle's lock only
                when it holds no entry, so the checks and decisions it makes are paid once.

        Returns:
            The shared entry, and whether this call loaded it.
        """
        entry = self._entry
        if entry is not None:
            return entry, False
        with self._lock:
            if self._entry is not None:
                return self._entry, False
            key, load = prepare()
            entry, loaded = self._cache.get_or_load(
                key, load, spawn=self._spawn, close_spare=self._close_spare
            )
            self._entry = entry
            if loaded:
                self._unreported_load_ms = entry.load_ms
            return entry, loaded

    def take_load_ms(self) -> float | None:
        """How long this handle's load took, once; None afterwards, or if it loaded nothing."""
        load_ms, self._unreported_load_ms = self._unreported_load_ms, None
        return load_ms

    def drop(self) -> None:
        """Let go of the entry; the model is freed when no other holder uses it."""
        with self._lock:
            self._entry = None


__all__ = ["MAX_SPARES", "PAUSE_PATIENCE_S", "Lease", "LoadedModel", "ModelCache", "ModelHandle"]
