"""A real terminal for tests: a tmux session running a shell, typed into and read like a person.

`Terminal` starts a detached session of fixed size on its own tmux server (its own socket, no
user configuration), with the environment it is given; `type` sends text and Enter,
`press` sends keys (`"C-c"`, `"Up"`), `screen` reads what is shown (`capture-pane`), and
`wait_for` polls it until a pattern shows or a deadline passes. `close` kills the server.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

SHELL_PROMPT = "$ "
"""The shell's prompt in the session (PS1)."""

SHELL = re.compile(r"\$ ?")
"""An empty shell prompt."""

CHAT_PROMPT = re.compile(r"> ?")
"""An empty `localkit chat` prompt (a line that ends in a space keeps it in the capture)."""


class TerminalTimeout(AssertionError):
    """What was awaited did not show in time (the message holds the screen)."""


class Terminal:
    """A tmux session running `bash`, `width` x `height` characters.

    Args:
        env: The session's environment.
        cwd: Its working directory.
        width: Columns.
        height: Rows.
    """

    def __init__(
        self, env: Mapping[str, str], cwd: Path, *, width: int = 160, height: int = 50
    ) -> None:
        self.socket = f"localkit-test-{uuid.uuid4().hex[:12]}"
        self.session = "localkit"
        self.width, self.height = width, height
        self.socket_path: Path | None = None
        shell = f"env PS1='{SHELL_PROMPT}' bash --noprofile --norc"
        self._tmux(
            "new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height), shell,
            env=env, cwd=cwd,
        )  # fmt: skip
        self.socket_path = Path(self._tmux("display-message", "-p", "#{socket_path}").strip())
        try:
            self._tmux("set-option", "-t", self.session, "history-limit", "5000")
            self.wait_for_last(SHELL, timeout=10)
        except BaseException:
            self.close()
            raise

    def _tmux(
        self, *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=None if env is None else dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def type(self, text: str, *, enter: bool = True) -> None:
        """Type `text` (literally), then Enter."""
        self._tmux("send-keys", "-t", self.session, "-l", text)
        if enter:
            self.press("Enter")

    def press(self, *keys: str) -> None:
        """Press keys by tmux's names: `"C-c"`, `"C-d"`, `"Up"`, `"Enter"`."""
        self._tmux("send-keys", "-t", self.session, *keys)

    def screen(self, *, history: bool = False) -> str:
        """The text shown (with `history`, the scrolled-off lines too), wrapped lines joined."""
        start = ["-S", "-"] if history else []
        return self._tmux("capture-pane", "-p", "-J", *start, "-t", self.session)

    def lines(self, *, history: bool = False) -> list[str]:
        """`screen()` as lines, without the blank ones at the end."""
        return self.screen(history=history).rstrip("\n").splitlines()

    def wait_for(
        self,
        pattern: str | re.Pattern[str],
        *,
        timeout: float = 30,
        count: int = 1,
        history: bool = True,
    ) -> str:
        """Poll the screen until `pattern` (a substring or a regex) shows `count` times.

        Returns:
            The screen (with its history) at that moment.

        Raises:
            TerminalTimeout: It did not show within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen(history=history)
            found = (
                len(pattern.findall(shown))
                if isinstance(pattern, re.Pattern)
                else shown.count(pattern)
            )
            if found >= count:
                return shown
            if time.monotonic() > deadline:
                raise TerminalTimeout(
                    f"{pattern!r} (x{count}) did not show in {timeout} s; the screen:\n"
                    + self.screen()
                )
            time.sleep(0.05)

    def wait_for_last(self, line: re.Pattern[str], *, timeout: float = 30) -> str:
        """Poll until the screen's last line (blank ones aside) is all `line`: a prompt
        waiting for input.

        Returns:
            The screen at that moment.

        Raises:
            TerminalTimeout: It was not within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            last = shown.rstrip("\n").rsplit("\n", 1)[-1]
            if line.fullmatch(last):
                return shown
            if time.monotonic() > deadline:
                raise TerminalTimeout(
                    f"the last line is not {line.pattern!r} after {timeout} s; the screen:\n"
                    + shown
                )
            time.sleep(0.05)

    def run(self, command: str, *, timeout: float = 60) -> tuple[str, int]:
        """Type a shell command and wait for it to end.

        Returns:
            What it printed, and its exit code (echoed after it, which is how its end shows).
        """
        marker = f"rc-{uuid.uuid4().hex[:8]}"
        typed = f"{command}; echo {marker}=$?"
        self.type(typed)
        end = re.compile(rf"^{marker}=(\d+)$", re.MULTILINE)
        shown = self.wait_for(end, timeout=timeout)
        after = shown[shown.rindex(typed) + len(typed) :].split("\n", 1)[1]
        found = end.search(after)
        assert found is not None
        return after[: found.start()], int(found[1])

    def close(self) -> None:
        """Kill the session and its tmux server, and remove the server's socket."""
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10, check=False
        )
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)
