"""TimingCallbackHandler: reading every runtime's figures, measuring the rest, aggregating."""

from __future__ import annotations

import io
import json
import re
import sys
import threading
import types
from typing import Any, Self
from uuid import UUID, uuid4

import pytest
from langchain_core.callbacks import CallbackManager
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, Generation, LLMResult
from pydantic import model_validator

from langchain_localkit._core.timings import Timings
from langchain_localkit.callbacks import (
    MEASURED,
    RunTimings,
    StreamingStdOutCallbackHandler,
    TimingCallbackHandler,
    TimingSummary,
    TimingTable,
    get_timing_handler,
    timings_from_generation,
    usage_from_generation,
    with_verbose_timing,
)
from langchain_localkit.callbacks.timing import TABLE_COLUMNS
from langchain_localkit.callbacks.timing.report import _percentile
from tests.unit_tests.callbacks._fakes import ScriptedChat, ScriptedLLM, ScriptFailed, figures

OURS = Timings(
    prompt_tokens=12,
    prompt_ms=40.0,
    eval_tokens=20,
    eval_ms=400.0,
    cached_tokens=3,
    load_ms=250.0,
    ttft_ms=45.0,
    total_ms=445.0,
    source="llama.cpp",
)
SERVER = {
    "prompt_n": 10,
    "prompt_ms": 20.0,
    "prompt_per_second": 500.0,
    "predicted_n": 8,
    "predicted_ms": 160.0,
    "predicted_per_second": 50.0,
    "cache_n": 2,
}
OLLAMA = {
    "model_name": "llama3.1:8b",
    "done_reason": "stop",
    "total_duration": 900_000_000,
    "load_duration": 300_000_000,
    "prompt_eval_count": 14,
    "prompt_eval_duration": 100_000_000,
    "eval_count": 25,
    "eval_duration": 500_000_000,
}
USAGE = {"input_tokens": 15, "output_tokens": 20, "total_tokens": 35}


def _llm_gen(info: dict[str, Any] | None) -> Generation:
    return Generation(text="x", generation_info=info)


def _chat_gen(metadata: dict[str, Any], usage: dict[str, int] | None = None) -> ChatGeneration:
    message = AIMessage(
        content="x",
        response_metadata=metadata,
        usage_metadata=UsageMetadata(**usage) if usage else None,  # type: ignore[typeddict-item]
    )
    return ChatGeneration(message=message)


def _result(*gens: Generation) -> LLMResult:
    return LLMResult(generations=[list(gens)])


def _feed(
    handler: TimingCallbackHandler,
    response: LLMResult,
    tokens: list[str] = (),  # type: ignore[assignment]
    *,
    chat: bool = False,
    run_id: UUID | None = None,
) -> UUID:
    rid = run_id or uuid4()
    if chat:
        handler.on_chat_model_start({}, [[]], run_id=rid, metadata={"ls_model_name": "m.gguf"})
    else:
        handler.on_llm_start({}, ["p"], run_id=rid, metadata={"ls_model_name": "m.gguf"})
    for token in tokens:
        handler.on_llm_new_token(token, run_id=rid)
    handler.on_llm_end(response, run_id=rid)
    return rid


def test_reads_our_timings_from_generation_info() -> None:
    gen = _llm_gen({"timings": OURS.to_dict(), "usage": USAGE})
    assert timings_from_generation(gen) == OURS
    assert usage_from_generation(gen) == USAGE


def test_reads_our_timings_from_response_metadata() -> None:
    gen = _chat_gen({"timings": OURS.to_dict()}, USAGE)
    assert timings_from_generation(gen) == OURS
    assert usage_from_generation(gen) == USAGE


def test_reads_a_timings_instance() -> None:
    assert timings_from_generation(_llm_gen({"timings": OURS})) is OURS


def test_reads_a_raw_llama_server_timings_object() -> None:
    t = timings_from_generation(_chat_gen({"timings": SERVER}))
    assert t == Timings.from_llama_server(SERVER)
    assert t is not None and t.eval_tokens_per_second == pytest.approx(50.0)
    assert t.cached_tokens == 2 and t.source == "llama.cpp server"


