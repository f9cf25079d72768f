"""A chat session: the conversation, its slash commands, and saving it.

`ChatSession.handle(line)` is the whole REPL minus the terminal: a message is a turn, a line
starting with `/` is a command (`/system`, `/reset`, `/save`, `/help`, `/exit`). The REPL
(`_chat.py`) reads lines and hands them over; tests hand them over directly.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from langchain_localkit._core.errors import LocalKitError
from langchain_localkit.cli._common import DIM, RESET
from langchain_localkit.cli._turn import (
    Reply,
    StopOnInterrupt,
    stream_reply,
    timing_line,
    write_timing,
)

Role = Literal["user", "assistant"]

COMMANDS: dict[str, str] = {
    "/system [TEXT]": "set the system message (no text: show it)",
    "/reset": "forget the conversation (the system message stays)",
    "/save [FILE]": "save the conversation (JSON; a .md name: Markdown)",
    "/help": "this list",
    "/exit, /quit": "leave (Ctrl-D too)",
}
"""The commands, as `/help` lists them."""


@dataclass
class Message:
    """One turn of the conversation.

    Attributes:
        role: "user" or "assistant".
        content: What was said (an assistant's answer without its thoughts).
        reasoning: The assistant's thoughts, kept apart (never sent back to the model).
        timings: The runtime's timings of an assistant turn.
        finish_reason: Why the answer ended ("stop", "length", ...), when the runtime said.
        stopped: The answer was stopped with Ctrl-C (`content` is what came before).
    """

    role: Role
    content: str
    reasoning: str = ""
    timings: dict[str, Any] | None = None
    finish_reason: str | None = None
    stopped: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The message as JSON: role and content, plus what an answer adds."""
        found: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.reasoning:
            found["reasoning"] = self.reasoning
        if self.finish_reason:
            found["finish_reason"] = self.finish_reason
        if self.timings:
            found["timings"] = self.timings
        if self.stopped:
            found["stopped"] = True
        return found


@dataclass
class Conversation:
    """The conversation with one model: a system message and the turns since.

    Attributes:
        model: The model's name, for saved files.
        system: The system message (None: none).
        messages: The turns, oldest first.
    """

    model: str
    system: str | None = None
    messages: list[Message] = field(default_factory=list)

    def for_model(self) -> list[tuple[str, str]]:
        """The conversation as the chat model reads it: (role, content) pairs."""
        pairs = [("system", self.system)] if self.system else []
        return pairs + [(m.role, m.content) for m in self.messages]

    def reset(self) -> None:
        """Forget the turns (the system message stays)."""
        self.messages.clear()

    def to_dict(self) -> dict[str, Any]:
        """The conversation as JSON: the model, when, and the messages (system first)."""
        system = [{"role": "system", "content": self.system}] if self.system else []
        return {
            "model": self.model,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "messages": system + [m.to_dict() for m in self.messages],
        }

    def to_markdown(self) -> str:
        """The conversation as Markdown: a heading per turn, timings in italics."""
        lines = [f"# Chat with {self.model}", "", f"Saved {time.strftime('%Y-%m-%d %H:%M')}."]
        if self.system:
            lines += ["", "## System", "", self.system]
        for m in self.messages:
            lines += ["", "## You" if m.role == "user" else f"## {self.model}", ""]
            if m.reasoning:
                lines += ["> " + line for line in m.reasoning.strip().splitlines()] + [""]
            lines.append(m.content.strip() + (" [stopped]" if m.stopped else ""))
            if m.timings:
                reply = Reply(timings=m.timings, finish_reason=m.finish_reason)
                lines += ["", f"_{timing_line(reply)}_"]
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path | None = None) -> Path:
        """Write the conversation to `path` (default: `localkit-chat-<time>.json` here).

        A name ending in `.md` gets Markdown, anything else JSON.

        Returns:
            The absolute path written.
        """
        target = Path(path).expanduser() if path else default_save_path()
        if target.suffix.lower() in (".md", ".markdown"):
            text = self.to_markdown()
        else:
            text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        target.write_text(text, encoding="utf-8")
        return target.resolve()


def default_save_path() -> Path:
    """`localkit-chat-YYYYmmdd-HHMMSS.json` in the current directory."""
    return Path(f"localkit-chat-{time.strftime('%Y%m%d-%H%M%S')}.json")


@dataclass(frozen=True)
class Command:
    """A slash command: its name (`"save"`) and the text after it (`"notes.md"`)."""

    name: str
    argument: str


