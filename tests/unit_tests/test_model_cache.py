"""The loaded-model cache and the per-call leases on a model's contexts."""

import gc
import threading
import time
from collections.abc import Callable

import pytest

from langchain_localkit import ModelBusyError
from langchain_localkit._core.models import (
    MAX_SPARES,
    PAUSE_PATIENCE_S,
    LoadedModel,
    ModelCache,
    ModelHandle,
)


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


def _entry(spawn: bool = True) -> tuple[LoadedModel[Model], list[str]]:
    closed: list[str] = []
    made = iter(range(1, 100))
    entry: LoadedModel[Model] = LoadedModel(
        key="k",
        model=Model("primary"),
        load_ms=0.0,
        spawn=(lambda m: Model(f"spare{next(made)}")) if spawn else None,
        close_spare=lambda m: closed.append(m.name),
    )
    return entry, closed


def test_leases_serialise_threads() -> None:
    entry, _ = _entry()
    inside = []
    overlaps = []

    def work() -> None:
        with entry.lease() as lease:
            assert not lease.spare  # nobody pauses: every call waits for the one context
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
    assert entry.spares == 0 and not entry.busy


def test_same_thread_call_during_an_unfinished_stream_gets_a_spare_context() -> None:
    entry, closed = _entry()
    stream = entry.lease()  # a half-read stream of this thread
    stream.pause()
    with entry.lease() as call:
        assert call.spare and call.model.name == "spare1"
        assert stream.model.name == "primary"  # the stream keeps its context
    assert entry.spares == 1, "kept while the primary is held: the next call reuses it"
    with entry.lease() as again:
        assert again.model.name == "spare1"
    stream.release()
    assert closed == ["spare1"] and entry.spares == 0 and not entry.busy


def test_same_thread_without_spares_is_refused_not_deadlocked() -> None:
    entry, _ = _entry(spawn=False)
    with entry.lease(), pytest.raises(ModelBusyError, match="unfinished streams"):
        entry.lease()
    assert not entry.busy


def test_spares_are_bounded() -> None:
    entry, _ = _entry()
    held = [entry.lease() for _ in range(MAX_SPARES + 1)]
    assert entry.spares == MAX_SPARES
    with pytest.raises(ModelBusyError):
        entry.lease()
    for lease in held:
        lease.release()
    assert entry.spares == 0


def test_other_thread_waits_for_an_active_call() -> None:
    entry, _ = _entry()
    active = entry.lease()  # decoding: never paused
    got: list[str] = []

    def other() -> None:
        with entry.lease() as lease:
            got.append(lease.model.name)

    t = threading.Thread(target=other)
    t.start()
    time.sleep(PAUSE_PATIENCE_S + 0.3)
    assert not got, "an active call is waited for, however long it takes"
    active.release()
    t.join(5)
    assert got == ["primary"]


def test_other_thread_stops_waiting_for_a_stream_nobody_reads() -> None:
    entry, closed = _entry()
    abandoned = entry.lease()
    abandoned.pause()
    got: list[str] = []

    def other() -> None:
        with entry.lease() as lease:
            got.append(lease.model.name)

    start = time.monotonic()
    t = threading.Thread(target=other)
    t.start()
    t.join(5)
    waited = time.monotonic() - start
    assert got == ["spare1"]
    assert PAUSE_PATIENCE_S * 0.9 <= waited < PAUSE_PATIENCE_S + 1.0
    abandoned.resume()  # the stream is read again: it still has its own context
    assert abandoned.model.name == "primary"
    abandoned.release()
    assert closed == ["spare1"]


def test_handed_off_lease_makes_this_thread_wait_instead_of_failing() -> None:
    entry, _ = _entry(spawn=False)
    lease = entry.lease()
    lease.hand_off()  # a worker thread decodes to the end and releases
    threading.Timer(0.2, lease.release).start()
    start = time.monotonic()
    with entry.lease() as mine:
        assert mine.model.name == "primary"
    assert time.monotonic() - start >= 0.15


def test_a_failed_spare_is_not_counted() -> None:
    def broken(model: Model) -> Model:
        raise RuntimeError("no memory for a KV cache")

    entry: LoadedModel[Model] = LoadedModel(key="k", model=Model("p"), load_ms=0.0, spawn=broken)
    with entry.lease():
        with pytest.raises(RuntimeError, match="KV cache"):
            entry.lease()
        assert entry.spares == 0
    assert not entry.busy


def test_released_lease_cannot_be_used() -> None:
    entry, _ = _entry()
    lease = entry.lease()
    lease.release()
    lease.release()  # idempotent
    with pytest.raises(RuntimeError, match="released"):
        lease.model  # noqa: B018


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
    with busy.lease():
        cache.close_all()
    assert closed == ["idle"]
    assert len(cache) == 0
    assert not idle.busy and not busy.busy


def test_handle_prepares_and_loads_once_for_concurrent_first_calls() -> None:
    cache: ModelCache[Model] = ModelCache(keep=0)
    handle = ModelHandle(cache)
    prepared: list[int] = []

    def prepare() -> tuple[str, Callable[[], Model]]:
        prepared.append(1)
        time.sleep(0.05)
        return "k", lambda: Model("a")

    results: list[tuple[LoadedModel[Model], bool]] = []
    threads = [
        threading.Thread(target=lambda: results.append(handle.get(prepare))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(prepared) == 1 and handle.held
    assert len({id(entry) for entry, _ in results}) == 1
    assert [loaded for _, loaded in results].count(True) == 1


def test_handle_reports_the_load_time_once_and_drops_its_entry() -> None:
    cache: ModelCache[Model] = ModelCache(keep=0)
    handle = ModelHandle(cache)
    entry, loaded = handle.get(lambda: ("k", lambda: Model("a")))
    assert loaded
    assert handle.take_load_ms() == entry.load_ms
    assert handle.take_load_ms() is None
    handle.drop()
    assert not handle.held
    again, loaded = handle.get(lambda: ("k", lambda: Model("b")))
    assert again is entry and not loaded  # still cached: the test holds the entry
    assert handle.take_load_ms() is None


def test_a_second_handle_shares_the_model_without_a_load_time() -> None:
    cache: ModelCache[Model] = ModelCache(keep=0)
    first, second = ModelHandle(cache), ModelHandle(cache)
    entry, _ = first.get(lambda: ("k", lambda: Model("a")))
    other, loaded = second.get(lambda: ("k", lambda: Model("b")))
    assert other is entry and not loaded
    assert second.take_load_ms() is None


def test_handle_passes_spare_contexts_to_the_cache() -> None:
    cache: ModelCache[Model] = ModelCache(keep=0)
    handle = ModelHandle(cache, spawn=lambda m: Model(m.name + "-spare"))
    entry, _ = handle.get(lambda: ("k", lambda: Model("a")))
    with entry.lease(), entry.lease() as spare:  # same thread: the second call gets a spare
        assert spare.spare and spare.model.name == "a-spare"