def test_reads_raw_ollama_durations() -> None:
    for gen in (_chat_gen(OLLAMA), _llm_gen(OLLAMA)):
        t = timings_from_generation(gen)
        assert t is not None
        assert (t.prompt_tokens, t.eval_tokens) == (14, 25)
        assert (t.prompt_ms, t.eval_ms, t.load_ms, t.total_ms) == (100.0, 500.0, 300.0, 900.0)
        assert t.eval_tokens_per_second == pytest.approx(50.0)
        assert t.source == "ollama"
    assert usage_from_generation(_llm_gen(OLLAMA)) == {
        "input_tokens": 14,
        "output_tokens": 25,
        "total_tokens": 39,
    }


def test_no_figures() -> None:
    assert timings_from_generation(_llm_gen(None)) is None
    assert timings_from_generation(_chat_gen({"model_name": "x"})) is None
    assert timings_from_generation(_llm_gen({"timings": "junk"})) is None
    assert usage_from_generation(_llm_gen({"usage": "junk"})) is None


def test_usage_in_openai_names() -> None:
    gen = _llm_gen({"token_usage": {"prompt_tokens": 2, "completion_tokens": 3}})
    assert usage_from_generation(gen) == {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5}


def test_runtime_figures_are_kept_as_reported() -> None:
    handler = TimingCallbackHandler()
    rid = _feed(handler, _result(_llm_gen({"timings": OURS.to_dict(), "usage": USAGE})), ["a"])
    run = handler.last
    assert run is not None and run.run_id == rid
    assert run.timings == OURS  # the runtime's ttft / total win over the handler's clock
    assert run.measured == ()
    assert run.usage == USAGE
    assert run.kind == "llm" and run.model_name == "m.gguf"
    assert handler.get(rid) is run


def test_missing_ttft_and_total_are_measured() -> None:
    handler = TimingCallbackHandler()
    _feed(handler, _result(_chat_gen(OLLAMA | {"total_duration": None})), ["", "a", "b"], chat=True)
    run = handler.last
    assert run is not None
    assert run.measured == ("ttft_ms", "total_ms")
    t = run.timings
    assert t.ttft_ms is not None and t.total_ms is not None and 0 <= t.ttft_ms <= t.total_ms
    assert (t.eval_tokens, t.load_ms, t.source) == (25, 300.0, "ollama")
    assert run.kind == "chat" and run.model_name == "llama3.1:8b"  # the response's own name


def test_everything_measured_when_the_runtime_reports_nothing() -> None:
    handler = TimingCallbackHandler()
    _feed(handler, _result(_llm_gen({"usage": USAGE})), ["a", "b", "c"])
    run = handler.last
    assert run is not None
    t = run.timings
    assert t.source == MEASURED
    assert (t.prompt_tokens, t.eval_tokens) == (15, 20)  # from usage
    assert t.ttft_ms is not None and t.total_ms is not None
    assert t.prompt_ms == t.ttft_ms
    assert t.eval_ms == pytest.approx(t.total_ms - t.ttft_ms)
    assert run.measured == ("prompt_ms", "eval_ms", "ttft_ms", "total_ms")


def test_measured_without_usage_counts_tokens() -> None:
    handler = TimingCallbackHandler()
    _feed(handler, _result(_llm_gen(None)), ["a", "", "b"])
    run = handler.last
    assert run is not None and run.usage is None
    assert run.timings.eval_tokens == 2 and run.timings.prompt_tokens == 0


def test_measured_without_streaming_has_no_ttft() -> None:
    handler = TimingCallbackHandler()
    _feed(handler, _result(_llm_gen({"usage": USAGE})))
    t = handler.runs[0].timings
    assert t.ttft_ms is None and t.prompt_ms == 0.0 and t.total_ms is not None
    assert t.eval_ms == t.total_ms
    assert handler.runs[0].measured == ("eval_ms", "total_ms")


