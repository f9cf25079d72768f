"""The loaded-model cache and the per-model lock."""

import gc
import threading
import time

import pytest

from langchain_localkit import ModelBusyError
from langchain_localkit._core.models import ModelCache, ModelLock


class Model:
    def __init__(self, name: str) -> None:
        self.name = name


def test_same_key_loads_once_and_is_shared() -> None:
    cache: ModelCache[Model] = ModelCache(keep=0)
    loads = []

    def load() -> Model:
        loads.append(1)
        return Model("a")

    first, loaded1 = cache.get_or_load("k", load)
    second, loaded2 = cache.get_or_load("k", load)
    assert first is second
    assert (loaded1, loaded2) == (True, False)
    assert len(loads) == 1
    assert first.load_ms >= 0


def test_different_keys_load_separately() -> None:
    cache: ModelCache[Model] = ModelCache(keep=0)
    a, _ = cache.get_or_load("a", lambda: Model("a"))
    b, _ = cache.get_or_load("b", lambda: Model("b"))
    assert a is not b and a.model.name == "a" and b.model.name == "b"


def test_concurrent_requests_load_once() -> None:
    cache: ModelCache[Model] = ModelCache(keep=0)
    loads = []

    def slow_load() -> Model:
        loads.append(1)
        time.sleep(0.2)
        return Model("slow")

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_load("k", slow_load)[0]))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1
    assert all(r is results[0] for r in results)


def test_model_is_freed_when_unused_and_not_kept() -> None:
    cache: ModelCache[Model] = ModelCache(keep=0)
    entry, _ = cache.get_or_load("k", lambda: Model("a"))
    assert "k" in cache
    del entry
    gc.collect()
    assert "k" not in cache


def test_recent_models_are_kept_for_reuse() -> None:
    cache: ModelCache[Model] = ModelCache(keep=1)
    entry, _ = cache.get_or_load("k", lambda: Model("a"))
    first_id = id(entry.model)
    del entry
    gc.collect()
    again, loaded = cache.get_or_load("k", lambda: Model("b"))
    assert loaded is False and id(again.model) == first_id
    cache.get_or_load("other", lambda: Model("c"))  # evicts "k" from the strong LRU
    del again
    gc.collect()
    assert "k" not in cache


def test_failed_load_raises_and_can_be_retried() -> None:
    cache: ModelCache[Model] = ModelCache(keep=0)

    def broken() -> Model:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        cache.get_or_load("k", broken)
    entry, loaded = cache.get_or_load("k", lambda: Model("ok"))
    assert loaded and entry.model.name == "ok"


def test_lock_serialises_threads() -> None:
    lock = ModelLock()
    inside = []
    overlaps = []

    def work() -> None:
        with lock:
            inside.append(1)
            if len(inside) > 1:
                overlaps.append(1)
            time.sleep(0.01)
            inside.pop()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlaps


def test_lock_refuses_reentry_from_the_same_thread() -> None:
    lock = ModelLock()
    with lock, pytest.raises(ModelBusyError, match="unfinished stream"):
        lock.acquire()
    assert not lock.locked()


def test_close_all_frees_idle_models_and_leaves_busy_ones() -> None:
    closed: list[str] = []

    def close(model: Model) -> None:
        if model.name == "broken":
            raise RuntimeError("already freed")
        closed.append(model.name)

    cache: ModelCache[Model] = ModelCache(keep=3, close=close)
    idle, _ = cache.get_or_load("idle", lambda: Model("idle"))
    busy, _ = cache.get_or_load("busy", lambda: Model("busy"))
    cache.get_or_load("broken", lambda: Model("broken"))
    with busy.lock:
        cache.close_all()
    assert closed == ["idle"]
    assert len(cache) == 0
    assert not idle.lock.locked() and not busy.lock.locked()


def test_try_acquire_does_not_wait() -> None:
    lock = ModelLock()
    assert lock.try_acquire()
    assert not lock.try_acquire()
    lock.release()
    assert not lock.locked()
