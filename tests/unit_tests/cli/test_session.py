"""The chat REPL without a terminal: lines fed to `ChatSession.handle`, on the tiny model."""

from __future__ import annotations

import io
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp
from langchain_localkit.cli._session import ChatSession, Command, Conversation, parse_command
from langchain_localkit.cli._turn import THOUGHT_PREFIX, StopOnInterrupt
from langchain_localkit.testing.tiny import TINY_WORDS
from tests import models


@pytest.fixture(scope="module")
def tiny_chat() -> Iterator[ChatLlamaCpp]:
    chat = ChatLlamaCpp(model_path=str(models.tiny_path()), temperature=0, max_tokens=8, n_ctx=4096)
    chat.engine.load()
    yield chat
    chat.unload()


def session(chat: ChatLlamaCpp, **kwargs: object) -> tuple[ChatSession, io.StringIO]:
    out = io.StringIO()
    return ChatSession(chat, Conversation("tiny"), out, **kwargs), out  # type: ignore[arg-type]


def test_parse_command() -> None:
    assert parse_command("/system Be brief. ") == Command("system", "Be brief.")
    assert parse_command("  /SAVE  notes.md") == Command("save", "notes.md")
    assert parse_command("/exit") == Command("exit", "")
    for message in ("hello", "//etc/hosts is a file", "/ 2", "/", "a /reset"):
        assert parse_command(message) is None, message


def test_a_turn_streams_and_keeps_the_history(tiny_chat: ChatLlamaCpp) -> None:
    chat, out = session(tiny_chat)
    assert chat.handle("the moon")
    user, answer = chat.conversation.messages
    assert (user.role, user.content) == ("user", "the moon")
    assert answer.role == "assistant" and answer.finish_reason == "length"
    assert all(word in TINY_WORDS for word in answer.content.split())
    reply_line, timing = out.getvalue().splitlines()
    assert reply_line == answer.content
    assert timing.startswith("[length; ") and "8 generated at" in timing and "tokens/s" in timing
    assert "first token after" in timing
    assert answer.timings is not None and answer.timings["eval_tokens"] == 8
    assert chat.handle("  ") and len(chat.conversation.messages) == 2  # blank: nothing sent
    chat.handle("the sun")
    assert [m.role for m in chat.conversation.messages] == ["user", "assistant"] * 2


def test_quiet_and_styled(tiny_chat: ChatLlamaCpp) -> None:
    chat, out = session(tiny_chat, quiet=True)
    chat.handle("the moon")
    assert "[" not in out.getvalue()
    chat, out = session(tiny_chat, styled=True)
    chat.handle("the moon")
    assert out.getvalue().splitlines()[-1].startswith("\x1b[2m[length; ")


def test_system_reset_help_and_unknown(tiny_chat: ChatLlamaCpp) -> None:
    chat, out = session(tiny_chat)
    chat.handle("/system")
    chat.handle("/system Answer in one word.")
    chat.handle("/system")
    chat.handle("the moon")
    assert chat.conversation.for_model()[0] == ("system", "Answer in one word.")
    chat.handle("/reset")
    assert chat.conversation.messages == [] and chat.conversation.system == "Answer in one word."
    chat.handle("/help")
    chat.handle("/frobnicate now")
    text = out.getvalue()
    assert text.startswith("system: (none)\nsystem message set\nsystem: Answer in one word.\n")
    assert "conversation forgotten (the system message stays)\n" in text
    assert "  /save [FILE]    save the conversation" in text
    assert text.endswith("unknown command /frobnicate: /help lists the commands\n")
    assert chat.handle("/exit") is False and chat.handle("/quit") is False


def test_a_double_slash_sends_a_slash(tiny_chat: ChatLlamaCpp) -> None:
    chat, _ = session(tiny_chat, quiet=True)
    chat.handle("//etc/hosts")
    assert chat.conversation.messages[0].content == "/etc/hosts"