def test_tool_call_chunks_count_as_first_output() -> None:
    from langchain_core.messages import AIMessageChunk
    from langchain_core.messages.tool import tool_call_chunk
    from langchain_core.outputs import ChatGenerationChunk

    handler = TimingCallbackHandler()
    rid = uuid4()
    handler.on_chat_model_start({}, [[]], run_id=rid)
    chunk = ChatGenerationChunk(
        message=AIMessageChunk(content="", tool_call_chunks=[tool_call_chunk(name="f", args="{")])
    )
    handler.on_llm_new_token("", chunk=chunk, run_id=rid)
    handler.on_llm_end(_result(_chat_gen({})), run_id=rid)
    assert handler.runs[0].timings.ttft_ms is not None


def test_several_generations_in_one_run_are_combined() -> None:
    a = Timings(prompt_tokens=5, prompt_ms=10.0, eval_tokens=4, eval_ms=40.0, source="llama.cpp")
    b = Timings(prompt_tokens=0, prompt_ms=0.0, eval_tokens=6, eval_ms=60.0, source="llama.cpp")
    handler = TimingCallbackHandler()
    usage = {"input_tokens": 5, "output_tokens": 4, "total_tokens": 9}
    usage2 = {"input_tokens": 0, "output_tokens": 6, "total_tokens": 6}
    _feed(
        handler,
        _result(
            _llm_gen({"timings": a.to_dict(), "usage": usage}),
            _llm_gen({"timings": b.to_dict(), "usage": usage2}),
        ),
    )
    run = handler.runs[0]
    assert (run.timings.eval_tokens, run.timings.eval_ms) == (10, 100.0)
    assert run.usage == {"input_tokens": 5, "output_tokens": 10, "total_tokens": 15}


def test_usage_from_llm_output() -> None:
    handler = TimingCallbackHandler()
    response = LLMResult(
        generations=[[_llm_gen(None)]],
        llm_output={"token_usage": {"prompt_tokens": 3, "completion_tokens": 7}},
    )
    _feed(handler, response)
    assert handler.runs[0].usage == {"input_tokens": 3, "output_tokens": 7, "total_tokens": 10}


def test_end_without_start_is_still_recorded() -> None:
    handler = TimingCallbackHandler()
    handler.on_llm_end(_result(_llm_gen({"timings": OURS.to_dict()})), run_id=uuid4())
    run = handler.runs[0]
    assert run.timings == OURS and run.measured == ()


def test_errors_are_counted_not_timed() -> None:
    handler = TimingCallbackHandler()
    rid = uuid4()
    handler.on_llm_start({}, ["p"], run_id=rid)
    handler.on_llm_error(RuntimeError("x"), run_id=rid)
    assert handler.runs == [] and handler.failed_runs == 1
    assert handler._pending == {}
    assert handler.summary().failed_runs == 1
    assert "(1 failed)" in handler.report()


def test_model_name_from_serialized_kwargs() -> None:
    handler = TimingCallbackHandler()
    rid = uuid4()
    handler.on_llm_start({"kwargs": {"model": "llama3.1:8b"}}, ["p"], run_id=rid)
    handler.on_llm_end(_result(_llm_gen(None)), run_id=rid)
    assert handler.runs[0].model_name == "llama3.1:8b"


def test_llm_stream_invoke_and_batch() -> None:
    handler = TimingCallbackHandler()
    llm = ScriptedLLM(tokens=["a", "b", "c"], callbacks=[handler])
    list(llm.stream("q"))
    llm.invoke("q")
    llm.batch(["q1", "q2"])
    runs = handler.runs
    assert len(runs) == 4
    for run in runs:
        assert run.timings == figures(["a", "b", "c"])
        assert run.usage == {"input_tokens": 4, "output_tokens": 3, "total_tokens": 7}
        assert run.model_name == "scripted.gguf"


async def test_chat_async_stream_and_invoke() -> None:
    handler = TimingCallbackHandler()
    chat = ScriptedChat(tokens=["x", "y"])
    _ = [c async for c in chat.astream("q", config={"callbacks": [handler]})]
    await chat.ainvoke("q", config={"callbacks": [handler]})
    assert [r.timings for r in handler.runs] == [figures(["x", "y"], prompt_tokens=6)] * 2
    assert all(r.kind == "chat" and r.usage and r.usage["output_tokens"] == 2 for r in handler.runs)


