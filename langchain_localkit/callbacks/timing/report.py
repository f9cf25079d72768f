"""The records of timed runs, their aggregates, and the ways to show them.

`RunTimings` is one run, `TimingSummary` the aggregates over runs, `TimingTable` the per-run
table; each reads as llama.cpp's report, a plain table, a notebook view or JSON-ready dicts.
"""

from __future__ import annotations

import importlib
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from math import floor
from typing import Any, Literal
from uuid import UUID

from langchain_localkit._core.timings import Timings
from langchain_localkit.callbacks._html import bars_svg, fmt, table_html

MEASURED = "measured"
"""`Timings.source` of a run whose runtime reported no figures: all measured by the handler."""

DEFAULT_PREFIX = "localkit_timings"
"""The label at the start of each report line."""

PLOT_METRICS = {
    "eval_tokens_per_second": "eval tokens/s",
    "prompt_tokens_per_second": "prompt tokens/s",
    "ttft_ms": "time to first token (ms)",
    "total_ms": "total time (ms)",
}
"""The `Timings` figures `plot_runs` can draw, with their axis labels."""


def _percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation, as numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


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


def _total(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


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
        >>> TimingSummary.of([]).runs
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
        sources = list(dict.fromkeys(t.source for t in ts if t.source))
        totals = Timings(
            prompt_tokens=sum(t.prompt_tokens for t in ts),
            prompt_ms=sum(t.prompt_ms for t in ts),
            eval_tokens=sum(t.eval_tokens for t in ts),
            eval_ms=sum(t.eval_ms for t in ts),
            cached_tokens=sum(t.cached_tokens for t in ts),
            load_ms=_total([t.load_ms for t in ts]),
            sample_ms=_total([t.sample_ms for t in ts]),
            total_ms=_total([t.total_ms for t in ts]),
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


def runs_table(runs: Sequence[RunTimings]) -> TimingTable:
    """The runs as a `TimingTable` with `TABLE_COLUMNS`, numbered from 1.

    Example:
        >>> from uuid import uuid4
        >>> runs_table([RunTimings(uuid4(), Timings(eval_tokens=8))]).to_records()[0]["run"]
        1
    """
    rows = [
        (
            i,
            r.model_name,
            r.timings.source,
            r.timings.prompt_tokens,
            r.timings.cached_tokens,
            r.timings.prompt_ms,
            r.timings.prompt_tokens_per_second,
            r.timings.eval_tokens,
            r.timings.eval_ms,
            r.timings.eval_tokens_per_second,
            r.timings.ttft_ms,
            r.timings.load_ms,
            r.timings.total_ms,
        )
        for i, r in enumerate(runs, start=1)
    ]
    return TimingTable(TABLE_COLUMNS, tuple(rows))


def runs_html(runs: Sequence[RunTimings], summary: TimingSummary) -> str:
    """The notebook view of runs: the summary, a bar chart of eval rates, the per-run table."""
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
    rates = [r.timings.eval_tokens_per_second for r in runs]
    return (
        '<div class="localkit-timing-handler">'
        + table_html(("", "value"), rows, caption="Timings")
        + bars_svg(rates, unit="eval tokens/s", median=summary.eval_rate_median)
        + runs_table(runs)._repr_html_()
        + "</div>"
    )


def plot_runs(
    runs: Sequence[RunTimings], ax: Any = None, *, metric: str = "eval_tokens_per_second"
) -> Any:
    """A small bar chart of one figure per run, with its median (needs matplotlib).

    Args:
        runs: The runs, one bar each.
        ax: A matplotlib `Axes` to draw on; a new 6x2.5 inch figure when None.
        metric: One of `PLOT_METRICS`.

    Returns:
        The `Axes`.

    Raises:
        ImportError: matplotlib is not installed (it is an optional extra).
        ValueError: Unknown metric.
    """
    if metric not in PLOT_METRICS:
        raise ValueError(f"metric must be one of {', '.join(PLOT_METRICS)}; got {metric!r}")
    try:
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError as e:
        raise ImportError(
            "TimingCallbackHandler.plot() needs matplotlib, an optional dependency: "
            "`pip install matplotlib`. In a notebook the handler also displays itself "
            "(a table and an SVG chart) without it."
        ) from e
    values = [getattr(r.timings, metric) for r in runs]
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
    ax.set_ylabel(PLOT_METRICS[metric])
    ax.set_title(f"{PLOT_METRICS[metric]} per run")
    return ax


__all__ = [
    "DEFAULT_PREFIX",
    "MEASURED",
    "PLOT_METRICS",
    "TABLE_COLUMNS",
    "RunTimings",
    "TimingSummary",
    "TimingTable",
    "plot_runs",
    "runs_html",
    "runs_table",
]