def test_save_json_and_markdown(
    tiny_chat: ChatLlamaCpp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    chat, out = session(tiny_chat)
    chat.handle("/system Be brief.")
    chat.handle("the moon")
    chat.handle("/save")
    saved = sorted(tmp_path.glob("localkit-chat-*.json"))
    assert len(saved) == 1 and saved[0].name[len("localkit-chat-") :][8] == "-"
    assert out.getvalue().splitlines()[-1] == f"saved 3 messages to {saved[0].resolve()}"
    data = json.loads(saved[0].read_text())
    assert data["model"] == "tiny"
    roles = [(m["role"], m["content"]) for m in data["messages"]]
    answer = chat.conversation.messages[1].content
    assert roles == [("system", "Be brief."), ("user", "the moon"), ("assistant", answer)]
    assert data["messages"][2]["timings"]["eval_tokens"] == 8
    chat.handle("/save notes/chat.md")  # a folder that does not exist: said, not raised
    assert out.getvalue().splitlines()[-1].startswith("could not save: ")
    chat.handle("/save chat.md")
    markdown = (tmp_path / "chat.md").read_text()
    assert markdown.startswith("# Chat with tiny\n")
    assert (
        "## System\n\nBe brief.\n\n## You\n\nthe moon\n\n## tiny\n\n" + answer.strip() in markdown
    )
    assert "_[length; " in markdown


class InterruptAfterPieces(io.StringIO):
    """Output that sends this process SIGINT (what Ctrl-C sends) once `pieces` writes came.

    Tied to the output, not to a clock, so a slow first token on a loaded machine cannot make
    the Ctrl-C arrive before the answer has begun.
    """

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces

    def write(self, text: str) -> int:
        written = super().write(text)
        self.pieces -= 1
        if self.pieces == 0:
            os.kill(os.getpid(), signal.SIGINT)
        return written


def test_ctrl_c_stops_the_answer_and_the_model_goes_on(tiny_chat: ChatLlamaCpp) -> None:
    long = tiny_chat.model_copy(update={"max_tokens": 0})  # until the context is full
    out = InterruptAfterPieces(5)
    chat = ChatSession(long, Conversation("tiny"), out, stop=StopOnInterrupt())
    handler = signal.getsignal(signal.SIGINT)
    chat.handle("tell me a long story")
    assert signal.getsignal(signal.SIGINT) is handler  # the REPL's handler is back
    stopped = chat.conversation.messages[1]
    assert stopped.stopped and stopped.content and stopped.timings is None
    assert out.getvalue().endswith("\n[stopped]\n")
    # the model is free and the partial answer stays in the conversation
    short = ChatSession(tiny_chat, chat.conversation, out)
    short.handle("the moon")
    answer = chat.conversation.messages[-1]
    assert not answer.stopped and answer.finish_reason == "length"
    assert [m.role for m in chat.conversation.messages] == ["user", "assistant"] * 2
    assert out.getvalue().splitlines()[-1].startswith("[length; ")


def test_a_second_ctrl_c_interrupts_at_once() -> None:
    stop = StopOnInterrupt()
    with stop:
        signal.raise_signal(signal.SIGINT)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class InterruptedTerminal(io.StringIO):
    """A terminal where Ctrl-C lands while the reader writes its tenth piece."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces = 0

    def write(self, text: str) -> int:
        self.pieces += 1
        if self.pieces == 10:
            raise KeyboardInterrupt
        return super().write(text)


def test_an_interrupt_anywhere_in_the_stream_stops_it(tiny_chat: ChatLlamaCpp) -> None:
    long = tiny_chat.model_copy(update={"max_tokens": 0})
    out = InterruptedTerminal()
    chat = ChatSession(long, Conversation("tiny"), out, stop=StopOnInterrupt())
    chat.handle("tell me a long story")
    stopped = chat.conversation.messages[1]
    assert stopped.stopped and len(stopped.content.split()) >= 8
    assert out.getvalue().endswith("\n[stopped]\n")
    chat.stop = None
    chat.chat = tiny_chat
    chat.handle("the moon")
    assert chat.conversation.messages[-1].finish_reason == "length"


def test_thoughts_are_shown_apart_and_kept_out_of_the_content() -> None:
    chat = ChatLlamaCpp(
        model_path=str(models.thinking_path("r1")), temperature=0, max_tokens=6, reasoning=True
    )
    try:
        plain, out = session(chat)
        plain.handle("hi")
        answer = plain.conversation.messages[1]
        assert answer.reasoning and answer.content == ""  # the tiny model never ends a thought
        assert out.getvalue().startswith(THOUGHT_PREFIX + answer.reasoning + "\n")
        styled, out = session(chat, styled=True)
        styled.handle("hi")
        assert out.getvalue().startswith("\x1b[2m" + answer.reasoning + "\x1b[0m\n")
        assert plain.conversation.for_model() == [("user", "hi"), ("assistant", "")]
    finally:
        chat.unload()


def test_a_failed_turn_is_shown_and_forgotten_in_the_repl(tiny_chat: ChatLlamaCpp) -> None:
    small = ChatLlamaCpp(model_path=str(models.tiny_path()), n_ctx=64, n_batch=64, max_tokens=4)
    try:
        chat, out = session(small, recover=True)
        chat.handle("the moon " * 80)
        assert chat.conversation.messages == []
        assert out.getvalue().startswith("error: ") and "context" in out.getvalue()
        chat.handle("the moon")
        assert len(chat.conversation.messages) == 2
        strict, _ = session(small)
        from langchain_localkit._core.errors import ContextOverflowError

        with pytest.raises(ContextOverflowError):
            strict.handle("the moon " * 80)
    finally:
        small.unload()