def test_a_model_with_no_figures_is_measured() -> None:
    handler = TimingCallbackHandler()
    chat = GenericFakeChatModel(messages=iter(["one two three"]))
    list(chat.stream("q", config={"callbacks": [handler]}))
    run = handler.runs[0]
    assert run.timings.source == MEASURED and run.timings.eval_tokens == 5
    llm = ScriptedLLM(tokens=["a", "b"], with_figures=False)
    llm.invoke("q", config={"callbacks": [handler]})
    assert handler.runs[1].timings.source == MEASURED
    assert handler.runs[1].timings.eval_tokens == 2  # from the model's usage


def test_failed_model_run_is_counted() -> None:
    handler = TimingCallbackHandler()
    with pytest.raises(ScriptFailed):
        ScriptedChat(fail_after=1).invoke("q", config={"callbacks": [handler]})
    assert handler.failed_runs == 1 and handler.runs == []


def test_shared_by_threads() -> None:
    handler = TimingCallbackHandler()
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(40):
                n = 1 + (k + i) % 5
                t = Timings(prompt_tokens=2, prompt_ms=1.0, eval_tokens=n, eval_ms=n * 2.0)
                rid = uuid4()
                handler.on_llm_start({}, ["p"], run_id=rid)
                for _ in range(n):
                    handler.on_llm_new_token("t", run_id=rid)
                handler.on_llm_end(_result(_llm_gen({"timings": t.to_dict()})), run_id=rid)
        except BaseException as e:  # pragma: no cover - surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    runs = handler.runs
    assert len(runs) == 320 and len({r.run_id for r in runs}) == 320
    assert all(r.timings.eval_tokens_per_second == pytest.approx(500.0) for r in runs)
    assert all(r.timings.ttft_ms is not None for r in runs)
    assert handler._pending == {}


def test_max_runs_keeps_the_latest() -> None:
    handler = TimingCallbackHandler(max_runs=2)
    ids = [_feed(handler, _result(_llm_gen({"timings": OURS.to_dict()}))) for _ in range(3)]
    assert [r.run_id for r in handler.runs] == ids[1:]
    handler.reset()
    assert handler.runs == [] and handler.last is None


def _run(eval_tokens: int, eval_ms: float, ttft: float | None, **kw: Any) -> RunTimings:
    return RunTimings(
        uuid4(),
        Timings(
            prompt_tokens=10,
            prompt_ms=20.0,
            eval_tokens=eval_tokens,
            eval_ms=eval_ms,
            ttft_ms=ttft,
            total_ms=20.0 + eval_ms,
            source="llama.cpp",
            **kw,
        ),
    )


def test_percentile_is_linear_like_numpy() -> None:
    assert _percentile([], 95) is None
    assert _percentile([7.0], 95) == 7.0
    assert _percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert _percentile([10.0, 20.0, 30.0, 40.0, 50.0], 95) == pytest.approx(48.0)
    assert _percentile([3.0, 1.0, 2.0], 100) == 3.0


def test_summary_counts_sums_medians_and_p95() -> None:
    runs = [
        _run(10, 1000.0, 100.0, load_ms=500.0),  # 10 t/s
        _run(20, 1000.0, 50.0),  # 20 t/s
        _run(30, 1000.0, 30.0),  # 30 t/s
        _run(40, 1000.0, None),  # 40 t/s
    ]
    s = TimingSummary.of(runs, failed_runs=1)
    assert (s.runs, s.failed_runs) == (4, 1)
    assert (s.totals.eval_tokens, s.totals.eval_ms) == (100, 4000.0)
    assert (s.totals.prompt_tokens, s.totals.prompt_ms) == (40, 80.0)
    assert s.totals.load_ms == 500.0 and s.totals.total_ms == 4080.0
    assert s.totals.eval_tokens_per_second == pytest.approx(25.0)  # overall: 100 / 4 s
    assert s.eval_rate_median == pytest.approx(25.0)
    assert s.eval_rate_p95 == pytest.approx(38.5)
    assert s.ttft_median_ms == pytest.approx(50.0)
    assert s.ttft_p95_ms == pytest.approx(95.0)
    assert s.totals.source == "llama.cpp"
    data = s.to_dict()
    assert data["runs"] == 4 and data["eval_tokens"] == 100 and data["ttft_p95_ms"] == 95.0
    json.dumps(data)


