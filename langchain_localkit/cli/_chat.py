"""`localkit chat [MODEL] [MESSAGE...]`: one turn, a conversation on stdin, or a REPL.

- With a message: one turn, printed with a timing line.
- With stdin a pipe: one turn per line (`/reset`, `/system`, `/save` and `/exit` work too; their
  answers go to stderr, so stdout holds only the replies).
- With stdin a terminal: a REPL. The model is loaded once before the first prompt; replies
  stream; Ctrl-C stops an answer (kept, as far as it got) and at the prompt clears the line;
  `/help` lists the commands; line editing and the up arrow come from `readline`.

The first positional argument is the model only when it clearly is one (a provider string, an
existing file, a name `localkit models` lists); else every positional is the message. One that
looks like a model (`qwen3:4b`, `x.gguf`) but is not found is an error with the closest names.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_localkit._core.progress import timed_step
from langchain_localkit._core.reasoning import Reasoning
from langchain_localkit.cli._common import (
    add_generation_arguments,
    add_model_dirs,
    generation_options,
    styled,
)
from langchain_localkit.cli._resolve import (
    ResolvedModel,
    find_model_argument,
    looks_like_model,
    resolve_model,
)
from langchain_localkit.cli._session import ChatSession, Conversation
from langchain_localkit.cli._turn import StopOnInterrupt

REASONING: dict[str, Reasoning] = {
    "on": True,
    "off": False,
    "low": "low",
    "medium": "medium",
    "high": "high",
}
"""`--reasoning` -> the chat model's `reasoning=`."""

PROMPT = "> "


def add_parser(sub: Any) -> None:
    """Add the `chat` command to the subcommands `sub`."""
    chat = sub.add_parser(
        "chat",
        help="chat with a model: one turn, a conversation on stdin, or a REPL on a terminal",
        description=(
            "Chat with a model in its own chat template. MODEL (or --model) is a GGUF file, a "
            "name `localkit models` lists, or a provider string (ollama:llama3.1:8b, "
            "lmstudio:qwen3-4b, llama-server:@http://127.0.0.1:8080); default: the packaged "
            "SmolLM2-135M-Instruct. With a MESSAGE: one turn. Without: a REPL on a terminal "
            "(/help lists its commands), else one turn per line of stdin."
        ),
    )
    chat.add_argument(
        "message",
        nargs="*",
        metavar="[MODEL] MESSAGE",
        help="the model (when it names one), then one message to answer",
    )
    chat.add_argument(
        "--model",
        "-m",
        help="a GGUF file, a model name, or a provider string (default: SmolLM2-135M-Instruct)",
    )
    chat.add_argument("--system", "-s", help="a system message")
    chat.add_argument(
        "--reasoning",
        choices=tuple(REASONING),
        help="thinking models: on (thoughts shown apart), off (asked not to think), or an effort",
    )
    add_model_dirs(chat)
    add_generation_arguments(
        chat, max_tokens=256, max_tokens_help="tokens per reply", temperature=0.0
    )
    chat.add_argument("--quiet", "-q", action="store_true", help="no timing lines")
    chat.set_defaults(func=run_chat)


def default_chat_model() -> Path:
    """The packaged instruct model (SmolLM2-135M-Instruct)."""
    from langchain_localkit._core.default_model import smollm2_model_path

    return smollm2_model_path()


def pick_model(
    option: str | None, words: Sequence[str], *, dirs: Sequence[str] = ()
) -> tuple[ResolvedModel | None, list[str]]:
    """The model and the message words of `localkit chat [MODEL] [MESSAGE...]`.

    Args:
        option: `--model`, if given (then every word is the message).
        words: The positional arguments.
        dirs: `--dir` directories.

    Returns:
        The model (None: the default) and the words of the message.

    Raises:
        ModelNotFoundError: The first word looks like a model but none has that name.
    """
    if option:
        return resolve_model(option, dirs=dirs), list(words)
    if not words:
        return None, []
    first = words[0]
    found = find_model_argument(first, dirs=dirs)
    if found is None and looks_like_model(first):
        found = resolve_model(first, dirs=dirs)
    if found is not None:
        return found, list(words[1:])
    return None, list(words)


def load(chat: Any, name: str) -> None:
    """Load an in-process model now (saying so on a terminal), so no turn waits for it."""
    engine = getattr(chat, "engine", None)
    if engine is not None and getattr(engine, "in_process", False):
        with timed_step(f"loading {name}", stream=sys.stderr):
            engine.load()


def run_chat(args: argparse.Namespace) -> int:
    """`localkit chat`."""
    model, words = pick_model(args.model, args.message, dirs=args.dir)
    if model is None:
        model = ResolvedModel("", path=default_chat_model())
    options = generation_options(args)
    if args.reasoning is not None:
        options["reasoning"] = REASONING[args.reasoning]
    chat = model.chat_model(options)
    out = sys.stdout
    conversation = Conversation(model.name, args.system)
    if words:
        load(chat, model.name)
        text = " ".join(words)
        out.write(f"# {model.name} via {model.runtime}\n> {text}\n")
        session = ChatSession(
            chat, conversation, out, notices=sys.stderr, styled=styled(out), quiet=args.quiet
        )
        session.turn(text)
        return 0
    if sys.stdin.isatty():
        load(chat, model.name)
        session = ChatSession(
            chat,
            conversation,
            out,
            styled=styled(out),
            quiet=args.quiet,
            stop=StopOnInterrupt(),
            recover=True,
        )
        return repl(session, model)
    session = ChatSession(chat, conversation, out, notices=sys.stderr, quiet=args.quiet)
    load(chat, model.name)
    for line in sys.stdin:
        if not session.handle(line):
            break
    return 0


def _enable_readline() -> None:
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (input() edits lines and keeps their history with it)


def repl(session: ChatSession, model: ResolvedModel) -> int:
    """Read lines on the terminal until `/exit` or Ctrl-D; Ctrl-C at the prompt clears it."""
    _enable_readline()
    out = session.out
    out.write(f"# {model.name} via {model.runtime}\n")
    session.notice("/help lists the commands; Ctrl-C stops an answer; /exit or Ctrl-D leaves")
    if session.conversation.system:
        session.notice(f"system: {session.conversation.system}")
    while True:
        try:
            line = input(PROMPT)
        except KeyboardInterrupt:
            out.write("\n")
            session.notice("(to leave, type /exit or press Ctrl-D)")
            continue
        except EOFError:
            out.write("\n")
            break
        try:
            if not session.handle(line):
                break
        except KeyboardInterrupt:  # between two answers, or while a command ran
            out.write("\n")
            session.notice("(interrupted)")
    out.flush()
    return 0


__all__ = [
    "REASONING",
    "add_parser",
    "default_chat_model",
    "load",
    "pick_model",
    "repl",
    "run_chat",
]
