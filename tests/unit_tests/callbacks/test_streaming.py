"""The stdout and async-iterator streaming handlers, on scripted models and raw events."""

from __future__ import annotations

import asyncio
import io
import threading
from typing import Any
from uuid import UUID, uuid4

import pytest
from langchain_core.callbacks import StreamingStdOutCallbackHandler as CoreStdOut
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import RunnableConfig, RunnableLambda

from langchain_localkit.callbacks import (
    AsyncIteratorCallbackHandler,
    StreamingStdOutCallbackHandler,
    token_text,
)
from tests.unit_tests.callbacks._fakes import ScriptedChat, ScriptedLLM, ScriptFailed

RESULT = LLMResult(generations=[[ChatGeneration(message=AIMessage(content="x"))]])


def _expected(pieces: list[str], sep: str = "|") -> str:
    return "".join(p + sep for p in pieces if p)


def test_token_text_of_strings_and_content_blocks() -> None:
    assert token_text("abc") == "abc"
    assert token_text("") == ""
    blocks: list[Any] = [
        "a",
        {"type": "text", "text": "b"},
        {"type": "tool_call_chunk", "args": "{"},
        {"type": "reasoning", "reasoning": "hmm"},
    ]
    assert token_text(blocks) == "ab"
    assert token_text(None) == ""


def test_stdout_handler_is_a_drop_in_for_core() -> None:
    handler = StreamingStdOutCallbackHandler("|")
    assert isinstance(handler, CoreStdOut)
    assert handler.run_inline


def test_stdout_matches_llm_stream_exactly() -> None:
    out = io.StringIO()
    llm = ScriptedLLM(tokens=["The", " moon", " ", "is", " far"])
    pieces = list(
        llm.stream("q", config={"callbacks": [StreamingStdOutCallbackHandler("|", file=out)]})
    )
    assert pieces[-1] == ""  # the final chunk carries the figures and no text
    assert out.getvalue() == _expected(pieces) == "The| moon| |is| far|"


def test_stdout_matches_chat_stream_exactly() -> None:
    out = io.StringIO()
    chat = ScriptedChat(tokens=["Neil", " Armstrong", "", "."])
    handler = StreamingStdOutCallbackHandler("|", file=out)
    pieces = [c.content for c in chat.stream("who?", config={"callbacks": [handler]})]
    assert all(isinstance(p, str) for p in pieces)
    assert out.getvalue() == _expected([str(p) for p in pieces]) == "Neil| Armstrong|.|"


def test_stdout_matches_generic_chat_model_stream() -> None:
    out = io.StringIO()
    chat = GenericFakeChatModel(messages=iter(["one two  three"]))
    handler = StreamingStdOutCallbackHandler("/", file=out)
    pieces = [str(c.content) for c in chat.stream("x", config={"callbacks": [handler]})]
    assert out.getvalue() == _expected(pieces, "/")
    assert out.getvalue().replace("/", "") == "one two  three"


async def test_stdout_matches_async_streams() -> None:
    out = io.StringIO()
    handler = StreamingStdOutCallbackHandler("|", file=out)
    llm = ScriptedLLM(tokens=["a", "b", "c"])
    pieces = [p async for p in llm.astream("q", config={"callbacks": [handler]})]
    assert out.getvalue() == _expected(pieces)
    out.truncate(0)
    out.seek(0)
    chat = ScriptedChat(tokens=["x", "y"])
    chunks = [str(c.content) async for c in chat.astream("q", config={"callbacks": [handler]})]
    assert out.getvalue() == _expected(chunks)


def test_stdout_on_invoke_of_a_model_that_streams_internally() -> None:
    out = io.StringIO()
    text = ScriptedLLM(tokens=["x", "y"]).invoke(
        "q", config={"callbacks": [StreamingStdOutCallbackHandler("|", file=out)]}
    )
    assert text == "xy"
    assert out.getvalue() == "x|y|"


def test_stdout_default_is_current_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    handler = StreamingStdOutCallbackHandler()  # created before capture swapped stdout
    list(ScriptedLLM(tokens=["a", "b"]).stream("q", config={"callbacks": [handler]}))
    assert capsys.readouterr().out == "ab"