def test_summary_of_nothing() -> None:
    s = TimingSummary.of([])
    assert s.runs == 0 and s.eval_rate_median is None and s.totals.load_ms is None
    assert s.report() == "localkit_timings:             runs =      0"


LINE = re.compile(
    r"^localkit_timings: +(load time|prompt eval time|eval time|total time|runs"
    r"|time to first token|eval rate) = "
)


def test_report_in_llama_cpp_layout() -> None:
    handler = TimingCallbackHandler()
    for run in [_run(10, 1000.0, 100.0, load_ms=500.0), _run(30, 1000.0, 30.0)]:
        handler._runs.append(run)
    text = handler.report()
    lines = text.splitlines()
    assert all(LINE.match(line) for line in lines), text
    assert "prompt eval time =      40.00 ms /    20 tokens" in text
    assert "eval time =    2000.00 ms /    40 runs" in text
    assert "(   50.00 ms per token,    20.00 tokens per second)" in text
    assert "eval rate =      20.00 tokens per second median" in text
    assert "time to first token =   65.00 ms median" in text
    assert handler.report(-1) == handler.runs[-1].timings.report()
    assert handler.report(handler.runs[0].run_id) == handler.runs[0].timings.report()
    with pytest.raises(LookupError):
        handler.report(uuid4())
    with pytest.raises(IndexError):
        handler.report(5)


def test_to_dict_is_json_ready_and_complete() -> None:
    handler = TimingCallbackHandler()
    _feed(handler, _result(_llm_gen({"timings": OURS.to_dict(), "usage": USAGE})))
    data = json.loads(json.dumps(handler.to_dict()))
    run = data["runs"][0]
    for key in OURS.to_dict():
        assert key in run
    assert run["eval_tokens_per_second"] == pytest.approx(50.0)
    assert run["output_tokens"] == 20 and run["model_name"] == "m.gguf"
    assert data["summary"]["runs"] == 1
    assert handler.to_records() == data["runs"]


def test_table_text_and_records() -> None:
    handler = TimingCallbackHandler()
    _feed(handler, _result(_llm_gen({"timings": OURS.to_dict()})))
    _feed(handler, _result(_llm_gen({"usage": USAGE})), ["a"])
    table = handler.table()
    assert isinstance(table, TimingTable) and len(table) == 2
    assert table.columns == TABLE_COLUMNS
    records = table.to_records()
    assert records[0]["eval_tokens_per_second"] == pytest.approx(50.0)
    assert records[1]["source"] == MEASURED and records[1]["load_ms"] is None
    assert list(table) == records
    text = str(table).splitlines()
    assert text[0].split() == list(TABLE_COLUMNS)
    assert "\u2013" in text[2]  # no load time on the measured run
    assert len({len(line) for line in text[:2]}) == 1  # aligned


def test_html_views_escape_and_draw() -> None:
    handler = TimingCallbackHandler()
    assert "<table" in handler._repr_html_()  # empty handler renders too
    metadata = {"timings": OURS.to_dict(), "model_name": "<b>evil</b>"}
    _feed(handler, _result(_chat_gen(metadata)), chat=True)
    _feed(handler, _result(_chat_gen({"timings": SERVER})), chat=True)
    html = handler._repr_html_()
    assert "<svg" in html and html.count("<rect") == 2 and "median" in html
    assert "<b>evil</b>" not in html and "&lt;b&gt;evil&lt;/b&gt;" in html
    assert "run 1: 50.00 eval tokens/s" in html
    assert handler.table()._repr_html_().count("<tr>") == 3


def test_plot_needs_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="optional"):
        TimingCallbackHandler().plot()
    with pytest.raises(ValueError, match="metric"):
        TimingCallbackHandler().plot(metric="speed")


