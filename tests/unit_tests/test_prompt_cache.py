"""The persistent prompt cache (`engines/llamacpp_prompt_cache.py`) and `cache_read` usage.

Real llama.cpp on the tiny GGUF, real files in `tmp_path`, real child processes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_localkit import ChatLlamaCpp, LlamaCpp
from langchain_localkit._core.generation import Done, GenerationInfo
from langchain_localkit._core.langchain import usage_metadata
from langchain_localkit._core.paths import CACHE_ENV
from langchain_localkit._core.timings import Timings
from langchain_localkit.engines.llamacpp import (
    LlamaCppEngine,
    LlamaLoadOptions,
    SamplingParams,
    clear_model_cache,
)
from langchain_localkit.engines.llamacpp_prompt_cache import PromptCache, common_prefix
from langchain_localkit.testing import make_tiny_gguf

pytest.importorskip("llama_cpp")

SYSTEM = "hello world " * 50  # about 250 tokens of the tiny model
MIN = 32


def engine(path: Path, cache: PromptCache | None, n_ctx: int = 512) -> LlamaCppEngine:
    e = LlamaCppEngine(LlamaLoadOptions(str(path), n_ctx=n_ctx))
    e.prompt_cache = cache
    return e


def run(e: LlamaCppEngine, prompt: str, max_tokens: int = 12) -> tuple[str, GenerationInfo]:
    parts: list[str] = []
    info: GenerationInfo | None = None
    for item in e.stream(prompt, SamplingParams(temperature=0.0, max_tokens=max_tokens)):
        if isinstance(item, str):
            parts.append(item)
        else:
            info = item
    assert info is not None
    return "".join(parts), info


def fresh(path: Path, cache: PromptCache | None, n_ctx: int = 512) -> LlamaCppEngine:
    """An engine on a newly loaded `Llama` (nothing held in any context)."""
    clear_model_cache()
    return engine(path, cache, n_ctx)


def entries(root: Path) -> list[Path]:
    return sorted(root.glob("*/*.session"))


@pytest.fixture(scope="module")
def reference(tiny_gguf_path: Path) -> dict[str, str]:
    """Greedy replies without any cache, on a fresh context each."""
    out = {}
    for q in ("one", "two"):
        out[q] = run(fresh(tiny_gguf_path, None), SYSTEM + q)[0]
    return out


# --- cache_read in usage ------------------------------------------------------------------------


def test_usage_metadata_reports_cache_read_only_when_some_was_read() -> None:
    assert usage_metadata(10, 2) == {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}
    assert usage_metadata(10, 2, cache_read=7)["input_token_details"] == {"cache_read": 7}
    assert usage_metadata(10, 2, 1, 99) == {
        "input_tokens": 10,
        "output_tokens": 2,
        "total_tokens": 12,
        "input_token_details": {"cache_read": 10},  # never more than the prompt
        "output_token_details": {"reasoning": 1},
    }


def test_generation_info_and_done_count_cached_tokens_as_input_tokens_are_counted() -> None:
    def info(prompt: int, cached: int) -> GenerationInfo:
        return GenerationInfo("stop", "eos", prompt, 3, Timings(cached_tokens=cached), "m")

    assert info(9, 6).usage()["input_token_details"] == {"cache_read": 6}
    assert "input_token_details" not in info(9, 0).usage()
    steps = Done((info(9, 6), info(12, 11)))  # steps of one attempt: the first counts
    assert (steps.input_tokens, steps.cache_read_tokens) == (9, 6)
    retried = Done((info(9, 0), info(9, 8)), attempts=2)
    assert (retried.input_tokens, retried.cache_read_tokens) == (18, 8)


def test_servers_cache_counts_become_cache_read() -> None:
    from langchain_localkit.engines.http.completion import generation_from_final
    from langchain_localkit.engines.http.openai import ChatStreamReader

    final = {
        "stop_type": "eos",
        "tokens_predicted": 3,
        "tokens_evaluated": 40,
        "timings": {"prompt_n": 4, "cache_n": 36, "predicted_n": 3, "predicted_ms": 9.0},
    }
    usage = generation_from_final(final, model_name="m").usage()  # llama-server /completion
    assert (usage["input_tokens"], usage["input_token_details"]) == (40, {"cache_read": 36})
    for chunk in (  # /v1: llama-server's timings, or OpenAI's prompt_tokens_details (vLLM, ...)
        {"timings": {"prompt_n": 4, "cache_n": 36, "predicted_n": 2, "predicted_ms": 9.0}},
        {
            "usage": {"prompt_tokens": 40, "completion_tokens": 2, "total_tokens": 42}
            | {"prompt_tokens_details": {"cached_tokens": 36}}
        },
    ):
        reader = ChatStreamReader(started=time.perf_counter(), model_name="m")
        reader.feed({"choices": [{"delta": {"content": "Hi"}, "finish_reason": "stop"}], **chunk})
        usage = reader.finish().usage()
        assert (usage["input_tokens"], usage["input_token_details"]) == (40, {"cache_read": 36})


def test_chat_reports_the_prefix_it_reused_in_process(tiny_gguf_path: Path) -> None:
    chat = ChatLlamaCpp(model_path=str(tiny_gguf_path), n_ctx=512, temperature=0, max_tokens=4)
    first = chat.invoke([SystemMessage(SYSTEM), HumanMessage("one")])
    second = chat.invoke([SystemMessage(SYSTEM), HumanMessage("two")])
    assert first.usage_metadata and second.usage_metadata
    read = second.usage_metadata.get("input_token_details", {}).get("cache_read", 0)
    assert read > 200
    assert read < second.usage_metadata["input_tokens"]
    timings = second.response_metadata["timings"]
    assert read == timings["cached_tokens"]
    assert second.usage_metadata["input_tokens"] == timings["prompt_tokens"] + read


# --- save and restore ---------------------------------------------------------------------------


def test_a_new_model_restores_the_saved_prompt_and_replies_the_same(
    tiny_gguf_path: Path, tmp_path: Path, reference: dict[str, str]
) -> None:
    cache = PromptCache(tmp_path, min_tokens=MIN)
    cold = fresh(tiny_gguf_path, cache)
    text, info = run(cold, SYSTEM + "one")
    assert text == reference["one"]
    assert info.timings.cached_tokens == 0
    assert info.extra["prompt_cache"]["saved_bytes"] > 0
    assert len(entries(tmp_path)) == 1
    first = cold.llama

    warm = fresh(tiny_gguf_path, cache)
    assert warm.llama is not first
    text, info = run(warm, SYSTEM + "one")
    assert text == reference["one"]
    n = info.prompt_tokens
    assert info.timings.cached_tokens == n - 1  # restored; the last token evaluated again
    assert info.timings.prompt_tokens == 1
    assert info.usage()["input_token_details"] == {"cache_read": n - 1}
    assert info.extra["prompt_cache"]["restored_tokens"] == n - 1

    other = fresh(tiny_gguf_path, cache)
    text, info = run(other, SYSTEM + "two")  # shares the system prompt only
    assert text == reference["two"]
    assert 200 < info.timings.cached_tokens < info.prompt_tokens - 1
    assert info.extra["prompt_cache"]["saved_bytes"] == 0  # it evaluated fewer than MIN


def test_prefill_leaves_the_whole_prompt_evaluated_for_generate(
    tiny_gguf_path: Path, tmp_path: Path
) -> None:
    cache = PromptCache(tmp_path, min_tokens=MIN)
    e = fresh(tiny_gguf_path, cache)
    tokens = e.tokenize(SYSTEM + "one")
    llm = e.llama
    cache.prefill(llm, tokens)
    e2 = fresh(tiny_gguf_path, cache)
    llm2 = e2.llama
    report = cache.prefill(llm2, tokens)
    assert report.restored_tokens == len(tokens) - 1 and report.evaluated_tokens == 1
    assert llm2.n_tokens == len(tokens)
    assert llm2.input_ids[: len(tokens)].tolist() == tokens
    assert not llm2._requires_eval
    again = cache.prefill(llm2, tokens)  # already there: nothing to do
    assert (again.held_tokens, again.evaluated_tokens) == (len(tokens), 0)


def test_the_context_s_own_prefix_is_not_replaced_by_a_disk_state(
    tiny_gguf_path: Path, tmp_path: Path
) -> None:
    cache = PromptCache(tmp_path, min_tokens=MIN)
    e = fresh(tiny_gguf_path, cache)
    run(e, SYSTEM + "one")
    _, info = run(e, SYSTEM + "two")
    report = info.extra["prompt_cache"]
    assert report["held_tokens"] > 200 and report["restored_tokens"] == 0


def test_the_face_parameters(tiny_gguf_path: Path, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "home"))
    llm = LlamaCpp(model_path=str(tiny_gguf_path), prompt_cache=True)
    cache = llm.engine.prompt_cache
    assert cache is not None and cache.root == tmp_path / "home" / "prompt-cache"
    assert (cache.max_bytes, cache.min_tokens) == (2 << 30, 256)
    assert LlamaCpp(model_path=str(tiny_gguf_path)).engine.prompt_cache is None
    chat = ChatLlamaCpp(
        model_path=str(tiny_gguf_path),
        prompt_cache=tmp_path / "mine",
        prompt_cache_max_bytes=10_000_000,
        prompt_cache_min_tokens=64,
    )
    cache = chat.engine.prompt_cache
    assert cache is not None and cache.root == tmp_path / "mine"
    assert (cache.max_bytes, cache.min_tokens) == (10_000_000, 64)
    with pytest.raises(ValueError, match="prompt_cache_max_bytes"):
        LlamaCpp(model_path=str(tiny_gguf_path), prompt_cache_max_bytes=0)


def test_faces_report_cache_read_from_disk(tiny_gguf_path: Path, tmp_path: Path) -> None:
    def chat() -> ChatLlamaCpp:
        clear_model_cache()
        return ChatLlamaCpp(
            model_path=str(tiny_gguf_path),
            n_ctx=512,
            temperature=0,
            max_tokens=6,
            prompt_cache=tmp_path,
            prompt_cache_min_tokens=MIN,
        )

    messages = [SystemMessage(SYSTEM), HumanMessage("one")]
    cold = chat().invoke(messages)
    warm = chat().invoke(messages)
    assert cold.content == warm.content
    assert cold.usage_metadata and warm.usage_metadata
    assert "input_token_details" not in cold.usage_metadata
    assert warm.usage_metadata["input_tokens"] == cold.usage_metadata["input_tokens"]
    assert warm.usage_metadata["input_token_details"] == {
        "cache_read": warm.usage_metadata["input_tokens"] - 1
    }

    def llm() -> LlamaCpp:
        clear_model_cache()
        return LlamaCpp(
            model_path=str(tiny_gguf_path),
            n_ctx=512,
            temperature=0,
            max_tokens=6,
            prompt_cache=tmp_path,
            prompt_cache_min_tokens=MIN,
        )

    cold_info = llm().generate([SYSTEM + "one"]).generations[0][0].generation_info or {}
    info = llm().generate([SYSTEM + "one"]).generations[0][0].generation_info or {}
    assert "input_token_details" not in cold_info["usage"]
    assert cold_info["prompt_cache"]["saved_bytes"] > 0
    assert info["prompt_cache"]["restored_tokens"] > 200
    assert info["usage"]["input_token_details"]["cache_read"] > 200


# --- keys ---------------------------------------------------------------------------------------


def test_states_are_keyed_by_load_options_and_model_content(
    tiny_gguf_path: Path, tmp_path: Path, reference: dict[str, str]
) -> None:
    cache = PromptCache(tmp_path / "cache", min_tokens=MIN)
    run(fresh(tiny_gguf_path, cache), SYSTEM + "one")
    _, info = run(fresh(tiny_gguf_path, cache, n_ctx=1024), SYSTEM + "one")
    assert info.timings.cached_tokens == 0  # another context size: another key
    other_seed = make_tiny_gguf(tmp_path / "seed1.gguf", seed=1)
    _, info = run(fresh(other_seed, cache), SYSTEM + "one")
    assert info.timings.cached_tokens == 0  # same header, other weights
    assert len({p.parent for p in entries(tmp_path / "cache")}) == 3
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(tiny_gguf_path, copy)
    text, info = run(fresh(copy, cache), SYSTEM + "one")
    assert info.timings.cached_tokens == info.prompt_tokens - 1  # same content: same key
    assert text == reference["one"]
    key = json.loads((entries(tmp_path / "cache")[0].parent / "key.json").read_text())
    assert key["context"]["n_ctx"] in (512, 1024)
    assert "n_threads" not in key["context"]


# --- bound --------------------------------------------------------------------------------------


def test_eviction_keeps_the_directory_under_its_bound(tiny_gguf_path: Path, tmp_path: Path) -> None:
    probe = PromptCache(tmp_path / "probe", min_tokens=MIN)
    run(fresh(tiny_gguf_path, probe), SYSTEM + "one")
    size = probe.size()
    cache = PromptCache(tmp_path / "cache", max_bytes=int(size * 2.5), min_tokens=MIN)
    e = fresh(tiny_gguf_path, cache)
    newest: list[Path] = []
    for i in range(5):
        _, info = run(e, f"{i} {i} {i} " + SYSTEM)  # no shared prefix: a new entry each
        assert info.extra["prompt_cache"]["saved_bytes"] > 0
        assert cache.size() <= cache.max_bytes
        newest = entries(tmp_path / "cache")
        assert len(newest) <= 2
    first = f"0 0 0 {SYSTEM}"
    _, info = run(fresh(tiny_gguf_path, cache), first)
    assert info.timings.cached_tokens == 0  # the oldest was evicted
    stale = newest[0].parent / ".tmp-1-dead.session"
    stale.write_bytes(b"x" * 10)
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    cache.evict()
    assert not stale.exists()


def test_a_restore_keeps_an_entry_from_eviction(tiny_gguf_path: Path, tmp_path: Path) -> None:
    probe = PromptCache(tmp_path / "probe", min_tokens=MIN)
    run(fresh(tiny_gguf_path, probe), SYSTEM + "one")
    cache = PromptCache(tmp_path / "cache", max_bytes=int(probe.size() * 2.5), min_tokens=MIN)
    run(fresh(tiny_gguf_path, cache), "a a a " + SYSTEM)
    time.sleep(0.02)
    run(fresh(tiny_gguf_path, cache), "b b b " + SYSTEM)
    time.sleep(0.02)
    _, info = run(fresh(tiny_gguf_path, cache), "a a a " + SYSTEM)  # touched: now the newest
    assert info.timings.cached_tokens > 200
    time.sleep(0.02)
    run(fresh(tiny_gguf_path, cache), "c c c " + SYSTEM)  # evicts b, not a
    _, info = run(fresh(tiny_gguf_path, cache), "a a a " + SYSTEM)
    assert info.timings.cached_tokens > 200


# --- broken files -------------------------------------------------------------------------------


def _saved(tiny_gguf_path: Path, root: Path) -> tuple[PromptCache, Path]:
    cache = PromptCache(root, min_tokens=MIN)
    run(fresh(tiny_gguf_path, cache), SYSTEM + "one")
    (entry,) = entries(root)
    return cache, entry


def _damage_truncated(entry: Path) -> None:
    data = entry.read_bytes()
    entry.write_bytes(data[: len(data) // 2])


def _damage_flipped(entry: Path) -> None:
    data = bytearray(entry.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0xFF
    entry.write_bytes(bytes(data))


def _damage_garbage(entry: Path) -> None:
    entry.write_bytes(os.urandom(4096))


def _damage_empty(entry: Path) -> None:
    entry.write_bytes(b"")


@pytest.mark.parametrize(
    "damage", [_damage_truncated, _damage_flipped, _damage_garbage, _damage_empty]
)
def test_a_damaged_entry_is_ignored_removed_and_replaced(
    tiny_gguf_path: Path,
    tmp_path: Path,
    reference: dict[str, str],
    damage: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache, entry = _saved(tiny_gguf_path, tmp_path)
    damage(entry)
    with caplog.at_level(logging.WARNING, logger="langchain_localkit.llama_cpp"):
        text, info = run(fresh(tiny_gguf_path, cache), SYSTEM + "one")
    assert text == reference["one"]
    assert info.timings.cached_tokens == 0
    assert "prompt cache" in caplog.text
    (replaced,) = entries(tmp_path)
    assert replaced.name == entry.name and replaced.stat().st_size > 4096  # saved again
    text, info = run(fresh(tiny_gguf_path, cache), SYSTEM + "one")
    assert text == reference["one"] and info.timings.cached_tokens > 200


def test_an_entry_from_another_key_is_refused(
    tiny_gguf_path: Path, tmp_path: Path, reference: dict[str, str]
) -> None:
    cache = PromptCache(tmp_path, min_tokens=MIN)
    run(fresh(tiny_gguf_path, cache, n_ctx=1024), SYSTEM + "one")
    (foreign,) = entries(tmp_path)
    e = fresh(tiny_gguf_path, cache)
    target = cache.key_dir(e.llama)
    target.mkdir(parents=True)
    shutil.copy(foreign, target / foreign.name)
    text, info = run(e, SYSTEM + "one")
    assert text == reference["one"] and info.timings.cached_tokens == 0


def test_a_state_llama_cpp_refuses_leaves_a_clean_context(
    tiny_gguf_path: Path, tmp_path: Path, reference: dict[str, str]
) -> None:
    cache, entry = _saved(tiny_gguf_path, tmp_path)
    data = bytearray(entry.read_bytes())
    n = int.from_bytes(data[8:12], "little")
    data[12 + 4 * n :] = bytes(len(data) - 12 - 4 * n)  # the header intact, the state not
    key = entry.parent.name
    crc = zlib.crc32(bytes(data), zlib.crc32(key.encode()))
    entry.unlink()
    bad = entry.parent / f"{entry.name[:24]}-{crc:08x}.session"
    bad.write_bytes(bytes(data))
    e = fresh(tiny_gguf_path, cache)
    run(e, "unrelated words to fill the context " * 3)
    text, info = run(e, SYSTEM + "one")
    assert text == reference["one"]
    assert info.extra["prompt_cache"]["restored_tokens"] == 0
    assert info.timings.cached_tokens <= 1  # the BOS token the context held
    assert not bad.exists()


def test_an_unwritable_cache_costs_nothing_but_a_warning(
    tiny_gguf_path: Path,
    tmp_path: Path,
    reference: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = PromptCache(blocker / "cache", min_tokens=MIN)
    with caplog.at_level(logging.WARNING, logger="langchain_localkit.llama_cpp"):
        text, _ = run(fresh(tiny_gguf_path, cache), SYSTEM + "one")
    assert text == reference["one"]
    assert "could not save" in caplog.text


def test_common_prefix() -> None:
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix([9], [1]) == 0


# --- concurrent processes -----------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, sys
    from langchain_localkit.engines.llamacpp import (
        LlamaCppEngine, LlamaLoadOptions, SamplingParams, clear_model_cache,
    )
    from langchain_localkit.engines.llamacpp_prompt_cache import PromptCache

    model, root, max_bytes, system, worker = sys.argv[1:6]
    cache = PromptCache(root, max_bytes=int(max_bytes), min_tokens=32)
    out = []
    for round in range(4):
        for head in ("a", "b", "c", f"u{worker}{round}"):  # the last one only once: evictions
            clear_model_cache()
            e = LlamaCppEngine(LlamaLoadOptions(model, n_ctx=512))
            e.prompt_cache = cache
            prompt = f"{head} {head} " + system + ("one" if (round + int(worker)) % 2 else "two")
            items = list(e.stream(prompt, SamplingParams(temperature=0.0, max_tokens=8)))
            text = "".join(x for x in items if isinstance(x, str))
            out.append([prompt, text, items[-1].extra["prompt_cache"]["restored_tokens"]])
    print(json.dumps(out))
    """
)


