"""Small HTML and SVG renderings for notebooks, with no dependency beyond the standard library."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

_BAR = "#4c78a8"
_MEDIAN = "#e45756"


def fmt(value: Any) -> str:
    """A cell value as text: floats with two decimals, None as an en dash."""
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table_html(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str | None = None
) -> str:
    """An HTML table; numbers are right-aligned and every cell is escaped."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for value in row:
            align = (
                "right"
                if isinstance(value, int | float) and not isinstance(value, bool)
                else "left"
            )
            cells.append(f'<td style="text-align:{align}">{html.escape(fmt(value))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        '<table class="localkit-timings">'
        f"{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def bars_svg(
    values: Sequence[float | None],
    *,
    unit: str,
    median: float | None = None,
    width: int = 480,
    height: int = 140,
) -> str:
    """An inline SVG bar chart of one value per run, with a dashed median line.

    Runs without a value get no bar. Each bar has a tooltip with its run number and value.
    """
    known = [v for v in values if v is not None]
    if not known:
        return ""
    top = max(known) or 1.0
    pad_left, pad_bottom, pad_top = 44, 18, 8
    plot_w = width - pad_left - 4
    plot_h = height - pad_bottom - pad_top
    step = plot_w / len(values)
    bar_w = max(step * 0.8, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(unit)} per run" '
        'style="font: 10px sans-serif">',
        f'<text x="2" y="{pad_top + 8}">{top:.1f}</text>',
        f'<text x="2" y="{pad_top + plot_h}">0</text>',
        f'<text x="{pad_left}" y="{height - 4}">run 1..{len(values)} ({html.escape(unit)})</text>',
        f'<line x1="{pad_left - 2}" y1="{pad_top + plot_h}" x2="{width - 4}" '
        f'y2="{pad_top + plot_h}" stroke="#888"/>',
    ]
    for i, value in enumerate(values):
        if value is None:
            continue
        h = plot_h * value / top
        x = pad_left + i * step + (step - bar_w) / 2
        y = pad_top + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{_BAR}">'
            f"<title>run {i + 1}: {value:.2f} {html.escape(unit)}</title></rect>"
        )
    if median is not None:
        y = pad_top + plot_h - plot_h * median / top
        parts.append(
            f'<line x1="{pad_left}" y1="{y:.1f}" x2="{width - 4}" y2="{y:.1f}" '
            f'stroke="{_MEDIAN}" stroke-dasharray="4 3"><title>median {median:.2f}</title></line>'
        )
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["bars_svg", "fmt", "table_html"]
