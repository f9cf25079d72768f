"""The callback handlers over every runtime, on real models.

One timing test runs over `LlamaCpp`, `ChatLlamaCpp`, `Llamafile`, `ChatLlamafile`, `GPT4All`,
`ChatGPT4All` and `ChatOllama` (against the Ollama transcript server) and checks that every field
is present and consistent: eval tokens equal the usage's output tokens, evaluated plus cached
prompt tokens equal its input tokens, rates equal tokens over time, the parts fit in the total.
A runtime whose module (or test fixture) is not there yet is skipped, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import importlib.util
import io
import itertools
import operator
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from langchain_core.callbacks import CallbackManager

from langchain_localkit._core.timings import Timings
from langchain_localkit.callbacks import (
    MEASURED,
    AsyncIteratorCallbackHandler,
    RunTimings,
    StreamingStdOutCallbackHandler,
    TimingCallbackHandler,
    get_timing_handler,
    with_verbose_timing,
)
from tests.docs import run_page

LLM_PROMPT = "The first man on the moon was"
CHAT_PROMPT = "Who was the first man on the moon?"
MAX_TOKENS = 12
_fresh_ctx = itertools.count(1088, 64)  # unique load options: the next call loads the model


# --- the runtimes --------------------------------------------------------------------------------
def _class(module: str, name: str, issue: str) -> Any:
    """The class, or a skip when its module has not landed yet (an import error still fails)."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not there yet ({issue})")
    value = getattr(importlib.import_module(module), name, None)
    if value is None:
        pytest.skip(f"{module}.{name} is not there yet ({issue})")
    return value


def _fixture(request: pytest.FixtureRequest, name: str, why: str) -> Any:
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        pytest.skip(f"no `{name}` fixture yet: {why}")


def _tiny(request: pytest.FixtureRequest) -> Path:
    if importlib.util.find_spec("langchain_localkit.testing.tiny") is None:
        pytest.skip("make_tiny_gguf is not there yet")
    path: Path = request.getfixturevalue("tiny_gguf_path")
    return path


def _short_and_greedy(cls: Any) -> dict[str, Any]:
    """`MAX_TOKENS` and temperature 0, under whatever names the class uses."""
    fields = getattr(cls, "model_fields", {})
    kwargs: dict[str, Any] = {}
    limit = next((k for k in ("max_tokens", "n_predict", "num_predict") if k in fields), None)
    if limit:
        kwargs[limit] = MAX_TOKENS
    temperature = next((k for k in ("temperature", "temp") if k in fields), None)
    if temperature:
        kwargs[temperature] = 0.0
    return kwargs


Opener = Callable[[pytest.FixtureRequest, dict[str, Any]], contextlib.AbstractContextManager[Any]]


@dataclass(frozen=True)
class Runtime:
    """How to build one face on real runtime, and what its figures must look like."""

    id: str
    kind: Literal["llm", "chat"]
    open: Opener
    sources: tuple[str, ...]
    loads_on_first_call: bool = False
    """In-process with unique load options: the first run loads the model, later ones do not."""

    @property
    def prompt(self) -> str:
        return LLM_PROMPT if self.kind == "llm" else CHAT_PROMPT


def _llamacpp(model: Literal["gemma", "tiny"], chat: bool) -> Opener:
    @contextlib.contextmanager
    def open_(request: pytest.FixtureRequest, extra: dict[str, Any]) -> Iterator[Any]:
        from langchain_localkit import ChatLlamaCpp, LlamaCpp

        path = request.getfixturevalue("gemma_path") if model == "gemma" else _tiny(request)
        cls = ChatLlamaCpp if chat else LlamaCpp
        face = cls(model_path=str(path), seed=1, **_short_and_greedy(cls), **extra)
        try:
            yield face
        finally:
            face.unload()

    return open_


def _llamafile_url(request: pytest.FixtureRequest) -> dict[str, Any]:
    why = "the base URL of a llama.cpp server (llamafile) on a loopback port, tiny GGUF"
    return {"base_url": _fixture(request, "llamafile_url", why)}


def _gpt4all_model(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"model": str(_tiny(request))}


