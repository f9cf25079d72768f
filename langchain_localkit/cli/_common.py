"""What the `localkit` commands share: the error they raise, generation options, styling."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import IO, Any, TypeVar

from langchain_localkit._core.errors import LocalKitError
from langchain_localkit._core.progress import is_terminal

DIM = "\x1b[2m"
"""ANSI: dimmed text (thoughts, timing lines on a terminal)."""
RESET = "\x1b[0m"
"""ANSI: back to normal text."""

T = TypeVar("T")


class CommandError(LocalKitError):
    """A command cannot run as asked (an unknown model, a wrong argument): exit code 2."""


def build(cls: Callable[..., T], **kwargs: Any) -> T:
    """`cls(**kwargs)`, a refused argument raised as a `CommandError` that says which.

    Example:
        >>> from pydantic import BaseModel, Field
        >>> class Options(BaseModel):
        ...     n_ctx: int = Field(gt=0)
        >>> build(Options, n_ctx=0)
        Traceback (most recent call last):
        ...
        langchain_localkit.cli._common.CommandError: n_ctx: Input should be greater than 0
    """
    from pydantic import ValidationError

    try:
        return cls(**kwargs)
    except ValidationError as e:
        raise CommandError(validation_message(e)) from e


def validation_message(error: Any) -> str:
    """A pydantic `ValidationError` in one line: each refused field and why."""
    reasons = []
    for err in error.errors():
        reason = str(err["msg"]).removeprefix("Value error, ")
        where = ".".join(str(part) for part in err.get("loc", ()))
        reasons.append(f"{where}: {reason}" if where else reason)
    return "; ".join(reasons)


def add_model_dirs(parser: argparse.ArgumentParser) -> None:
    """Add `--dir DIR` (repeatable): more directories to find model names in."""
    parser.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="DIR",
        help="also look for models in DIR (repeatable; $LOCALKIT_MODELS adds more)",
    )


def add_generation_arguments(
    parser: argparse.ArgumentParser, *, max_tokens: int, max_tokens_help: str, temperature: float
) -> None:
    """Add the options that `generation_options` reads, with the command's own defaults."""
    parser.add_argument("--max-tokens", "-n", type=int, default=max_tokens, help=max_tokens_help)
    parser.add_argument("--temperature", "-t", type=float, default=temperature, help="0 is greedy")
    parser.add_argument("--seed", type=int, default=-1, help="sampling seed (-1: random)")
    parser.add_argument("--n-ctx", type=int, default=None, help="context window in tokens")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads")


def generation_options(args: argparse.Namespace) -> dict[str, Any]:
    """The load and sampling options that `run` and `chat` share (llama.cpp's names)."""
    return {
        "n_ctx": args.n_ctx,
        "n_threads": args.threads,
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "seed": args.seed,
    }


def styled(out: IO[str]) -> bool:
    """Whether `out` is a terminal, so ANSI styling shows as style rather than as codes."""
    return is_terminal(out)


__all__ = [
    "DIM",
    "RESET",
    "CommandError",
    "add_generation_arguments",
    "add_model_dirs",
    "build",
    "validation_message",
    "generation_options",
    "styled",
]
