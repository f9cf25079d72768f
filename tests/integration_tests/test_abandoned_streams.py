"""A stream left half-read never turns into an error or a hang for another call.

Community classes held one `Llama` per wrapper, so an interrupted notebook cell or a generator
kept alive by a traceback did not matter. Ours share the loaded weights; these tests pin the
semantics of `LoadedModel.lease`: a call that would wait on an unread stream runs on a spare
context of the same weights, and the half-read stream can still be read to its end, with the
text it would have had.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from pathlib import Path

import pytest

from langchain_localkit import ChatLlamaCpp, LlamaCpp
from langchain_localkit._core.models import PAUSE_PATIENCE_S

PROMPTS = ("the moon", "the year")


def _tiny(path: Path, **kwargs: object) -> LlamaCpp:
    return LlamaCpp(model_path=str(path), temperature=0, max_tokens=24, seed=1, **kwargs)  # type: ignore[arg-type]


def test_half_read_stream_then_a_call_in_the_same_thread(tiny_gguf_path: Path) -> None:
    llm = _tiny(tiny_gguf_path)
    expected = {p: llm.invoke(p) for p in PROMPTS}
    stream = llm.stream(PROMPTS[0])
    head = [next(stream), next(stream)]
    # a second wrapper on the same file (a re-run notebook cell) and the same wrapper
    assert _tiny(tiny_gguf_path).invoke(PROMPTS[1]) == expected[PROMPTS[1]]
    assert llm.invoke(PROMPTS[1]) == expected[PROMPTS[1]]
    entry = llm.engine.load()[0]
    assert entry.spares == 1, "one spare context, reused while the stream is unfinished"
    assert "".join(head) + "".join(stream) == expected[PROMPTS[0]], "nothing lost"
    assert entry.spares == 0 and not entry.busy


def test_nested_calls_inside_a_stream_loop(tiny_gguf_path: Path) -> None:
    llm = _tiny(tiny_gguf_path)
    expected = {p: llm.invoke(p) for p in PROMPTS}
    outer = []
    for chunk in llm.stream(PROMPTS[0]):
        outer.append(chunk)
        assert llm.invoke(PROMPTS[1]) == expected[PROMPTS[1]]
    assert "".join(outer) == expected[PROMPTS[0]]


def test_abandoned_stream_kept_alive_does_not_block_another_thread(
    tiny_gguf_path: Path,
) -> None:
    llm = _tiny(tiny_gguf_path)
    expected = llm.invoke(PROMPTS[1])
    stream = llm.stream(PROMPTS[0])
    next(stream)  # then nobody reads it, and the generator stays referenced
    answers: list[str] = []
    start = time.monotonic()
    worker = threading.Thread(target=lambda: answers.append(llm.invoke(PROMPTS[1])))
    worker.start()
    worker.join(30)
    elapsed = time.monotonic() - start
    assert answers == [expected]
    assert elapsed < PAUSE_PATIENCE_S + 5, f"waited {elapsed:.1f} s for an unread stream"
    stream.close()


def test_interrupted_stream_in_a_traceback(tiny_gguf_path: Path) -> None:
    """Test the notebook case: the loop died, its frame (and generator) live on in a traceback."""
    llm = _tiny(tiny_gguf_path)
    expected = llm.invoke(PROMPTS[1])

    def cell() -> None:
        for _chunk in llm.stream(PROMPTS[0]):
            raise KeyboardInterrupt

    try:
        cell()
    except KeyboardInterrupt as e:
        kept = e  # what sys.last_value holds in a notebook
    assert llm.invoke(PROMPTS[1]) == expected
    del kept
    gc.collect()
    assert not llm.engine.load()[0].busy


async def test_abandoned_async_stream_does_not_block_the_next_call(tiny_gguf_path: Path) -> None:
    llm = _tiny(tiny_gguf_path)
    expected = await llm.ainvoke(PROMPTS[1])
    stream = llm.astream(PROMPTS[0])
    await anext(stream)  # never closed by the caller
    start = time.monotonic()
    assert await asyncio.wait_for(llm.ainvoke(PROMPTS[1]), 30) == expected
    assert time.monotonic() - start < PAUSE_PATIENCE_S + 5
    await stream.aclose()


def test_chat_face_shares_the_semantics(tiny_gguf_path: Path) -> None:
    chat = ChatLlamaCpp(model_path=str(tiny_gguf_path), temperature=0, max_tokens=16, seed=1)
    expected = chat.invoke("hello").content
    stream = chat.stream("hello")
    head = next(stream).content
    assert chat.invoke("hello").content == expected
    assert head + "".join(str(c.content) for c in stream) == expected


def test_spare_context_keeps_the_load_options(tiny_gguf_path: Path) -> None:
    """Test that a spare decodes like the primary: same context size, same overflow error."""
    from langchain_localkit import ContextOverflowError

    llm = _tiny(tiny_gguf_path, n_ctx=64, n_batch=64)
    stream = llm.stream(PROMPTS[0])
    next(stream)
    with pytest.raises(ContextOverflowError):
        llm.invoke("the moon " * 100)
    assert llm.invoke(PROMPTS[1]) == _tiny(tiny_gguf_path, n_ctx=64, n_batch=64).invoke(PROMPTS[1])
    stream.close()


def test_gpt4all_call_after_a_half_read_stream_answers(tiny_gguf_path: Path) -> None:
    pytest.importorskip("gpt4all")
    from langchain_localkit import GPT4All

    llm = GPT4All(model=str(tiny_gguf_path), temp=0.0, top_k=1, max_tokens=8)
    expected = llm.invoke(PROMPTS[1])
    stream = llm.stream(PROMPTS[0])
    next(stream)
    assert llm.invoke(PROMPTS[1]) == expected  # waits for the bindings' worker, no error
    stream.close()