def test_stdout_end_once_per_run_that_printed() -> None:
    out = io.StringIO()
    handler = StreamingStdOutCallbackHandler("|", end="\n", file=out)
    llm = ScriptedLLM(tokens=["a", "b"])
    llm.invoke("q", config={"callbacks": [handler]})
    llm.invoke("q", config={"callbacks": [handler]})
    ScriptedLLM(tokens=[]).invoke("q", config={"callbacks": [handler]})  # printed nothing
    assert out.getvalue() == "a|b|\na|b|\n"


def test_stdout_end_after_error() -> None:
    out = io.StringIO()
    handler = StreamingStdOutCallbackHandler("|", end="\n", file=out)
    with pytest.raises(ScriptFailed):
        list(
            ScriptedChat(tokens=["a", "b", "c"], fail_after=2).stream(
                "q", config={"callbacks": [handler]}
            )
        )
    assert out.getvalue() == "a|b|\n"


def test_stdout_flushes_each_token() -> None:
    class Recorder(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.flushes = 0

        def flush(self) -> None:
            self.flushes += 1

    out = Recorder()
    list(
        ScriptedLLM(tokens=["a", "b", "c"]).stream(
            "q", config={"callbacks": [StreamingStdOutCallbackHandler(file=out)]}
        )
    )
    assert out.flushes == 3
    quiet = Recorder()
    handler = StreamingStdOutCallbackHandler(file=quiet, flush=False)
    list(ScriptedLLM(tokens=["a", "b"]).stream("q", config={"callbacks": [handler]}))
    assert quiet.flushes == 0


def test_stdout_concurrent_runs_write_whole_tokens() -> None:
    writes: list[str] = []
    lock = threading.Lock()

    class Sink(io.StringIO):
        def write(self, s: str) -> int:
            with lock:
                writes.append(s)
            return len(s)

    handler = StreamingStdOutCallbackHandler("|", end="\n", file=Sink())
    runs = [uuid4() for _ in range(8)]

    def work(run_id: UUID, k: int) -> None:
        for i in range(200):
            handler.on_llm_new_token(f"r{k}t{i}", run_id=run_id)
        handler.on_llm_end(RESULT, run_id=run_id)

    threads = [threading.Thread(target=work, args=(r, k)) for k, r in enumerate(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tokens = [w for w in writes if w != "\n"]
    assert len(tokens) == 8 * 200 and all(w.endswith("|") and w.count("|") == 1 for w in tokens)
    assert writes.count("\n") == 8
    for k in range(8):  # each run's tokens in order
        mine = [w for w in tokens if w.startswith(f"r{k}t")]
        assert mine == [f"r{k}t{i}|" for i in range(200)]


async def _drain(handler: AsyncIteratorCallbackHandler, **kwargs: Any) -> list[str]:
    return [t async for t in handler.aiter(idle_timeout=5, **kwargs)]


async def test_aiter_yields_chat_tokens_and_ends() -> None:
    handler = AsyncIteratorCallbackHandler()
    chat = ScriptedChat(tokens=["Neil", " Armstrong", "", "."])
    task = asyncio.create_task(chat.ainvoke("who?", config={"callbacks": [handler]}))
    tokens = await _drain(handler)
    message = await task
    assert tokens == ["Neil", " Armstrong", "."]
    assert "".join(tokens) == message.content


async def test_aiter_yields_llm_tokens() -> None:
    handler = AsyncIteratorCallbackHandler()
    llm = ScriptedLLM(tokens=["a", "b", "c"], delay=0.001)
    task = asyncio.create_task(llm.ainvoke("q", config={"callbacks": [handler]}))
    assert await _drain(handler) == ["a", "b", "c"]
    assert await task == "abc"


async def test_aiter_matches_astream() -> None:
    handler = AsyncIteratorCallbackHandler()
    chat = GenericFakeChatModel(messages=iter(["to the moon and back"]))

    async def consume() -> list[str]:
        return [str(c.content) async for c in chat.astream("x", config={"callbacks": [handler]})]

    task = asyncio.create_task(consume())
    tokens = await _drain(handler)
    assert tokens == [p for p in await task if p]


async def test_aiter_after_the_run_finished_sees_every_token() -> None:
    handler = AsyncIteratorCallbackHandler()
    await ScriptedLLM(tokens=["x", "y"]).ainvoke("q", config={"callbacks": [handler]})
    assert await _drain(handler) == ["x", "y"]
    assert handler._streams == {}  # consumed and released


async def test_aiter_raises_the_run_error_after_its_tokens() -> None:
    handler = AsyncIteratorCallbackHandler()
    chat = ScriptedChat(tokens=["a", "b", "c"], fail_after=2, delay=0.001)
    task = asyncio.create_task(chat.ainvoke("q", config={"callbacks": [handler]}))
    seen: list[str] = []

    async def consume() -> None:
        async for token in handler.aiter(idle_timeout=5):
            seen.append(token)

    with pytest.raises(ScriptFailed, match="boom"):
        await consume()
    assert seen == ["a", "b"]
    with pytest.raises(ScriptFailed):
        await task


async def test_aiter_survives_an_error_a_chain_recovers_from() -> None:
    handler = AsyncIteratorCallbackHandler()
    failing = ScriptedChat(tokens=["x", "y"], fail_after=1)
    good = ScriptedChat(tokens=["ok", "!"])

    async def recover(question: str, config: RunnableConfig) -> str:
        try:
            return str((await failing.ainvoke(question, config)).content)
        except ScriptFailed:
            return str((await good.ainvoke(question, config)).content)

    # (`with_fallbacks` would do, but langchain-core 1.8 drops the parent run id of the
    # runnables it tries, so they look like separate top-level runs.)
    chain = RunnableLambda(recover)
    task = asyncio.create_task(chain.ainvoke("q", config={"callbacks": [handler]}))
    tokens = await _drain(handler)
    assert await task == "ok!"
    assert tokens == ["x", "ok", "!"]  # the failed attempt's token came first


async def test_aiter_spans_a_chain_with_two_model_calls() -> None:
    handler = AsyncIteratorCallbackHandler()
    first = ScriptedLLM(tokens=["one", " two"])
    second = ScriptedLLM(tokens=[" three"])
    chain = (
        PromptTemplate.from_template("{q}")
        | first
        | RunnableLambda(lambda text: {"q": text})
        | PromptTemplate.from_template("{q}")
        | second
    )
    task = asyncio.create_task(chain.ainvoke({"q": "go"}, config={"callbacks": [handler]}))
    assert await _drain(handler) == ["one", " two", " three"]
    assert await task == " three"


async def test_aiter_by_run_id_separates_concurrent_runs() -> None:
    handler = AsyncIteratorCallbackHandler()
    ids = [uuid4() for _ in range(5)]
    models = [ScriptedChat(tokens=[f"m{k}-{i}" for i in range(20)], delay=0.0005) for k in range(5)]
    tasks = [
        asyncio.create_task(m.ainvoke("q", config={"callbacks": [handler], "run_id": rid}))
        for m, rid in zip(models, ids, strict=True)
    ]
    streams = await asyncio.gather(*(_drain(handler, run_id=rid) for rid in reversed(ids)))
    await asyncio.gather(*tasks)
    for k, tokens in enumerate(reversed(streams)):
        assert tokens == [f"m{k}-{i}" for i in range(20)]
    assert handler._streams == {}


async def test_aiter_takes_sequential_runs_in_order() -> None:
    handler = AsyncIteratorCallbackHandler()
    llm = ScriptedLLM(tokens=["a"])
    await llm.ainvoke("q", config={"callbacks": [handler]})
    await ScriptedLLM(tokens=["b", "c"]).ainvoke("q", config={"callbacks": [handler]})
    assert await _drain(handler) == ["a"]
    assert await _drain(handler) == ["b", "c"]


async def test_aiter_started_before_the_run_waits_for_it() -> None:
    handler = AsyncIteratorCallbackHandler()
    consumer = asyncio.create_task(_drain(handler))
    await asyncio.sleep(0.01)
    assert not consumer.done()
    await ScriptedLLM(tokens=["late"]).ainvoke("q", config={"callbacks": [handler]})
    assert await consumer == ["late"]


async def test_aiter_wakes_from_a_sync_call_in_a_worker_thread() -> None:
    handler = AsyncIteratorCallbackHandler()
    llm = ScriptedLLM(tokens=[f"t{i}" for i in range(30)], delay=0.001)
    consumer = asyncio.create_task(_drain(handler))
    text = await asyncio.to_thread(llm.invoke, "q", config={"callbacks": [handler]})
    assert "".join(await consumer) == text


async def test_aiter_idle_timeout() -> None:
    handler = AsyncIteratorCallbackHandler()
    with pytest.raises(TimeoutError):
        await _drain_with(handler, idle_timeout=0.01)
    assert handler._start_waiters == []


async def _drain_with(handler: AsyncIteratorCallbackHandler, **kwargs: Any) -> list[str]:
    return [t async for t in handler.aiter(**kwargs)]


async def test_same_run_cannot_be_iterated_twice() -> None:
    handler = AsyncIteratorCallbackHandler()
    rid = uuid4()
    handler.on_llm_start({}, ["p"], run_id=rid)
    first = handler.aiter(rid)
    handler.on_llm_new_token("a", run_id=rid)
    assert await anext(first) == "a"
    with pytest.raises(RuntimeError, match="already being iterated"):
        await anext(handler.aiter(rid))
    handler.on_llm_end(RESULT, run_id=rid)
    assert [t async for t in first] == []


async def test_breaking_out_releases_the_run() -> None:
    handler = AsyncIteratorCallbackHandler()
    rid = uuid4()
    handler.on_chat_model_start({}, [[]], run_id=rid)
    for t in "abc":
        handler.on_llm_new_token(t, run_id=rid)
    iterator = handler.aiter()
    assert await anext(iterator) == "a"
    await iterator.aclose()
    handler.on_llm_new_token("d", run_id=rid)  # nobody listens: dropped, not buffered
    assert handler._streams[rid].tokens == type(handler._streams[rid].tokens)()
    handler.on_llm_end(RESULT, run_id=rid)
    assert handler._streams == {}


async def test_nested_runs_go_to_the_top_level_stream() -> None:
    handler = AsyncIteratorCallbackHandler()
    chain, llm = uuid4(), uuid4()
    handler.on_chain_start({}, {}, run_id=chain)
    handler.on_llm_start({}, ["p"], run_id=llm, parent_run_id=chain)
    handler.on_llm_new_token("a", run_id=llm, parent_run_id=chain)
    handler.on_llm_end(RESULT, run_id=llm)
    handler.on_llm_new_token("", run_id=llm)  # empty tokens are skipped
    assert list(handler._streams) == [chain]
    handler.on_chain_end({}, run_id=chain)
    assert await _drain(handler) == ["a"]


async def test_a_model_inside_a_tool_or_retriever_belongs_to_the_caller() -> None:
    handler = AsyncIteratorCallbackHandler()
    chain, tool, retriever, llm = uuid4(), uuid4(), uuid4(), uuid4()
    handler.on_chain_start({}, {}, run_id=chain)
    handler.on_tool_start({}, "x", run_id=tool, parent_run_id=chain)
    handler.on_retriever_start({}, "q", run_id=retriever, parent_run_id=tool)
    handler.on_llm_start({}, ["p"], run_id=llm, parent_run_id=retriever)
    handler.on_llm_new_token("deep", run_id=llm)
    handler.on_llm_error(ValueError("inner"), run_id=llm)  # the retriever recovers
    handler.on_retriever_end([], run_id=retriever)
    handler.on_tool_error(KeyError("tool"), run_id=tool)  # the chain recovers too
    handler.on_chain_end({}, run_id=chain)
    assert await _drain(handler) == ["deep"]


async def test_chain_error_propagates() -> None:
    handler = AsyncIteratorCallbackHandler()
    chain = uuid4()
    handler.on_chain_start({}, {}, run_id=chain)
    handler.on_chain_error(KeyError("bad"), run_id=chain)
    with pytest.raises(KeyError):
        await _drain(handler)


async def test_tokens_without_a_start_event_open_a_stream() -> None:
    handler = AsyncIteratorCallbackHandler()
    rid = uuid4()
    handler.on_llm_new_token([{"type": "text", "text": "blk"}], run_id=rid)
    handler.on_llm_end(RESULT, run_id=rid)
    assert await _drain(handler) == ["blk"]


async def test_unread_runs_are_bounded() -> None:
    handler = AsyncIteratorCallbackHandler(max_pending_runs=3)
    ids = [uuid4() for _ in range(5)]
    for k, rid in enumerate(ids):
        handler.on_llm_start({}, ["p"], run_id=rid)
        handler.on_llm_new_token(str(k), run_id=rid)
        handler.on_llm_end(RESULT, run_id=rid)
    assert list(handler._streams) == ids[2:]
    assert [await _drain(handler) for _ in range(3)] == [["2"], ["3"], ["4"]]
    with pytest.raises(ValueError, match="max_pending_runs"):
        AsyncIteratorCallbackHandler(max_pending_runs=0)


async def test_aiter_by_run_id_registered_before_start() -> None:
    handler = AsyncIteratorCallbackHandler()
    rid = uuid4()
    consumer = asyncio.create_task(_drain(handler, run_id=rid))
    await asyncio.sleep(0)
    other = uuid4()
    handler.on_llm_start({}, ["p"], run_id=other)  # not ours
    handler.on_llm_start({}, ["p"], run_id=rid)
    handler.on_llm_new_token("mine", run_id=rid)
    handler.on_llm_new_token("theirs", run_id=other)
    handler.on_llm_end(RESULT, run_id=rid)
    assert await consumer == ["mine"]
    handler.on_llm_end(RESULT, run_id=other)
    assert await _drain(handler) == ["theirs"]  # the anonymous aiter() skips claimed runs


async def test_producer_thread_and_consumer_loop_stress() -> None:
    handler = AsyncIteratorCallbackHandler()
    ids = [uuid4() for _ in range(4)]

    def produce(rid: UUID, k: int) -> None:
        handler.on_llm_start({}, ["p"], run_id=rid)
        for i in range(300):
            handler.on_llm_new_token(f"{k}:{i}", run_id=rid)
        handler.on_llm_end(RESULT, run_id=rid)

    consumers = [asyncio.create_task(_drain(handler, run_id=rid)) for rid in ids]
    threads = [threading.Thread(target=produce, args=(rid, k)) for k, rid in enumerate(ids)]
    for t in threads:
        t.start()
    results = await asyncio.gather(*consumers)
    for t in threads:
        t.join()
    for k, tokens in enumerate(results):
        assert tokens == [f"{k}:{i}" for i in range(300)]


async def test_task_error_before_any_run_is_raised_not_awaited_forever() -> None:
    handler = AsyncIteratorCallbackHandler()

    async def refuse() -> str:
        raise ValueError("bad input")

    task = asyncio.create_task(refuse())
    with pytest.raises(ValueError, match="bad input"):
        await _drain_with(handler, task=task)
    assert handler._start_waiters == []


async def test_task_that_starts_no_run_ends_the_iteration() -> None:
    handler = AsyncIteratorCallbackHandler()
    task = asyncio.create_task(asyncio.sleep(0.01, result="cached"))
    assert await _drain_with(handler, task=task) == []
    assert await task == "cached"


async def test_task_result_stays_available_and_is_not_cancelled() -> None:
    handler = AsyncIteratorCallbackHandler()
    chat = ScriptedChat(tokens=["a", "b"], delay=0.001)
    task = asyncio.create_task(chat.ainvoke("q", config={"callbacks": [handler]}))
    assert await _drain_with(handler, task=task) == ["a", "b"]
    assert (await task).content == "ab"


async def test_stopping_early_cancels_the_task() -> None:
    handler = AsyncIteratorCallbackHandler()
    llm = ScriptedLLM(tokens=[str(i) for i in range(1000)], delay=0.001)
    task = asyncio.create_task(llm.ainvoke("q", config={"callbacks": [handler]}))
    seen = []
    async for token in handler.aiter(task=task):
        seen.append(token)
        if len(seen) == 3:
            break
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["0", "1", "2"]
    assert handler._streams == {}  # the cancelled run's end released its stream


async def test_idle_timeout_cancels_the_task() -> None:
    handler = AsyncIteratorCallbackHandler()
    llm = ScriptedLLM(tokens=["a", "b"], delay=1.0)
    task = asyncio.create_task(llm.ainvoke("q", config={"callbacks": [handler]}))
    with pytest.raises(TimeoutError):
        await _drain_with(handler, task=task, idle_timeout=0.05)
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_run_error_with_task_is_raised_and_retrieved() -> None:
    handler = AsyncIteratorCallbackHandler()
    chat = ScriptedChat(tokens=["a", "b"], fail_after=1)
    task = asyncio.create_task(chat.ainvoke("q", config={"callbacks": [handler]}))
    seen: list[str] = []

    async def consume() -> None:
        async for token in handler.aiter(task=task):
            seen.append(token)

    with pytest.raises(ScriptFailed):
        await consume()
    await asyncio.sleep(0)
    assert seen == ["a"]
    assert task.done() and not task._log_traceback  # no "exception was never retrieved"
