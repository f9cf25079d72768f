"""How fast the local model really is: per-run `Timings` from every runtime, and aggregates.

Each face puts its runtime's own figures on the result: `generation_info["timings"]` (LLMs)
or `response_metadata["timings"]` (chat models), a `Timings.to_dict()`. The handler reads
them in `on_llm_end`, also understands a raw llama.cpp server `timings` object and Ollama's
raw nanosecond durations, and measures around the call what a runtime does not report (time
to first token, wall time, and everything for a runtime that reports nothing).
"""

from __future__ import annotations

import dataclasses
import importlib
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from math import floor
from typing import Any, Literal, TextIO
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult

from langchain_localkit._core.timings import Timings
from langchain_localkit.callbacks._html import bars_svg, fmt, table_html
from langchain_localkit.callbacks.streaming import token_text

MEASURED = "measured"
"""`Timings.source` of a run whose runtime reported no figures: all measured by the handler."""

DEFAULT_PREFIX = "localkit_timings"

_PLOT_METRICS = {
    "eval_tokens_per_second": "eval tokens/s",
    "prompt_tokens_per_second": "prompt tokens/s",
    "ttft_ms": "time to first token (ms)",
    "total_ms": "total time (ms)",
}


# --- reading the figures a runtime put on its result ---------------------------------------------
def _timings_from_mapping(meta: Mapping[str, Any]) -> Timings | None:
    raw = meta.get("timings")
    if isinstance(raw, Timings):
        return raw
    if isinstance(raw, Mapping):
        if "predicted_n" in raw or "predicted_ms" in raw:
            return Timings.from_llama_server(raw)
        if "eval_tokens" in raw or "prompt_tokens" in raw:
            return Timings.from_dict(raw)
    if "eval_count" in meta or "eval_duration" in meta:
        return Timings.from_ollama(meta)
    return None


def _metadata(generation: Generation) -> list[Mapping[str, Any]]:
    metas: list[Mapping[str, Any]] = []
    if isinstance(generation, ChatGeneration):
        metas.append(generation.message.response_metadata or {})
    metas.append(generation.generation_info or {})
    return metas


def timings_from_generation(generation: Generation) -> Timings | None:
    """The runtime's own figures on a generation, or None when it reported none.

    Reads, in order: `response_metadata["timings"]` (chat) and `generation_info["timings"]`
    (LLM) as a `Timings.to_dict()` dict or a llama.cpp server `timings` object, then Ollama's
    raw fields (`eval_count`, `eval_duration`, ... in nanoseconds).

    Example:
        >>> from langchain_core.outputs import Generation
        >>> gen = Generation(text="hi", generation_info={"eval_count": 4, "eval_duration": 2e8})
        >>> timings_from_generation(gen).eval_tokens_per_second
        20.0
    """
    for meta in _metadata(generation):
        timings = _timings_from_mapping(meta)
        if timings is not None:
            return timings
    return None


def _usage_from_mapping(data: Mapping[str, Any]) -> dict[str, int] | None:
    if "input_tokens" in data or "output_tokens" in data:
        inp, out = data.get("input_tokens"), data.get("output_tokens")
    elif "prompt_tokens" in data or "completion_tokens" in data:
        inp, out = data.get("prompt_tokens"), data.get("completion_tokens")
    else:
        return None
    i, o = int(inp or 0), int(out or 0)
    return {"input_tokens": i, "output_tokens": o, "total_tokens": i + o}


def usage_from_generation(generation: Generation) -> dict[str, int] | None:
    """Token counts of a generation (`usage_metadata`, `generation_info["usage"]`, Ollama's).

    Example:
        >>> from langchain_core.outputs import Generation
        >>> info = {"usage": {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8}}
        >>> usage_from_generation(Generation(text="x", generation_info=info))
        {'input_tokens': 3, 'output_tokens': 5, 'total_tokens': 8}
    """
    if isinstance(generation, ChatGeneration):
        message = generation.message
        if isinstance(message, AIMessage) and message.usage_metadata:
            return _usage_from_mapping(dict(message.usage_metadata))
    for meta in _metadata(generation):
        usage = meta.get("usage") or meta.get("token_usage")
        if isinstance(usage, Mapping):
            found = _usage_from_mapping(usage)
            if found is not None:
                return found
        if "eval_count" in meta or "prompt_eval_count" in meta:
            i, o = int(meta.get("prompt_eval_count") or 0), int(meta.get("eval_count") or 0)
            return {"input_tokens": i, "output_tokens": o, "total_tokens": i + o}
    return None