def parse_command(line: str) -> Command | None:
    """The command a line gives, or None when it is a message.

    A line is a command when it starts with `/` and a letter; `//text` sends `/text` as a
    message.

    Example:
        >>> parse_command("/save notes.md"), parse_command("hello"), parse_command("//x")
        (Command(name='save', argument='notes.md'), None, None)
    """
    text = line.strip()
    if not text.startswith("/") or len(text) < 2 or not text[1].isalpha():
        return None
    name, _, argument = text[1:].partition(" ")
    return Command(name.lower(), argument.strip())


class ChatSession:
    """A conversation with a chat model, driven one line at a time.

    Args:
        chat: The chat model (loaded already, if in process).
        conversation: The conversation to continue.
        out: Where replies go.
        notices: Where the commands' answers go (the terminal; stderr for a pipe).
        styled: `out` is a terminal (dimmed thoughts and timing lines).
        quiet: No timing lines.
        stop: The Ctrl-C switch for replies (None: Ctrl-C is not caught).
        recover: Show a failed turn's error and go on (the REPL); else raise it.
    """

    def __init__(
        self,
        chat: Any,
        conversation: Conversation,
        out: IO[str],
        *,
        notices: IO[str] | None = None,
        styled: bool = False,
        quiet: bool = False,
        stop: StopOnInterrupt | None = None,
        recover: bool = False,
    ) -> None:
        self.chat = chat
        self.conversation = conversation
        self.out = out
        self.notices = notices if notices is not None else out
        self.styled = styled
        self.quiet = quiet
        self.stop = stop
        self.recover = recover

    def notice(self, text: str) -> None:
        """Tell the user something (dimmed on a terminal)."""
        styled = self.styled and self.notices is self.out
        self.notices.write(f"{DIM}{text}{RESET}\n" if styled else text + "\n")
        self.notices.flush()

    def handle(self, line: str) -> bool:
        """Run one line: a message (a turn) or a command. Returns False to end the session."""
        text = line.strip()
        if not text:
            return True
        command = parse_command(text)
        if command is None:
            self.turn(text[1:] if text.startswith("//") else text)
            return True
        return self.run_command(command)

    def turn(self, text: str) -> Reply | None:
        """Send `text`, stream the reply, and keep both in the conversation.

        Returns:
            The reply, or None when the model failed and `recover` is set (the error is
            shown, the message forgotten, and the session goes on: a server that went away, a
            full context).

        Raises:
            LocalKitError: The model failed (without `recover`).
        """
        self.conversation.messages.append(Message("user", text))
        try:
            reply = stream_reply(
                self.chat,
                self.conversation.for_model(),
                self.out,
                styled=self.styled,
                stop=self.stop,
            )
        except LocalKitError as e:
            self.conversation.messages.pop()
            if not self.recover:
                raise
            self.notice(f"error: {e}")
            return None
        self.conversation.messages.append(
            Message(
                "assistant",
                reply.text,
                reasoning=reply.reasoning,
                timings=reply.timings,
                finish_reason=reply.finish_reason,
                stopped=reply.stopped,
            )
        )
        if reply.stopped or not self.quiet:
            write_timing(reply, self.out, styled=self.styled)
        return reply

    def run_command(self, command: Command) -> bool:
        """Run a slash command. Returns False for `/exit` and `/quit`."""
        name, argument = command.name, command.argument
        if name in ("exit", "quit", "bye"):
            return False
        if name == "system":
            if argument:
                self.conversation.system = argument
                self.notice("system message set")
            else:
                self.notice(f"system: {self.conversation.system or '(none)'}")
        elif name == "reset":
            self.conversation.reset()
            kept = " (the system message stays)" if self.conversation.system else ""
            self.notice(f"conversation forgotten{kept}")
        elif name == "save":
            try:
                path = self.conversation.save(argument or None)
            except OSError as e:
                self.notice(f"could not save: {e}")
                return True
            count = len(self.conversation.messages) + bool(self.conversation.system)
            self.notice(f"saved {count} messages to {path}")
        elif name == "help":
            width = max(len(c) for c in COMMANDS)
            for usage, meaning in COMMANDS.items():
                self.notice(f"  {usage:<{width}}  {meaning}")
            self.notice("  Ctrl-C stops an answer; //text sends a line starting with /")
        else:
            self.notice(f"unknown command /{name}: /help lists the commands")
        return True


__all__ = [
    "COMMANDS",
    "ChatSession",
    "Command",
    "Conversation",
    "Message",
    "default_save_path",
    "parse_command",
]
