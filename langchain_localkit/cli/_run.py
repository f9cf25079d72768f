"""`localkit run PROMPT`: stream a completion and print llama.cpp's timing report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from langchain_localkit.cli._common import (
    CommandError,
    add_generation_arguments,
    add_model_dirs,
    build,
    generation_options,
)
from langchain_localkit.cli._resolve import resolve_model


def add_parser(sub: Any) -> None:
    """Add the `run` command to the subcommands `sub`."""
    run = sub.add_parser("run", help="stream a completion and print llama.cpp's timing report")
    run.add_argument("prompt", help="the prompt text")
    run.add_argument(
        "--model",
        "-m",
        help="a GGUF file or a model name `localkit models` lists "
        "(default: the embedded Gemma 3 270M)",
    )
    add_model_dirs(run)
    add_generation_arguments(
        run, max_tokens=128, max_tokens_help="tokens to generate", temperature=0.8
    )
    run.add_argument("--quiet", "-q", action="store_true", help="no timing report")
    run.set_defaults(func=run_completion)


def default_model() -> Path:
    """The embedded base model (Gemma 3 270M), assembled on first use."""
    from langchain_localkit._core.default_model import gemma_model_path

    return gemma_model_path()


def model_path(argument: str | None, dirs: list[str]) -> Path:
    """The GGUF `run --model` names (default: Gemma 3 270M).

    Raises:
        CommandError: The argument names a server's model: `run` completes in process only.
    """
    if not argument:
        return default_model()
    resolved = resolve_model(argument, dirs=dirs)
    if resolved.path is None:
        raise CommandError(
            f"`localkit run` completes with llama.cpp in process and needs a GGUF, not "
            f"{argument!r}; `localkit chat {argument}` talks to a server's model."
        )
    return resolved.path


def run_completion(args: argparse.Namespace) -> int:
    """`localkit run`."""
    from langchain_localkit._core.generation import GenerationInfo
    from langchain_localkit.llms.llamacpp import LlamaCpp

    model = model_path(args.model, args.dir)
    llm = build(LlamaCpp, model_path=str(model), **generation_options(args))
    llm.engine.load()
    out = sys.stdout
    out.write(f"# {model.name} via llama.cpp\n{args.prompt}")
    out.flush()
    info: GenerationInfo | None = None
    for item in llm.engine.stream(args.prompt, llm._sampling(None, {})):
        if isinstance(item, str):
            out.write(item)
            out.flush()
        else:
            info = item
    out.write("\n")
    if info is not None and not args.quiet:
        out.write(f"\n{info.timings.report()}\n")
        out.write(
            f"finish_reason={info.finish_reason} input_tokens={info.prompt_tokens} "
            f"output_tokens={info.completion_tokens}\n"
        )
    out.flush()
    return 0


__all__ = ["add_parser", "default_model", "model_path", "run_completion"]
