"""A `llama-server` process on a free loopback port: start it, wait until it is ready, stop it.

llamafile's server is llama.cpp's, so `llama-server` on a GGUF file stands in for a llamafile
in tests (no llamafile binary needed). No server started here outlives the Python process that
started it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Self

import httpx

from langchain_localkit._core.errors import llama_cpp_load_reason
from langchain_localkit.testing.llama_binary import LlamaServerError, ensure_llama_server
from langchain_localkit.testing.llama_repack import repack_is_safe
from langchain_localkit.testing.loopback import HOST, LoopbackServer, free_port

_LIVE: set[LlamaServer] = set()


@atexit.register
def _stop_live_servers() -> None:
    """No server started here outlives the Python process that started it."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop(timeout=5)


class LlamaServer(LoopbackServer):
    """A `llama-server` process on a free port of 127.0.0.1, for tests and notebooks.

    `start()` (or `with`) launches it and waits until `/health` says the model is loaded;
    `stop()` ends it (SIGTERM, then SIGKILL). Its log goes to a temporary file
    (`log_tail()` shows the end, and errors quote it).

    Args:
        model_path: The GGUF file to serve.
        binary: The `llama-server` to run (default: `ensure_llama_server()`).
        n_ctx: Context window (`-c`).
        parallel: Request slots (`-np`); they split `n_ctx`: each slot gets
            `n_ctx // parallel` tokens of context (llama-server's `n_ctx_slot`).
        threads: CPU threads (`-t`; default llama.cpp's).
        embeddings: Serve embeddings only (`--embeddings`).
        pooling: Embedding pooling (`--pooling`: "mean", "cls", "last", "none").
        alias: The model name the server reports (`--alias`).
        port: A fixed port (default: a free one, picked at start).
        repack: Weight repacking (llama.cpp's extra buffer types): True passes `--repack`,
            False `--no-repack`; None decides with `repack_is_safe` (no cost on a CPU without
            AMX) and passes `--no-repack` only when repacking is not safe.
        extra_args: More command-line arguments.
        startup_timeout: Seconds to wait for `/health`.

    Example:
        >>> server = LlamaServer("tiny.gguf", n_ctx=512)  # doctest: +SKIP
        >>> with server:  # doctest: +SKIP
        ...     print(server.base_url)
        http://127.0.0.1:41233
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        binary: str | os.PathLike[str] | None = None,
        n_ctx: int = 2048,
        parallel: int = 1,
        threads: int | None = None,
        embeddings: bool = False,
        pooling: str | None = None,
        alias: str | None = None,
        port: int | None = None,
        repack: bool | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 120.0,
    ) -> None:
        self.model_path = Path(model_path)
        self.binary = Path(binary) if binary is not None else None
        self.n_ctx = n_ctx
        self.parallel = parallel
        self.threads = threads
        self.embeddings = embeddings
        self.pooling = pooling
        self.alias = alias
        self.repack = repack
        self._repack_ok: bool | None = None
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.fixed_port = port
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` (after `start`)."""
        if self.port is None:
            raise LlamaServerError("The server is not started")
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The process id, while it runs."""
        return self.process.pid if self.process is not None else None

    def command(self, port: int) -> list[str]:
        """The command line for `port`."""
        binary = self.binary or ensure_llama_server()
        cmd = [str(binary), "-m", str(self.model_path), "--host", HOST, "--port", str(port)]
        cmd += ["-c", str(self.n_ctx), "-np", str(self.parallel), "--no-webui"]
        if self.threads:
            cmd += ["-t", str(self.threads)]
        if self.embeddings:
            cmd.append("--embeddings")
        if self.pooling:
            cmd += ["--pooling", self.pooling]
        if self.alias:
            cmd += ["--alias", self.alias]
        if self.repack:
            cmd.append("--repack")
        elif self.repack is False or not self._auto_repack(binary):
            cmd.append("--no-repack")
        return cmd + list(self.extra_args)

    def _auto_repack(self, binary: str | os.PathLike[str]) -> bool:
        if self._repack_ok is None:
            self._repack_ok = repack_is_safe(binary)[0]
        return self._repack_ok

    def start(self, *, wait: bool = True) -> Self:
        """Launch the server and (by default) wait until it has loaded the model.

        Args:
            wait: Wait for `/health`; False returns as soon as the process runs (its port
                may not accept connections yet, and the model may still be loading).

        Raises:
            LlamaServerError: It exited, or was not ready within `startup_timeout`.
        """
        if self.process is not None and self.process.poll() is None:
            return self
        if not self.model_path.is_file():
            raise LlamaServerError(f"No model file at {self.model_path}")
        last: LlamaServerError | None = None
        for _ in range(1 if self.fixed_port else 3):  # another process may take a free port
            try:
                self._launch(self.fixed_port or free_port())
                if wait:
                    self._wait_ready()
                return self
            except LlamaServerError as e:
                last = e
                self._terminate()
                if "bind" not in self.log_tail().lower():
                    raise
        raise last or LlamaServerError("llama-server did not start")

    def wait_ready(self) -> None:
        """Wait until `/health` answers 200 (after `start(wait=False)`)."""
        self._wait_ready()

    def _launch(self, port: int) -> None:
        fd, name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        self._log = open(name, "wb")  # noqa: SIM115 - closed in stop()
        self.port = port
        self.process = subprocess.Popen(  # noqa: S603 - our binary, our arguments
            self.command(port),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _LIVE.add(self)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.base_url}/health"
        with httpx.Client(timeout=2.0) as client:
            while True:
                assert self.process is not None
                code = self.process.poll()
                if code is not None:
                    tail = self.log_tail(40)
                    reason = llama_cpp_load_reason(tail)
                    what = f": {reason}" if reason else ""
                    raise LlamaServerError(
                        f"llama-server exited with code {code} while starting on "
                        f"{self.model_path}{what}. Check that this llama.cpp supports the model "
                        f"and that the file is not damaged. Its log ends:\n{tail}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get(url).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise LlamaServerError(
                        f"llama-server was not ready after {self.startup_timeout:g} s:\n"
                        f"{self.log_tail()}"
                    )
                time.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """Kill the process at once (SIGKILL), as a crash would; the log file stays."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def _terminate(self, timeout: float = 10.0) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM; SIGKILL after `timeout` s) and remove its log."""
        self._terminate(timeout)
        _LIVE.discard(self)
        self.process = None
        if self.log_path is not None:
            with contextlib.suppress(OSError):
                self.log_path.unlink()
            self.log_path = None


__all__ = ["LlamaServer"]