@pytest.mark.timeout(300)
def test_processes_sharing_a_directory_do_not_corrupt_each_other(
    tiny_gguf_path: Path, tmp_path: Path
) -> None:
    probe = PromptCache(tmp_path / "probe", min_tokens=MIN)
    run(fresh(tiny_gguf_path, probe), "a a " + SYSTEM + "one")
    bound = int(probe.size() * 7.5)  # fewer than the 14 prompts: evictions race too
    root = tmp_path / "shared"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tiny_gguf_path), str(root), str(bound), SYSTEM, w],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in ("0", "1")
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=280)
        assert child.returncode == 0, err[-2000:]
        results.extend(json.loads(out.strip().splitlines()[-1]))
    expected: dict[str, str] = {}
    assert sum(1 for *_, restored in results if restored > 200) >= 12  # states were shared
    for prompt, text, _ in results:
        if prompt not in expected:
            expected[prompt] = run(fresh(tiny_gguf_path, None), prompt, max_tokens=8)[0]
        assert text == expected[prompt], prompt
    check = PromptCache(root, max_bytes=bound, min_tokens=MIN)
    assert check.size() <= bound
    assert not list(root.glob("*/.tmp-*"))
    for entry in entries(root):  # every entry left is whole
        key = entry.parent.name
        crc = zlib.crc32(entry.read_bytes(), zlib.crc32(key.encode()))
        assert entry.name.endswith(f"-{crc:08x}.session")


def test_a_model_file_gone_after_loading_costs_nothing_but_a_warning(
    tiny_gguf_path: Path,
    tmp_path: Path,
    reference: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    copy = tmp_path / "gone.gguf"
    shutil.copyfile(tiny_gguf_path, copy)
    e = fresh(copy, PromptCache(tmp_path / "cache", min_tokens=MIN))
    assert e.llama is not None  # loaded (mapped); its file then removed: no key to read
    copy.unlink()
    with caplog.at_level(logging.WARNING, logger="langchain_localkit.llama_cpp"):
        text, info = run(e, SYSTEM + "one")
    assert text == reference["one"] and info.timings.cached_tokens == 0
    assert "lookup failed" in caplog.text