def _faces(
    runtime: str, name: str, where: Callable[[pytest.FixtureRequest], dict[str, Any]]
) -> Callable[[bool], Opener]:
    """The openers of `langchain_localkit.llms.<runtime>.<name>` and of the chat face
    `langchain_localkit.chat_models.<runtime>.Chat<name>`, on the model `where` names (these
    faces take no `n_ctx`)."""

    def opener(chat: bool) -> Opener:
        @contextlib.contextmanager
        def open_(request: pytest.FixtureRequest, extra: dict[str, Any]) -> Iterator[Any]:
            module = f"langchain_localkit.{'chat_models' if chat else 'llms'}.{runtime}"
            cls = _class(module, f"Chat{name}" if chat else name, f"[{runtime}]")
            extra = {k: v for k, v in extra.items() if k != "n_ctx"}
            yield cls(**where(request), **_short_and_greedy(cls), **extra)

        return open_

    return opener


_llamafile = _faces("llamafile", "Llamafile", _llamafile_url)
_gpt4all = _faces("gpt4all", "GPT4All", _gpt4all_model)


@contextlib.contextmanager
def _chat_ollama(request: pytest.FixtureRequest, extra: dict[str, Any]) -> Iterator[Any]:
    cls = _class("langchain_localkit.chat_models.ollama", "ChatOllama", "[ollama]")
    server_cls = _class(
        "langchain_localkit.testing.ollama_server", "OllamaTranscriptServer", "[ollama]"
    )
    extra = {k: v for k, v in extra.items() if k != "n_ctx"}
    with server_cls() as server:
        model = getattr(server, "model", None) or "llama3.1:8b"
        yield cls(model=model, base_url=server.url, **_short_and_greedy(cls), **extra)


LLAMACPP = ("llama.cpp",)
RUNTIMES = [
    Runtime("LlamaCpp-gemma", "llm", _llamacpp("gemma", False), LLAMACPP, True),
    Runtime("LlamaCpp-tiny", "llm", _llamacpp("tiny", False), LLAMACPP, True),
    Runtime("ChatLlamaCpp-gemma", "chat", _llamacpp("gemma", True), LLAMACPP, True),
    Runtime("ChatLlamaCpp-tiny", "chat", _llamacpp("tiny", True), LLAMACPP, True),
    Runtime("Llamafile", "llm", _llamafile(False), ("llama.cpp server",)),
    Runtime("ChatLlamafile", "chat", _llamafile(True), ("llama.cpp server",)),
    Runtime("GPT4All", "llm", _gpt4all(False), ("gpt4all (measured)", MEASURED)),
    Runtime("ChatGPT4All", "chat", _gpt4all(True), ("gpt4all (measured)", MEASURED)),
    Runtime("ChatOllama", "chat", _chat_ollama, ("ollama",)),
]
by_id = pytest.mark.parametrize("runtime", RUNTIMES, ids=lambda r: r.id)


def _text(piece: Any) -> str:
    return piece if isinstance(piece, str) else str(piece.content)


# --- one timing test for every runtime -----------------------------------------------------------
def _check(run: RunTimings, usage: dict[str, int] | None, runtime: Runtime, first: bool) -> None:
    t = run.timings
    record = run.to_dict()
    for key in Timings().to_dict():
        assert key in record, key
    assert t.source in runtime.sources, t.source
    if MEASURED not in runtime.sources:  # the runtime's own figures, not the handler's clock
        assert not {"prompt_ms", "eval_ms"} & set(run.measured)
    assert run.kind == runtime.kind and run.model_name

    # tokens: the timings agree with the usage the model reported
    assert usage is not None and run.usage is not None
    assert run.usage == {k: usage[k] for k in ("input_tokens", "output_tokens", "total_tokens")}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert t.eval_tokens == usage["output_tokens"] > 0
    assert t.prompt_tokens + t.cached_tokens == usage["input_tokens"] > 0

    # times and rates
    assert t.eval_ms > 0
    assert t.prompt_ms > 0 if t.prompt_tokens else t.prompt_ms >= 0
    assert t.eval_tokens_per_second == pytest.approx(t.eval_tokens / t.eval_ms * 1000)
    assert record["eval_tokens_per_second"] == pytest.approx(t.eval_tokens / t.eval_ms * 1000)
    if t.prompt_tokens:
        assert record["prompt_tokens_per_second"] == pytest.approx(
            t.prompt_tokens / t.prompt_ms * 1000
        )
    assert t.ttft_ms is not None and t.total_ms is not None
    assert 0 < t.ttft_ms <= t.total_ms + 0.5
    assert t.prompt_ms + t.eval_ms <= t.total_ms * 1.01 + 1.0

    # load: reported by the run that loaded the model, and only by it
    if runtime.loads_on_first_call:
        if first:
            assert t.load_ms is not None and t.load_ms > 0
        else:
            assert t.load_ms is None
    else:
        assert t.load_ms is None or t.load_ms >= 0


