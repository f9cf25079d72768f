"""`localkit models`: the models on this computer, as a table fitted to the terminal.

The table lists the usable models, by source then name; the entries that could not be read are
counted on a last line, and `--all` lists them with their problem. `--json` prints every entry
(`LocalModel.to_dict()`, problems included). With nothing found it says where it looked.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from langchain_localkit._core.progress import is_terminal
from langchain_localkit.cli._common import CommandError, add_model_dirs

if TYPE_CHECKING:
    from langchain_localkit.discovery import LocalModel

COLUMNS = ("NAME", "SOURCE", "FAMILY", "QUANT", "PARAMS", "SIZE", "CONTEXT", "CAPABILITIES")
"""The table's columns."""

SHRINK = (("CAPABILITIES", 20), ("NAME", 28), ("FAMILY", 8), ("CAPABILITIES", 12), ("NAME", 12))
"""How the table fits a narrow terminal: these columns are cut (with `…`), in this order, each
down to the width given, until the table fits."""

GAP = "  "
ELLIPSIS = "…"


def add_parser(sub: Any) -> None:
    """Add the `models` command to the subcommands `sub`."""
    from langchain_localkit.discovery import SOURCES

    models = sub.add_parser(
        "models",
        help="list the models on this computer (Ollama, LM Studio, Hugging Face, GPT4All, ...)",
        description=(
            "List the GGUF models of Ollama's store, LM Studio, the Hugging Face cache, "
            "GPT4All, the packaged demo models and your own folders (--dir, $LOCALKIT_MODELS). "
            "Any NAME shown works as the model of `localkit chat` and `localkit info`."
        ),
    )
    models.add_argument(
        "--all", action="store_true", help="also list the entries that could not be read, and why"
    )
    models.add_argument("--json", action="store_true", help="print every entry as JSON")
    models.add_argument(
        "--source",
        action="append",
        choices=SOURCES,
        help="only this store (repeatable)",
    )
    add_model_dirs(models)
    models.set_defaults(func=run_models)


def human_size(size: int) -> str:
    """A file size in the units people read: `"98 MB"`, `"4.9 GB"`, `"-"` when unknown.

    Example:
        >>> human_size(98_000_000), human_size(4_920_000_000), human_size(650_123)
        ('98 MB', '4.9 GB', '650 KB')
    """
    if size <= 0:
        return "-"
    if size < 1e3:
        return f"{size} B"
    if size < 1e6:
        return f"{size / 1e3:.0f} KB"
    if size < 1e9:
        return f"{size / 1e6:.0f} MB"
    return f"{size / 1e9:.1f} GB"


def human_context(tokens: int | None) -> str:
    """A context length: `"8k"` for 8192, `"128k"` for 131072, as is otherwise.

    Example:
        >>> human_context(8192), human_context(131072), human_context(1000), human_context(None)
        ('8k', '128k', '1000', '-')
    """
    if not tokens:
        return "-"
    return f"{tokens // 1024}k" if tokens % 1024 == 0 else str(tokens)


def row(model: LocalModel) -> tuple[str, ...]:
    """A model's cells, in `COLUMNS` order."""
    return (
        model.name,
        model.source,
        model.family or "-",
        model.quantization or "-",
        model.parameters or "-",
        human_size(model.size),
        human_context(model.context_length),
        ",".join(model.capabilities) or "-",
    )


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, its end replaced by `…` when it is longer.

    Example:
        >>> cut("hf.co/bartowski/Qwen3-4B-GGUF", 12)
        'hf.co/barto…'
    """
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS


def format_table(
    rows: Sequence[Sequence[str]], columns: Sequence[str] = COLUMNS, *, width: int | None = None
) -> list[str]:
    """The lines of a table, fitted to its content and to `width`.

    Each column is as wide as its content; when the whole is wider than `width`, the `SHRINK`
    columns are cut (with `…`).

    Args:
        rows: The cells, one sequence per row, in `columns` order.
        columns: The headers.
        width: The terminal's width (None: no limit).

    Example:
        >>> format_table([("a-very-long-model-name", "ollama")], ("NAME", "SOURCE"), width=20)
        ['NAME          SOURCE', 'a-very-long…  ollama']
    """
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    if width is not None:
        over = sum(widths) + len(GAP) * (len(columns) - 1) - width
        for name, narrowest in SHRINK:
            if over <= 0:
                break
            if name in columns:
                i = list(columns).index(name)
                cut_by = min(over, max(widths[i] - max(narrowest, len(name)), 0))
                widths[i] -= cut_by
                over -= cut_by
        if over > 0 and len(columns) == 2:
            widths[0] = max(widths[0] - over, 4)

    def line(cells: Sequence[str]) -> str:
        return GAP.join(cut(c, w).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(columns), *(line(r) for r in rows)]


def problem_lines(broken: Sequence[LocalModel]) -> list[str]:
    """The entries that could not be read: name, source, then the problem (never cut)."""
    names = [f"{m.name} ({m.source})" for m in broken]
    wide = max(len(n) for n in names) if names else 0
    return [f"  {n:<{wide}}  {m.problem}" for n, m in zip(names, broken, strict=True)]


def write_models(
    models: Sequence[LocalModel],
    out: IO[str],
    *,
    show_all: bool = False,
    width: int | None = None,
    dirs: Sequence[str] = (),
    sources: Sequence[str] | None = None,
) -> None:
    """The table of usable models, then the unreadable ones (listed, or counted)."""
    usable = [m for m in models if m.usable]
    broken = [m for m in models if not m.usable]
    if usable:
        for line in format_table([row(m) for m in usable], width=width):
            out.write(line + "\n")
    elif not broken:
        write_nothing_found(out, dirs=dirs, sources=sources)
        return
    else:
        out.write("No usable models found.\n")
    if broken:
        n = len(broken)
        entries = "1 entry" if n == 1 else f"{n} entries"
        if show_all:
            out.write(f"\n{entries} could not be read:\n")
            for line in problem_lines(broken):
                out.write(line + "\n")
        else:
            out.write(f"\n{entries} could not be read: `localkit models --all` shows why\n")


def write_nothing_found(
    out: IO[str], *, dirs: Sequence[str] = (), sources: Sequence[str] | None = None
) -> None:
    """Where discovery looked, and how to add a folder."""
    from langchain_localkit.discovery import store_roots

    out.write("No models found. Looked in:\n")
    for source, roots in store_roots(dirs).items():
        if sources and source not in sources:
            continue
        for root in roots:
            state = "" if root.is_dir() else "  (missing)"
            out.write(f"  {source:<12} {root}{state}\n")
    out.write(
        "Add a folder of .gguf files with `localkit models --dir DIR`, or for every command "
        f"with LOCALKIT_MODELS=DIR{os.pathsep}DIR2.\n"
    )


def run_models(args: argparse.Namespace) -> int:
    """`localkit models`."""
    from langchain_localkit.discovery import find_models

    try:
        models = find_models(args.dir, sources=args.source)
    except ValueError as e:
        raise CommandError(str(e)) from e
    out = sys.stdout
    if args.json:
        json.dump([m.to_dict() for m in models], out, indent=2)
        out.write("\n")
        return 0
    width = shutil.get_terminal_size().columns if is_terminal(out) else None
    write_models(models, out, show_all=args.all, width=width, dirs=args.dir, sources=args.source)
    return 0


__all__ = [
    "COLUMNS",
    "add_parser",
    "cut",
    "format_table",
    "human_context",
    "human_size",
    "problem_lines",
    "row",
    "run_models",
    "write_models",
    "write_nothing_found",
]
