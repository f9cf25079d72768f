"""`TimingCallbackHandler`: the speed figures of every model run, measured where not reported.

The handler reads each runtime's own figures from the run's result in `on_llm_end`, and
measures around the call what a runtime does not report (time to first token, wall time, and
everything for a runtime that reports nothing).
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TextIO
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from langchain_localkit._core.timings import Timings
from langchain_localkit.callbacks.streaming import token_text
from langchain_localkit.callbacks.timing.readers import read_result
from langchain_localkit.callbacks.timing.report import (
    DEFAULT_PREFIX,
    MEASURED,
    RunTimings,
    TimingSummary,
    TimingTable,
    plot_runs,
    runs_html,
    runs_table,
)


@dataclass
class _Pending:
    kind: Literal["llm", "chat"]
    start: float
    started_at: float
    model_name: str | None
    first_token_at: float | None = None
    tokens: int = 0


def _complete(
    reported: Timings | None,
    usage: dict[str, int] | None,
    tokens: int,
    ttft: float | None,
    total: float | None,
) -> tuple[Timings, tuple[str, ...]]:
    """The run's timings with the figures measured around the call filled in, and their names.

    Args:
        reported: The runtime's own figures, if it reported any.
        usage: The run's reported token counts, if any.
        tokens: The tokens the handler saw streamed.
        ttft: Measured time to first token (ms), if the run streamed.
        total: Measured wall time (ms), if the handler saw the run start.
    """
    if reported is not None:
        timings, measured = reported, []
        if timings.ttft_ms is None and ttft is not None:
            timings = dataclasses.replace(timings, ttft_ms=ttft)
            measured.append("ttft_ms")
        if timings.total_ms is None and total is not None:
            timings = dataclasses.replace(timings, total_ms=total)
            measured.append("total_ms")
        return timings, tuple(measured)
    prompt_ms = ttft or 0.0
    timings = Timings(
        prompt_tokens=usage["input_tokens"] if usage else 0,
        prompt_ms=prompt_ms,
        eval_tokens=usage["output_tokens"] if usage else tokens,
        eval_ms=max((total or 0.0) - prompt_ms, 0.0),
        ttft_ms=ttft,
        total_ms=total,
        source=MEASURED,
    )
    figures = (("prompt_ms", ttft), ("eval_ms", total), ("ttft_ms", ttft), ("total_ms", total))
    return timings, tuple(name for name, value in figures if value is not None)


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
        found = read_result(response)
        ttft = total = None
        if pending is not None:
            total = (end - pending.start) * 1e3
            if pending.first_token_at is not None:
                ttft = (pending.first_token_at - pending.start) * 1e3
        tokens = pending.tokens if pending else 0
        timings, measured = _complete(found.timings, found.usage, tokens, ttft, total)
        return RunTimings(
            run_id=run_id,
            timings=timings,
            usage=found.usage,
            model_name=found.model_name or (pending.model_name if pending else None),
            kind=pending.kind if pending else "llm",
            measured=measured,
            started_at=pending.started_at if pending else time.time(),
        )

    def _snapshot(self) -> tuple[list[RunTimings], int]:
        with self._lock:
            return list(self._runs), self._failed

    @property
    def runs(self) -> list[RunTimings]:
        """The finished runs, oldest first."""
        return self._snapshot()[0]

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
        return TimingSummary.of(*self._snapshot())

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
        runs, failed = self._snapshot()
        return {
            "runs": [r.to_dict() for r in runs],
            "summary": TimingSummary.of(runs, failed).to_dict(),
        }

    def table(self) -> TimingTable:
        """Per-run figures as a `TimingTable` (text, HTML, or records for pandas)."""
        return runs_table(self.runs)

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per run (`RunTimings.to_dict()`), e.g. for `pandas.DataFrame`."""
        return [r.to_dict() for r in self.runs]

    def _repr_html_(self) -> str:
        runs, failed = self._snapshot()
        return runs_html(runs, TimingSummary.of(runs, failed))

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
        return plot_runs(self.runs, ax, metric=metric)


__all__ = ["TimingCallbackHandler"]