@by_id
def test_timing_handler_over_every_runtime(
    runtime: Runtime, request: pytest.FixtureRequest
) -> None:
    handler = TimingCallbackHandler()
    config: Any = {"callbacks": [handler]}
    usages: list[dict[str, int] | None] = []
    with runtime.open(request, {"n_ctx": next(_fresh_ctx)}) as model:
        if runtime.kind == "llm":
            result = model.generate([runtime.prompt], callbacks=[handler])
            usages.append(result.generations[0][0].generation_info["usage"])
            pieces = list(model.stream(runtime.prompt, config=config))
            assert "".join(pieces).strip()
            usages.append(None)  # `stream()` yields text only; the handler's copy is checked
            text = asyncio.run(model.ainvoke(runtime.prompt, config=config))
            assert text.strip()
            usages.append(None)
        else:
            message = model.invoke(runtime.prompt, config=config)
            usages.append(message.usage_metadata)
            chunks = list(model.stream(runtime.prompt, config=config))
            usages.append(functools.reduce(operator.add, chunks).usage_metadata)
            message = asyncio.run(model.ainvoke(runtime.prompt, config=config))
            usages.append(message.usage_metadata)
    runs = handler.runs
    assert len(runs) == 3 and handler.failed_runs == 0
    for i, (run, usage) in enumerate(zip(runs, usages, strict=True)):
        _check(run, usage or run.usage, runtime, first=i == 0)

    summary = handler.summary()
    assert summary.runs == 3
    assert summary.totals.eval_tokens == sum(r.timings.eval_tokens for r in runs)
    assert summary.eval_rate_median is not None and summary.eval_rate_p95 is not None
    assert summary.eval_rate_p95 >= summary.eval_rate_median
    assert summary.ttft_p95_ms is not None and summary.ttft_median_ms is not None
    assert summary.ttft_p95_ms >= summary.ttft_median_ms
    report = handler.report()
    for label in ("runs =", "prompt eval time =", "eval time =", "total time =", "eval rate ="):
        assert label in report


# --- streaming: exactly what stream() yields -----------------------------------------------------
@by_id
def test_stdout_handler_prints_exactly_the_stream(
    runtime: Runtime, request: pytest.FixtureRequest
) -> None:
    out = io.StringIO()
    handler = StreamingStdOutCallbackHandler("|", file=out)
    with runtime.open(request, {}) as model:
        pieces = [_text(p) for p in model.stream(runtime.prompt, config={"callbacks": [handler]})]
    assert sum(1 for p in pieces if p) > 1
    assert out.getvalue() == "".join(p + "|" for p in pieces if p)


@by_id
async def test_aiter_yields_exactly_the_reply(
    runtime: Runtime, request: pytest.FixtureRequest
) -> None:
    handler = AsyncIteratorCallbackHandler()
    with runtime.open(request, {}) as model:
        task = asyncio.create_task(model.ainvoke(runtime.prompt, config={"callbacks": [handler]}))
        tokens = [t async for t in handler.aiter(task=task, idle_timeout=120)]
        reply = _text(await task)
    assert len(tokens) > 1 and all(tokens)
    assert "".join(tokens) == reply


async def test_aiter_stops_decoding_when_the_client_leaves(gemma_path: Path) -> None:
    from langchain_localkit import LlamaCpp

    llm = LlamaCpp(model_path=str(gemma_path), n_ctx=2048, max_tokens=400, temperature=0)
    entry = llm.engine.load()[0]
    handler = AsyncIteratorCallbackHandler()
    task = asyncio.create_task(llm.ainvoke(LLM_PROMPT, config={"callbacks": [handler]}))
    seen = []
    async for token in handler.aiter(task=task, idle_timeout=120):
        seen.append(token)
        if len(seen) == 3:
            break
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):  # decoding ends within a token or two
        if not entry.busy:
            break
        await asyncio.sleep(0.01)
    assert not entry.busy


