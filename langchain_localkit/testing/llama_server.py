"""Find or build llama.cpp's `llama-server`, and run it on a free loopback port.

llamafile's server is llama.cpp's, so `llama-server` on a GGUF file stands in for a llamafile
in tests (no llamafile binary needed). The binary is built from the llama.cpp sources that
PyPI ships (vendored in the llama-cpp-python sdist), CPU only, for this host's instruction sets
minus llama.cpp's AMX path (which crashes on many virtualized Xeons: see
`langchain_localkit._core.cpu`), once, and cached outside any checkout, per CPU kind:

    ~/.cache/langchain-localkit/llama-server/<llama-cpp-python version>-<build key>/llama-server

A server binary of your own (`$LOCALKIT_LLAMA_SERVER` or `llama-server` on PATH) may have the
AMX path: on a CPU with AMX, `LlamaServer` probes it once (cached) and adds `--no-repack` when
it crashes.

Command line:
    python -m langchain_localkit.testing.llama_server build [VERSION]   # ~5-9 min on 2 cores
    python -m langchain_localkit.testing.llama_server path              # where it is
    python -m langchain_localkit.testing.llama_server serve MODEL.gguf  # run until Ctrl-C

Example:
    >>> from langchain_localkit.testing.llama_server import LlamaServer
    >>> with LlamaServer("model.gguf") as server:  # doctest: +SKIP
    ...     Llamafile(base_url=server.base_url).invoke("Hello")

Servers started here listen on 127.0.0.1 only.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.metadata
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

from langchain_localkit._core.cpu import (
    BUILD_RECIPE,
    HostCPU,
    build_key,
    portable_cmake_args,
    read_host_cpu,
)
from langchain_localkit._core.errors import llama_cpp_load_reason
from langchain_localkit._core.paths import cache_dir
from langchain_localkit.engines.llamacpp_amx import (
    PROBE_PROMPT,
    PROBE_TIMEOUT_S,
    ProbeResult,
    Verdict,
    cached_probe,
    probe_model_path,
    signal_name,
)

DEFAULT_VERSION = "0.3.36"
"""The llama-cpp-python release whose vendored llama.cpp is built when none is installed."""

BINARY_ENV = "LOCALKIT_LLAMA_SERVER"
"""Environment variable naming a `llama-server` binary to use instead of the cached one."""

HOST = "127.0.0.1"

logger = logging.getLogger(__name__)

CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
)
"""How `llama-server` is configured: CPU only, static (one self-contained file), no network
libraries, no tests or examples, and no web UI (its prebuilt assets would be fetched from
Hugging Face during the build: the build stays offline). `portable_cmake_args()` adds the
instruction sets (this host's, minus AMX)."""

BUILD_INFO = "BUILD_INFO"
"""A file beside each binary we build: the recipe and CMake arguments it was built with."""


class LlamaServerError(RuntimeError):
    """`llama-server` is missing, failed to build, or failed to start."""


# --------------------------------------------------------------------------------------------
# Finding and building the binary
# --------------------------------------------------------------------------------------------
def cache_root() -> Path:
    """Where built binaries live: `llama-server/` in the package's cache directory.

    That is `$LOCALKIT_CACHE_DIR`, else `~/.cache/langchain-localkit`.
    """
    return cache_dir("llama-server")


def default_version() -> str:
    """The installed llama-cpp-python's version (same llama.cpp as the Python bindings)."""
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return DEFAULT_VERSION


def cached_binary(version: str | None = None, cpu: HostCPU | None = None) -> Path:
    """The path a build of `version` for this CPU kind is cached at (it may not exist yet).

    The directory name carries a key of the build recipe, the CMake flags and the CPU: a
    `-march=native` binary is only valid on the kind of CPU it was built on, and a build made
    by an older recipe (say, one with the AMX path) is never picked up.
    """
    version = version or default_version()
    return cache_root() / f"{version}-{build_key(version, CMAKE_FLAGS, cpu=cpu)}" / "llama-server"


def find_llama_server(version: str | None = None) -> Path | None:
    """A usable `llama-server`: `$LOCALKIT_LLAMA_SERVER`, the cached build, or one on PATH.

    Example:
        >>> path = find_llama_server()
        >>> path is None or path.name.startswith("llama-server")
        True
    """
    env = os.environ.get(BINARY_ENV)
    if env:
        path = Path(env)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise LlamaServerError(f"${BINARY_ENV} is {env!r}, which is not an executable file.")
        return path
    cached = cached_binary(version)
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    found = shutil.which("llama-server")
    return Path(found) if found else None


def _run(cmd: Sequence[str], log: IO[str], cwd: Path | None = None) -> None:
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    # the commands are built here from fixed names and paths, never from outside input
    done = subprocess.run(  # noqa: S603
        list(cmd), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, check=False
    )
    if done.returncode != 0:
        message = f"Command failed ({done.returncode}): {' '.join(cmd)}"
        name = getattr(log, "name", None)
        if isinstance(name, str) and Path(name).is_file():
            log.flush()
            tail = Path(name).read_text(errors="replace").splitlines()[-40:]
            message += f"\nThe last lines of {name}:\n" + "\n".join(tail)
        raise LlamaServerError(message)


def build_llama_server(
    version: str | None = None,
    *,
    jobs: int | None = None,
    python: str | None = None,
    log: IO[str] | None = None,
) -> Path:
    """Build `llama-server` from the llama-cpp-python sdist's llama.cpp and cache it.

    Idempotent (a cached build is returned at once) and atomic: the build happens in a
    temporary directory next to the cache and appears with one rename; a lock file keeps two
    concurrent builds of one version from racing. About 5-9 minutes on 2 cores.

    Args:
        version: The llama-cpp-python release to take llama.cpp from (default: the installed
            one, else `DEFAULT_VERSION`).
        jobs: Parallel compile jobs (default: the number of CPUs).
        python: The Python whose pip downloads the sdist (default: this one).
        log: Where the compilers' output goes (default: `build-<version>.log` in the cache,
            whose last lines a failure quotes); progress lines go to stderr.

    Returns:
        The cached binary.

    Raises:
        LlamaServerError: A tool is missing or a step failed.
    """
    version = version or default_version()
    dest = cached_binary(version)
    if dest.is_file():
        return dest
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise LlamaServerError(f"Building llama-server needs `{tool}` on PATH.")
    root = dest.parent.parent
    root.mkdir(parents=True, exist_ok=True)
    _build(version, dest, jobs, python, log)
    return dest


def _build(
    version: str, dest: Path, jobs: int | None, python: str | None, log: IO[str] | None
) -> None:
    root = dest.parent.parent
    with open(root / f".lock-{version}", "w") as lock, contextlib.ExitStack() as stack:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if dest.is_file():
            return
        out = log or stack.enter_context(open(root / f"build-{version}.log", "w"))
        status = sys.stderr
        with tempfile.TemporaryDirectory(prefix=f".build-{version}.", dir=root) as tmp:
            work = Path(tmp)
            status.write(
                f"build_llama_server: building llama-server from the llama-cpp-python {version} "
                f"sdist (about 5 minutes on 2 cores; output in {getattr(out, 'name', 'the log')})\n"
            )
            status.flush()
            _run(
                [
                    python or sys.executable,
                    *("-m", "pip", "download", "--quiet", "--no-deps"),
                    *("--no-binary", ":all:", "--dest", str(work / "sdist")),
                    f"llama-cpp-python=={version}",
                ],
                out,
            )
            archives = sorted((work / "sdist").glob("*.tar.gz"))
            if not archives:
                raise LlamaServerError("pip downloaded no sdist of llama-cpp-python")
            with tarfile.open(archives[0]) as tar:
                tar.extractall(work / "src", filter="data")
            sources = list((work / "src").glob("*/vendor/llama.cpp/CMakeLists.txt"))
            if not sources:
                raise LlamaServerError("The sdist holds no vendor/llama.cpp")
            src = sources[0].parent
            generator = ["-G", "Ninja"] if shutil.which("ninja") else []
            flags = [*CMAKE_FLAGS, *portable_cmake_args()]
            _run(["cmake", "-S", str(src), "-B", str(work / "build"), *generator, *flags], out)
            started = time.monotonic()
            n = str(jobs or os.cpu_count() or 2)
            _run(
                ["cmake", "--build", str(work / "build"), "--target", "llama-server", "-j", n], out
            )
            status.write(f"build_llama_server: built in {time.monotonic() - started:.0f} s\n")
            stage = work / "stage"
            stage.mkdir()
            shutil.copy2(work / "build" / "bin" / "llama-server", stage / "llama-server")
            (stage / "VERSION").write_text(version + "\n")
            (stage / BUILD_INFO).write_text(
                f"recipe: {BUILD_RECIPE}\ncpu: {read_host_cpu().describe()}\n"
                f"cmake: {' '.join(flags)}\n"
            )
            os.replace(stage, dest.parent)


def ensure_llama_server(version: str | None = None, *, build: bool = False) -> Path:
    """`find_llama_server`, else build it (`build=True`), else raise with the way out.

    Raises:
        LlamaServerError: Not found and `build` is False.
    """
    found = find_llama_server(version)
    if found is not None:
        return found
    if build:
        return build_llama_server(version)
    raise LlamaServerError(
        "No llama-server found. Build it once (about 5-9 minutes on 2 cores) with "
        "`scripts/build_llama_server.sh` or `python -m langchain_localkit.testing.llama_server "
        f"build`; or set ${BINARY_ENV} to a llama-server binary."
    )


# --------------------------------------------------------------------------------------------
# Is weight repacking safe for this binary on this CPU?
# --------------------------------------------------------------------------------------------
def is_our_build(binary: str | os.PathLike[str]) -> bool:
    """Whether `binary` was built here by the current recipe (so it has no AMX path)."""
    try:
        info = (Path(binary).parent / BUILD_INFO).read_text(encoding="utf-8")
    except OSError:
        return False
    return f"recipe: {BUILD_RECIPE}" in info.splitlines()


def probe_llama_server(
    binary: str | os.PathLike[str], *, timeout: float = PROBE_TIMEOUT_S
) -> ProbeResult:
    """Start `binary` on the probe model with repacking off, then on; compare the answers.

    The in-process probe's test (greedy completions of the same prompt), for a server binary.

    Returns:
        "ok", "crash" (the repacking server died by a signal), "mismatch", "timeout", or
        "error" (the server did not work even without repacking).
    """
    started = time.perf_counter()

    def result(verdict: Verdict, detail: str) -> ProbeResult:
        return ProbeResult(verdict, detail, (time.perf_counter() - started) * 1e3)

    outputs: dict[bool, str] = {}
    for repack in (False, True):
        server = LlamaServer(
            probe_model_path(), binary=binary, n_ctx=256, repack=repack, startup_timeout=timeout
        )
        try:
            server.start()
            response = httpx.post(
                f"{server.base_url}/completion",
                json={"prompt": PROBE_PROMPT, "n_predict": 16, "temperature": 0.0, "top_k": 1},
                timeout=timeout,
            )
            response.raise_for_status()
            outputs[repack] = str(response.json().get("content", ""))
        except (LlamaServerError, httpx.HTTPError, ValueError) as e:
            code = _exit_code(server.process)
            if not repack:
                return result("error", f"llama-server failed without repacking too: {e}")
            if code is not None and code < 0:
                return result("crash", f"llama-server with repacking died by {signal_name(code)}")
            if isinstance(e, httpx.TimeoutException):
                return result("timeout", f"llama-server with repacking hung ({timeout:g} s)")
            return result("error", f"llama-server with repacking failed: {e}")
        finally:
            server.stop()
    if outputs[False] != outputs[True]:
        return result("mismatch", f"without: {outputs[False]!r}; with: {outputs[True]!r}")
    return result("ok", "same greedy output with and without repacking")


def _exit_code(process: subprocess.Popen[bytes] | None) -> int | None:
    """The process's return code once it has ended (waiting up to 2 s), else None."""
    if process is None:
        return None
    with contextlib.suppress(subprocess.TimeoutExpired):
        return process.wait(timeout=2)
    return None


def repack_is_safe(
    binary: str | os.PathLike[str],
    *,
    cpu: HostCPU | None = None,
    probe: Callable[[], ProbeResult] | None = None,
    refresh: bool = False,
) -> tuple[bool, str]:
    """Whether `binary` may repack weights on this CPU, and why.

    No probe on a CPU without AMX, nor for a binary built here (no AMX path); otherwise
    `probe_llama_server` runs once per binary and CPU, its verdict cached on disk.
    """
    cpu = cpu or read_host_cpu()
    if cpu.flags_known and not cpu.has_amx:
        return True, "this CPU has no AMX"
    if is_our_build(binary):
        return True, "built here without the AMX path"
    path = Path(binary).resolve()
    st = path.stat()
    identity = f"{path}:{st.st_size}:{st.st_mtime_ns}"
    run = probe or (lambda: probe_llama_server(path))
    outcome, cached = cached_probe("llama-server", identity, run, cpu=cpu, refresh=refresh)
    how = "cached probe" if cached else "probe"
    if outcome.safe:
        return True, f"{how} passed"
    logger.warning(
        "%s failed a test decode with weight repacking on this CPU (%s): %s. Starting it with "
        "--no-repack (llama.cpp's AMX path on virtualized Xeons, ggml-org/llama.cpp#20824).",
        path,
        cpu.describe(),
        outcome.detail,
    )
    return False, f"{how} failed ({outcome.verdict})"


# --------------------------------------------------------------------------------------------
# Running a server
# --------------------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Example:
        >>> 1024 < free_port() < 65536
        True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


_LIVE: set[LlamaServer] = set()


@atexit.register
def _stop_live_servers() -> None:
    """No server started here outlives the Python process that started it."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop(timeout=5)


class LlamaServer:
    """A `llama-server` process on a free port of 127.0.0.1, for tests and notebooks.

    `start()` (or `with`) launches it and waits until `/health` says the model is loaded;
    `stop()` ends it (SIGTERM, then SIGKILL). Its log goes to a temporary file
    (`log_tail()` shows the end, and errors quote it).

    Args:
        model_path: The GGUF file to serve.
        binary: The `llama-server` to run (default: `ensure_llama_server()`).
        n_ctx: Context window (`-c`).
        parallel: Request slots (`-np`); each slot gets the whole `n_ctx`.
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def llama_server(model_path: str | os.PathLike[str], **kwargs: object) -> Iterator[LlamaServer]:
    """Run a `LlamaServer` for the duration of a `with` block.

    Example:
        >>> with llama_server("tiny.gguf", n_ctx=512) as server:  # doctest: +SKIP
        ...     url = server.base_url
    """
    server = LlamaServer(model_path, **kwargs)  # type: ignore[arg-type]
    with server:
        yield server


def main(argv: Sequence[str] | None = None) -> int:
    """`build [VERSION]`, `path [VERSION]` or `serve MODEL [--port N]` (see the module doc)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m langchain_localkit.testing.llama_server")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build llama-server into the cache (idempotent)")
    b.add_argument("version", nargs="?")
    b.add_argument("-j", "--jobs", type=int)
    p = sub.add_parser("path", help="print the llama-server that would be used")
    p.add_argument("version", nargs="?")
    s = sub.add_parser("serve", help="serve a GGUF on a free loopback port until Ctrl-C")
    s.add_argument("model")
    s.add_argument("-c", "--ctx-size", type=int, default=2048)
    args = parser.parse_args(argv)
    if args.command == "build":
        sys.stdout.write(f"{build_llama_server(args.version, jobs=args.jobs)}\n")
        return 0
    if args.command == "path":
        found = find_llama_server(args.version)
        sys.stdout.write(f"{found or f'(not built: {cached_binary(args.version)})'}\n")
        return 0 if found else 1
    with LlamaServer(args.model, n_ctx=args.ctx_size) as server:
        sys.stdout.write(f"llama-server on {server.base_url} (Ctrl-C stops it)\n")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            while server.process is not None and server.process.poll() is None:
                time.sleep(0.5)
    return 0


__all__ = [
    "BINARY_ENV",
    "CMAKE_FLAGS",
    "DEFAULT_VERSION",
    "LlamaServer",
    "LlamaServerError",
    "build_llama_server",
    "cache_root",
    "cached_binary",
    "default_version",
    "ensure_llama_server",
    "find_llama_server",
    "free_port",
    "is_our_build",
    "llama_server",
    "main",
    "probe_llama_server",
    "repack_is_safe",
]


if __name__ == "__main__":
    raise SystemExit(main())