def _model_name(generation: Generation) -> str | None:
    for meta in _metadata(generation):
        name = meta.get("model_name") or meta.get("model")
        if isinstance(name, str) and name:
            return name
    return None


def _percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation, as numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --- records -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RunTimings:
    """The figures of one model run.

    Attributes:
        run_id: LangChain's run id.
        timings: The runtime's own figures, completed by measurement where it gave none.
        usage: `input_tokens`, `output_tokens`, `total_tokens`, when the model reported them.
        model_name: The model (file name, Ollama tag, ...), when known.
        kind: `"llm"` or `"chat"`.
        measured: The `Timings` fields the handler measured around the call instead of
            reading them from the runtime (e.g. `("ttft_ms",)`).
        started_at: Wall-clock start of the run (`time.time()`).

    Example:
        >>> from uuid import uuid4
        >>> run = RunTimings(uuid4(), Timings(eval_tokens=8, eval_ms=100.0))
        >>> run.to_dict()["eval_tokens_per_second"]
        80.0
    """

    run_id: UUID
    timings: Timings
    usage: dict[str, int] | None = None
    model_name: str | None = None
    kind: Literal["llm", "chat"] = "llm"
    measured: tuple[str, ...] = ()
    started_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A flat, JSON-ready dict: run fields, every `Timings` field and rate, and usage."""
        usage = self.usage or {}
        return {
            "run_id": str(self.run_id),
            "model_name": self.model_name,
            "kind": self.kind,
            "started_at": self.started_at,
            **self.timings.to_dict(),
            "input_tokens": usage.get("input_tokens"),
            "output_tokens": usage.get("output_tokens"),
            "total_tokens": usage.get("total_tokens"),
            "measured": list(self.measured),
        }


@dataclass(frozen=True, slots=True)
class TimingSummary:
    """Aggregates over the finished runs of a `TimingCallbackHandler`.

    Attributes:
        runs: Finished runs.
        failed_runs: Runs that ended in an error (not included in the figures).
        totals: Sums over the runs: tokens, prompt / eval / load / total milliseconds; its
            rates are overall rates (all tokens over all time).
        eval_rate_median: Median of the per-run generation rates (tokens per second).
        eval_rate_p95: 95th percentile of the per-run generation rates.
        ttft_median_ms: Median time to first token.
        ttft_p95_ms: 95th percentile of the time to first token.

    Example:
        >>> handler = TimingCallbackHandler()
        >>> handler.summary().runs
        0
    """

    runs: int
    failed_runs: int
    totals: Timings
    eval_rate_median: float | None
    eval_rate_p95: float | None
    ttft_median_ms: float | None
    ttft_p95_ms: float | None

    @classmethod
    def of(cls, runs: Sequence[RunTimings], failed_runs: int = 0) -> TimingSummary:
        """Aggregate `runs`."""
        ts = [r.timings for r in runs]
        rates = [t.eval_tokens_per_second for t in ts if t.eval_tokens_per_second is not None]
        ttfts = [t.ttft_ms for t in ts if t.ttft_ms is not None]

        def total(values: list[float | None]) -> float | None:
            known = [v for v in values if v is not None]
            return sum(known) if known else None

        sources = list(dict.fromkeys(t.source for t in ts if t.source))
        totals = Timings(
            prompt_tokens=sum(t.prompt_tokens for t in ts),
            prompt_ms=sum(t.prompt_ms for t in ts),
            eval_tokens=sum(t.eval_tokens for t in ts),
            eval_ms=sum(t.eval_ms for t in ts),
            cached_tokens=sum(t.cached_tokens for t in ts),
            load_ms=total([t.load_ms for t in ts]),
            sample_ms=total([t.sample_ms for t in ts]),
            total_ms=total([t.total_ms for t in ts]),
            source=", ".join(sources),
        )
        return cls(
            runs=len(ts),
            failed_runs=failed_runs,
            totals=totals,
            eval_rate_median=statistics.median(rates) if rates else None,
            eval_rate_p95=_percentile(rates, 95),
            ttft_median_ms=statistics.median(ttfts) if ttfts else None,
            ttft_p95_ms=_percentile(ttfts, 95),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready aggregates; the sums under their `Timings` names."""
        return {
            "runs": self.runs,
            "failed_runs": self.failed_runs,
            **self.totals.to_dict(),
            "eval_rate_median": self.eval_rate_median,
            "eval_rate_p95": self.eval_rate_p95,
            "ttft_median_ms": self.ttft_median_ms,
            "ttft_p95_ms": self.ttft_p95_ms,
        }

    def report(self, prefix: str = DEFAULT_PREFIX) -> str:
        """The sums in llama.cpp's layout, then the run count, medians and 95th percentiles.

        Example:
            >>> print(TimingSummary.of([]).report().splitlines()[0])
            localkit_timings:             runs =      0
        """
        failed = f" ({self.failed_runs} failed)" if self.failed_runs else ""
        lines = [f"{prefix}:             runs = {self.runs:6d}{failed}"]
        if self.runs:
            lines.append(self.totals.report(prefix))
        if self.eval_rate_median is not None:
            lines.append(
                f"{prefix}:        eval rate = {self.eval_rate_median:10.2f} tokens per second "
                f"median, {self.eval_rate_p95 or 0.0:10.2f} p95"
            )
        if self.ttft_median_ms is not None:
            lines.append(
                f"{prefix}: time to first token = {self.ttft_median_ms:7.2f} ms median, "
                f"{self.ttft_p95_ms or 0.0:10.2f} ms p95"
            )
        return "\n".join(lines)