async def test_aiter_raises_the_model_error(gemma_path: Path) -> None:
    from langchain_localkit import ChatLlamaCpp, ContextOverflowError

    chat = ChatLlamaCpp(model_path=str(gemma_path), n_ctx=512, max_tokens=8)
    handler = AsyncIteratorCallbackHandler()
    task = asyncio.create_task(chat.ainvoke("moon " * 2000, config={"callbacks": [handler]}))
    with pytest.raises(ContextOverflowError):
        async for _ in handler.aiter(task=task, idle_timeout=120):
            pass
    with pytest.raises(ContextOverflowError):
        await task


def test_source_document_call_streams_with_separator(
    source_document_llamacpp: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        llm = source_document_llamacpp(
            max_tokens=16,
            temperature=0,
            callback_manager=CallbackManager([StreamingStdOutCallbackHandler("|")]),
        )
    text = llm.invoke("The first man on the moon was ... Let's think step by step")
    out = capsys.readouterr().out
    assert out.count("|") > 1
    assert out.replace("|", "") == text


# --- verbose=True --------------------------------------------------------------------------------
def test_with_verbose_timing_prints_one_report_per_call(gemma_path: Path) -> None:
    from langchain_localkit import ChatLlamaCpp, LlamaCpp

    for cls in (LlamaCpp, ChatLlamaCpp):
        err = io.StringIO()
        model = cls(
            model_path=str(gemma_path),
            n_ctx=2048,
            max_tokens=8,
            temperature=0,
            callbacks=with_verbose_timing(None, file=err),
        )
        model.invoke(CHAT_PROMPT)
        list(model.stream(CHAT_PROMPT))
        handler = get_timing_handler(model)
        assert handler is not None and len(handler.runs) == 2
        assert err.getvalue().count("prompt eval time") == 2
        assert err.getvalue().count("eval time =") == 4  # "prompt eval time" and "eval time"


@by_id
def test_verbose_true_attaches_the_timing_handler(
    runtime: Runtime, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    with runtime.open(request, {"verbose": True}) as model:
        handler = get_timing_handler(model)
        if handler is None:
            pytest.skip(
                f"{type(model).__name__}(verbose=True) does not attach a TimingCallbackHandler "
                "yet: the face must call `with_verbose_timing` (see the callbacks issue)"
            )
        model.invoke(runtime.prompt)
    err = capsys.readouterr().err
    assert err.count("prompt eval time") == 1  # one report: the handler's, not a second copy
    assert handler.print_reports and handler.last is not None


# --- aggregates on real numbers ------------------------------------------------------------------
def test_aggregates_over_many_runs(tiny_gguf_path: Path) -> None:
    from langchain_localkit import LlamaCpp

    handler = TimingCallbackHandler()
    llm = LlamaCpp(model_path=str(tiny_gguf_path), max_tokens=16, temperature=0, seed=1)
    llm.batch(
        [f"the {w}" for w in ("moon", "sun", "sea", "king", "river", "city")],
        config={"callbacks": [handler]},
    )
    runs = handler.runs
    assert len(runs) == 6
    rates = sorted(r.timings.eval_tokens_per_second or 0.0 for r in runs)
    summary = handler.summary()
    assert rates[0] <= (summary.eval_rate_median or 0) <= (summary.eval_rate_p95 or 0) <= rates[-1]
    assert summary.totals.eval_tokens == sum(r.timings.eval_tokens for r in runs)
    table = handler.table()
    assert len(table) == 6 and "<svg" in handler._repr_html_()


# --- docs ----------------------------------------------------------------------------------------
def test_callbacks_page_runs(gemma_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = run_page("callbacks.md")
    timing = namespace["timing"]
    assert isinstance(timing, TimingCallbackHandler) and len(timing.runs) == 4
    captured = capsys.readouterr()
    assert "|" in captured.out and "prompt eval time" in captured.out
    assert "prompt eval time" in captured.err  # the verbose example
