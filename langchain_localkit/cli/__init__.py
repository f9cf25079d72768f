"""The `localkit` command: run, chat with and inspect local models from the shell.

localkit models                                 # the models on this computer (Ollama, HF, ...)
localkit chat                                   # a REPL with the packaged SmolLM2-135M-Instruct
localkit chat llama3.1:8b                       # ... with a model `localkit models` lists
localkit chat "What is the capital of France?"  # one turn (the default instruct model)
localkit chat qwen3:4b "Hi" --reasoning on      # one turn, the thoughts shown apart
localkit chat ollama:qwen3:4b                   # a model Ollama serves (any provider string)
localkit chat -m model.gguf < lines.txt         # one turn per line of stdin
localkit run "The first man on the moon was"    # a completion (the embedded Gemma 3 270M)
localkit run --model path/to/model.gguf "Hello" # ... with any GGUF file or model name
localkit info llama3.1:8b                       # header, capabilities and profile of a model
localkit info lmstudio:qwen3-4b --json          # a server's profile, asked now
localkit doctor                                 # this CPU, the llama.cpp build, AMX

A model argument is a provider string (`ollama:llama3.1:8b`, `llamacpp:x.gguf`,
`llama-server:@http://127.0.0.1:8080`), a GGUF path, or a name `localkit models` lists.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from langchain_localkit._core.errors import LocalKitError
from langchain_localkit.cli import _chat, _doctor, _info, _models, _run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `localkit` command."""
    parser = argparse.ArgumentParser(
        prog="localkit", description="Run LLMs on your own machine (langchain-localkit)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (_models, _chat, _run, _info, _doctor):
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `localkit` command.

    Returns:
        The exit code: 0, 2 for an error the message explains (no traceback), 130 after
        Ctrl-C.
    """
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "chat" and not any(e.startswith("-") for e in extra):
        args.message += extra  # `localkit chat MODEL -n 64 the message`: words after options
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args))
    except (LocalKitError, ImportError) as e:
        sys.stderr.write(f"localkit: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except BrokenPipeError:
        # the reader left (`localkit models | head`): say nothing more, on stdout or stderr
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


__all__ = ["build_parser", "main"]