TABLE_COLUMNS: tuple[str, ...] = (
    "run",
    "model",
    "source",
    "prompt_tokens",
    "cached_tokens",
    "prompt_ms",
    "prompt_tokens_per_second",
    "eval_tokens",
    "eval_ms",
    "eval_tokens_per_second",
    "ttft_ms",
    "load_ms",
    "total_ms",
)


@dataclass(frozen=True, slots=True)
class TimingTable:
    """Per-run figures as a plain table: prints as text, renders as HTML in notebooks.

    `to_records()` gives a list of dicts, which `pandas.DataFrame(...)` accepts as is.

    Example:
        >>> table = TimingTable(("run", "eval_tokens"), ((1, 32),))
        >>> print(table)
        run  eval_tokens
          1           32
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...] = field(default=())

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per run, keyed by column."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.to_records())

    def __str__(self) -> str:
        cells = [list(self.columns)] + [[fmt(v) for v in row] for row in self.rows]
        numeric = [
            all(isinstance(row[i], int | float) or row[i] is None for row in self.rows)
            for i in range(len(self.columns))
        ]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = []
        for r in cells:
            parts = [
                c.rjust(w) if num else c.ljust(w)
                for c, w, num in zip(r, widths, numeric, strict=True)
            ]
            lines.append("  ".join(parts).rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return table_html(self.columns, self.rows)


# --- the handler ---------------------------------------------------------------------------------
@dataclass
class _Pending:
    kind: Literal["llm", "chat"]
    start: float
    started_at: float
    model_name: str | None
    first_token_at: float | None = None
    tokens: int = 0


class TimingCallbackHandler(BaseCallbackHandler):
    """Collect the speed figures of every model run: load, TTFT, prompt and eval rates, total.

    For each run the handler takes the runtime's own figures from the result (llama.cpp's perf
    counters, the llama.cpp / llamafile server's `timings`, Ollama's durations, or the
    measurements a face made itself, as GPT4All's does), and fills what is missing by
    measuring around the call: time to first token from the first streamed token, total time
    from start to end. For a model that reports nothing, every figure is measured
    (`Timings.source == "measured"`): prompt time is then the time to first token and eval
    time the rest, which is close but not exact. Thread-safe; several concurrent runs may share
    one handler. Failed runs are counted, not timed.

    Args:
        print_reports: Write each run's report (llama.cpp's layout) when it ends, as
            llama.cpp does with `verbose=True`.
        file: Where reports go; `sys.stderr` (looked up at write time) when None.
        prefix: The label at the start of each report line.
        max_runs: Keep the figures of this many latest runs (None: all).

    Example:
        >>> from langchain_core.language_models import GenericFakeChatModel
        >>> handler = TimingCallbackHandler()
        >>> chat = GenericFakeChatModel(messages=iter(["hello local world"]))
        >>> _ = list(chat.stream("hi", config={"callbacks": [handler]}))
        >>> run = handler.last
        >>> run.timings.source, run.timings.eval_tokens, run.measured
        ('measured', 5, ('prompt_ms', 'eval_ms', 'ttft_ms', 'total_ms'))
    """

    run_inline = True
    """Called in the model's own thread or task, so first-token times are exact."""

    def __init__(
        self,
        *,
        print_reports: bool = False,
        file: TextIO | None = None,
        prefix: str = DEFAULT_PREFIX,
        max_runs: int | None = 10_000,
    ) -> None:
        self.print_reports = print_reports
        self.file = file
        self.prefix = prefix
        self._lock = threading.Lock()
        self._pending: dict[UUID, _Pending] = {}
        self._runs: deque[RunTimings] = deque(maxlen=max_runs)
        self._failed = 0

    # --- callbacks -------------------------------------------------------------------------------
    def _start(
        self, run_id: UUID, kind: Literal["llm", "chat"], serialized: Any, kwargs: Any
    ) -> None:
        metadata = kwargs.get("metadata") or {}
        name = metadata.get("ls_model_name")
        if not name and isinstance(serialized, Mapping):
            params = serialized.get("kwargs") or {}
            name = params.get("model") or params.get("model_name")
        pending = _Pending(
            kind=kind,
            start=time.perf_counter(),
            started_at=time.time(),
            model_name=str(name) if name else None,
        )
        with self._lock:
            self._pending[run_id] = pending

    def on_llm_start(
        self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, **kwargs: Any
    ) -> None:
        """Start the clock of an LLM run."""
        self._start(run_id, "llm", serialized, kwargs)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        """Start the clock of a chat model run."""
        self._start(run_id, "chat", serialized, kwargs)

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        run_id: UUID,
        chunk: Any = None,
        **kwargs: Any,
    ) -> None:
        """Note the time of the first token and count tokens."""
        now = time.perf_counter()
        has_output = bool(token_text(token)) or bool(
            getattr(getattr(chunk, "message", None), "tool_call_chunks", None)
        )
        if not has_output:
            return
        with self._lock:
            pending = self._pending.get(run_id)
            if pending is not None:
                pending.tokens += 1
                if pending.first_token_at is None:
                    pending.first_token_at = now

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Record the run's figures (and print its report when `print_reports`)."""
        end = time.perf_counter()
        with self._lock:
            pending = self._pending.pop(run_id, None)
        record = self._record(run_id, response, pending, end)
        with self._lock:
            self._runs.append(record)
            if self.print_reports:
                out = self.file if self.file is not None else sys.stderr
                out.write("\n" + record.timings.report(self.prefix) + "\n")
                out.flush()

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Count the failed run."""
        with self._lock:
            self._pending.pop(run_id, None)
            self._failed += 1

    def _record(
        self, run_id: UUID, response: LLMResult, pending: _Pending | None, end: float
    ) -> RunTimings:
        parts: list[Timings] = []
        usages: list[dict[str, int]] = []
        model_name = None
        for generations in response.generations:
            for generation in generations:
                timings = timings_from_generation(generation)
                if timings is not None:
                    parts.append(timings)
                usage = usage_from_generation(generation)
                if usage is not None:
                    usages.append(usage)
                model_name = model_name or _model_name(generation)
        if not usages and response.llm_output:
            found = _usage_from_mapping(response.llm_output.get("token_usage") or {})
            if found is not None and len(response.generations) == 1:
                usages.append(found)
        usage = (
            {
                k: sum(u[k] for u in usages)
                for k in ("input_tokens", "output_tokens", "total_tokens")
            }
            if usages
            else None
        )
        ttft = total = None
        if pending is not None:
            total = (end - pending.start) * 1e3
            if pending.first_token_at is not None:
                ttft = (pending.first_token_at - pending.start) * 1e3
        measured: list[str] = []
        if parts:
            timings = parts[0] if len(parts) == 1 else Timings.combine(parts)
            if timings.ttft_ms is None and ttft is not None:
                timings = dataclasses.replace(timings, ttft_ms=ttft)
                measured.append("ttft_ms")
            if timings.total_ms is None and total is not None:
                timings = dataclasses.replace(timings, total_ms=total)
                measured.append("total_ms")
        else:
            out_tokens = usage["output_tokens"] if usage else (pending.tokens if pending else 0)
            prompt_ms = ttft or 0.0
            timings = Timings(
                prompt_tokens=usage["input_tokens"] if usage else 0,
                prompt_ms=prompt_ms,
                eval_tokens=out_tokens,
                eval_ms=max((total or 0.0) - prompt_ms, 0.0),
                ttft_ms=ttft,
                total_ms=total,
                source=MEASURED,
            )
            measured = [
                name
                for name, value in (
                    ("prompt_ms", ttft),
                    ("eval_ms", total),
                    ("ttft_ms", ttft),
                    ("total_ms", total),
                )
                if value is not None
            ]
        return RunTimings(
            run_id=run_id,
            timings=timings,
            usage=usage,
            model_name=model_name or (pending.model_name if pending else None),
            kind=pending.kind if pending else "llm",
            measured=tuple(measured),
            started_at=pending.started_at if pending else time.time(),
        )

    # --- reading ---------------------------------------------------------------------------------
    @property
    def runs(self) -> list[RunTimings]:
        """The finished runs, oldest first."""
        with self._lock:
            return list(self._runs)

    @property
    def last(self) -> RunTimings | None:
        """The latest finished run, if any."""
        with self._lock:
            return self._runs[-1] if self._runs else None

    @property
    def failed_runs(self) -> int:
        """How many runs ended in an error."""
        with self._lock:
            return self._failed

    def get(self, run_id: UUID) -> RunTimings | None:
        """The figures of the run with this id, if it finished and is still kept."""
        with self._lock:
            return next((r for r in self._runs if r.run_id == run_id), None)

    def reset(self) -> None:
        """Forget every finished run and the failure count (running runs go on)."""
        with self._lock:
            self._runs.clear()
            self._failed = 0

    def summary(self) -> TimingSummary:
        """Aggregates over the finished runs (count, sums, medians, 95th percentiles)."""
        with self._lock:
            runs, failed = list(self._runs), self._failed
        return TimingSummary.of(runs, failed)

    def report(self, run: int | UUID | None = None) -> str:
        """Figures in llama.cpp's layout: of all runs (default), or of one run.

        Args:
            run: None for the summary of all runs; an index into `runs` (-1: the latest) or a
                run id for that run's own report.

        Raises:
            LookupError: No such run.

        Example:
            >>> print(TimingCallbackHandler().report())
            localkit_timings:             runs =      0
        """
        if run is None:
            return self.summary().report(self.prefix)
        record = self.get(run) if isinstance(run, UUID) else self.runs[run]
        if record is None:
            raise LookupError(f"No finished run with id {run}")
        return record.timings.report(self.prefix)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures: `{"runs": [...], "summary": {...}}`."""
        with self._lock:
            runs, failed = list(self._runs), self._failed
        return {
            "runs": [r.to_dict() for r in runs],
            "summary": TimingSummary.of(runs, failed).to_dict(),
        }

    def table(self) -> TimingTable:
        """Per-run figures as a `TimingTable` (text, HTML, or records for pandas)."""
        rows = []
        for i, r in enumerate(self.runs, start=1):
            t = r.timings
            rows.append(
                (
                    i,
                    r.model_name,
                    t.source,
                    t.prompt_tokens,
                    t.cached_tokens,
                    t.prompt_ms,
                    t.prompt_tokens_per_second,
                    t.eval_tokens,
                    t.eval_ms,
                    t.eval_tokens_per_second,
                    t.ttft_ms,
                    t.load_ms,
                    t.total_ms,
                )
            )
        return TimingTable(TABLE_COLUMNS, tuple(rows))

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per run (`RunTimings.to_dict()`), e.g. for `pandas.DataFrame`."""
        return [r.to_dict() for r in self.runs]

    # --- looking ---------------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        summary = self.summary()
        rates = [r.timings.eval_tokens_per_second for r in self.runs]
        rows = [
            ("runs", summary.runs),
            ("failed runs", summary.failed_runs),
            ("eval tokens/s (overall)", summary.totals.eval_tokens_per_second),
            ("eval tokens/s median", summary.eval_rate_median),
            ("eval tokens/s p95", summary.eval_rate_p95),
            ("prompt tokens/s (overall)", summary.totals.prompt_tokens_per_second),
            ("time to first token median (ms)", summary.ttft_median_ms),
            ("time to first token p95 (ms)", summary.ttft_p95_ms),
            ("load time (ms)", summary.totals.load_ms),
        ]
        return (
            '<div class="localkit-timing-handler">'
            + table_html(("", "value"), rows, caption="Timings")
            + bars_svg(rates, unit="eval tokens/s", median=summary.eval_rate_median)
            + self.table()._repr_html_()
            + "</div>"
        )

    def plot(self, ax: Any = None, *, metric: str = "eval_tokens_per_second") -> Any:
        """A small bar chart of one figure per run, with its median (needs matplotlib).

        Args:
            ax: A matplotlib `Axes` to draw on; a new 6x2.5 inch figure when None.
            metric: `"eval_tokens_per_second"` (default), `"prompt_tokens_per_second"`,
                `"ttft_ms"` or `"total_ms"`.

        Returns:
            The `Axes`.

        Raises:
            ImportError: matplotlib is not installed (it is an optional extra).
            ValueError: Unknown metric.

        Example:
            >>> ax = handler.plot()  # doctest: +SKIP
        """
        if metric not in _PLOT_METRICS:
            raise ValueError(f"metric must be one of {', '.join(_PLOT_METRICS)}; got {metric!r}")
        try:
            plt = importlib.import_module("matplotlib.pyplot")
        except ImportError as e:
            raise ImportError(
                "TimingCallbackHandler.plot() needs matplotlib, an optional dependency: "
                "`pip install matplotlib`. In a notebook the handler also displays itself "
                "(a table and an SVG chart) without it."
            ) from e
        values = [getattr(r.timings, metric) for r in self.runs]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 2.5))
        xs = list(range(1, len(values) + 1))
        ax.bar(xs, [v or 0.0 for v in values], color="#4c78a8")
        known = [v for v in values if v is not None]
        if known:
            median = statistics.median(known)
            ax.axhline(
                median, color="#e45756", linestyle="--", linewidth=1, label=f"median {median:.1f}"
            )
            ax.legend(loc="lower right")
        ax.set_xlabel("run")
        ax.set_ylabel(_PLOT_METRICS[metric])
        ax.set_title(f"{_PLOT_METRICS[metric]} per run")
        return ax


# --- `verbose=True` on a model -------------------------------------------------------------------
def _handlers(callbacks: Any) -> list[BaseCallbackHandler]:
    if isinstance(callbacks, BaseCallbackManager):
        return list(callbacks.handlers)
    if isinstance(callbacks, list | tuple):
        return [h for h in callbacks if isinstance(h, BaseCallbackHandler)]
    return []


def get_timing_handler(source: Any) -> TimingCallbackHandler | None:
    """The `TimingCallbackHandler` among a model's (or a callbacks list's) handlers.

    Args:
        source: A model (its `callbacks` are searched), a list of handlers, or a callback
            manager.

    Example:
        >>> handler = TimingCallbackHandler()
        >>> get_timing_handler([handler]) is handler
        True
    """
    callbacks = getattr(source, "callbacks", source)
    return next((h for h in _handlers(callbacks) if isinstance(h, TimingCallbackHandler)), None)


def with_verbose_timing(callbacks: Any, *, file: TextIO | None = None) -> Any:
    """`callbacks` plus a `TimingCallbackHandler` that prints each run's report (to stderr).

    This is what `verbose=True` on a model does: a face calls it from an after-validator,
    `self.callbacks = with_verbose_timing(self.callbacks)`. The input is not modified (a list
    or a manager is copied); if it already holds a printing `TimingCallbackHandler`, it is
    returned as it is, so calling this twice adds one handler.

    Args:
        callbacks: None, a list of handlers, or a callback manager.
        file: Where reports go; `sys.stderr` when None.

    Returns:
        Callbacks of the same kind (a list when `callbacks` was None).

    Example:
        >>> callbacks = with_verbose_timing(None)
        >>> get_timing_handler(callbacks).print_reports
        True
        >>> len(with_verbose_timing(callbacks))
        1
    """
    if any(isinstance(h, TimingCallbackHandler) and h.print_reports for h in _handlers(callbacks)):
        return callbacks
    handler = TimingCallbackHandler(print_reports=True, file=file)
    if isinstance(callbacks, BaseCallbackManager):
        manager = callbacks.copy()
        manager.add_handler(handler, inherit=False)
        return manager
    return [*(callbacks or []), handler]


def attach_verbose_timing(model: Any) -> None:
    """`verbose=True` on a model: add a printing `TimingCallbackHandler` to its callbacks.

    Faces call it from an after-validator; a model with `verbose` off is left as it is.
    """
    if getattr(model, "verbose", False):
        callbacks = with_verbose_timing(getattr(model, "callbacks", None))
        object.__setattr__(model, "callbacks", callbacks)


__all__ = [
    "MEASURED",
    "RunTimings",
    "TABLE_COLUMNS",
    "TimingCallbackHandler",
    "TimingSummary",
    "TimingTable",
    "get_timing_handler",
    "timings_from_generation",
    "usage_from_generation",
    "attach_verbose_timing",
    "with_verbose_timing",
]