def test_plot_draws_one_bar_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, Any] = {}

    class Axes:
        def __getattr__(self, name: str) -> Any:
            return lambda *a, **k: calls.setdefault(name, (a, k))

    pyplot = types.ModuleType("matplotlib.pyplot")
    pyplot.subplots = lambda **k: (object(), Axes())  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "matplotlib", types.ModuleType("matplotlib"))
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", pyplot)
    handler = TimingCallbackHandler()
    _feed(handler, _result(_llm_gen({"timings": OURS.to_dict()})))
    _feed(handler, _result(_llm_gen({"timings": SERVER})))
    ax = handler.plot()
    assert isinstance(ax, Axes)
    xs, heights = calls["bar"][0]
    assert xs == [1, 2] and heights == [pytest.approx(50.0), pytest.approx(50.0)]
    assert calls["axhline"][0][0] == pytest.approx(50.0)
    assert "tokens/s" in calls["set_ylabel"][0][0]


def test_print_reports_writes_each_run() -> None:
    out = io.StringIO()
    handler = TimingCallbackHandler(print_reports=True, file=out, prefix="llama_perf")
    _feed(handler, _result(_llm_gen({"timings": OURS.to_dict()})))
    assert out.getvalue() == "\n" + OURS.report("llama_perf") + "\n"


def test_print_reports_default_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    handler = TimingCallbackHandler(print_reports=True)
    ScriptedLLM().invoke("q", config={"callbacks": [handler]})
    err = capsys.readouterr().err
    assert "prompt eval time" in err and "load time" in err


def test_with_verbose_timing_on_lists_and_managers() -> None:
    added = with_verbose_timing(None)
    assert isinstance(added, list) and len(added) == 1
    handler = get_timing_handler(added)
    assert handler is not None and handler.print_reports
    assert with_verbose_timing(added) is added  # idempotent

    stdout = StreamingStdOutCallbackHandler()
    mine = [stdout]
    extended = with_verbose_timing(mine)
    assert mine == [stdout] and len(extended) == 2  # the input is not modified

    quiet = TimingCallbackHandler()
    both = with_verbose_timing([quiet])
    assert len(both) == 2 and get_timing_handler(both) is quiet  # the user's handler first

    manager = CallbackManager(handlers=[stdout])
    managed = with_verbose_timing(manager)
    assert isinstance(managed, CallbackManager) and managed is not manager
    assert len(manager.handlers) == 1 and len(managed.handlers) == 2
    assert get_timing_handler(managed) is not None


def test_verbose_hook_on_a_model(capsys: pytest.CaptureFixture[str]) -> None:
    llm = ScriptedLLM(callbacks=with_verbose_timing(None))
    llm.invoke("q")
    handler = get_timing_handler(llm)
    assert handler is not None and len(handler.runs) == 1
    assert capsys.readouterr().err.count("prompt eval time") == 1
    assert get_timing_handler(ScriptedLLM()) is None


class VerboseLLM(ScriptedLLM):
    """What a face does to wire `verbose=True` (the recipe handed to the faces)."""

    @model_validator(mode="after")
    def _attach_verbose_timing(self) -> Self:
        if self.verbose:
            self.callbacks = with_verbose_timing(self.callbacks)
        return self


def test_wiring_recipe_for_verbose_faces(capsys: pytest.CaptureFixture[str]) -> None:
    mine = TimingCallbackHandler()
    stdout = StreamingStdOutCallbackHandler("|")
    llm = VerboseLLM(verbose=True, callbacks=[stdout, mine])
    assert isinstance(llm.callbacks, list) and len(llm.callbacks) == 3  # + a printing one
    llm.invoke("q")
    list(llm.stream("q"))
    captured = capsys.readouterr()
    assert captured.out == "The| moon| is| far|" * 2  # verbose adds nothing to stdout
    assert captured.err.count("prompt eval time") == 2
    assert get_timing_handler(llm) is mine and len(mine.runs) == 2
    assert VerboseLLM().callbacks is None  # verbose=False attaches nothing
    copied = llm.model_copy()
    assert get_timing_handler(copied) is mine
