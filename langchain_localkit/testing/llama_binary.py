"""Find llama.cpp's `llama-server`, or build it once and cache it outside any checkout.

The binary is built from the llama.cpp sources that PyPI ships (vendored in the
llama-cpp-python sdist), CPU only, for this host's instruction sets minus llama.cpp's AMX path
(which crashes on many virtualized Xeons: see `langchain_localkit._core.cpu`), and cached per
CPU kind:

    ~/.cache/langchain-localkit/llama-server/<llama-cpp-python version>-<build key>/llama-server

A binary of your own is used instead when `$LOCALKIT_LLAMA_SERVER` names one, or when there is
no cached build and `llama-server` is on PATH.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from langchain_localkit._core.cpu import (
    BUILD_RECIPE,
    HostCPU,
    build_key,
    portable_cmake_args,
    read_host_cpu,
)
from langchain_localkit._core.paths import cache_dir
from langchain_localkit._core.progress import Progress

DEFAULT_VERSION = "0.3.36"
"""The llama-cpp-python release whose vendored llama.cpp is built when none is installed."""

BINARY_ENV = "LOCALKIT_LLAMA_SERVER"
"""Environment variable naming a `llama-server` binary to use instead of the cached one."""

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


_STEP = re.compile(r"^\[\s*(?:(?P<percent>\d+)%|(?P<done>\d+)/(?P<total>\d+))\]")
"""A build tool's step counter at the start of a line: Make's `[ 45%]`, Ninja's `[12/345]`."""


def build_fraction(line: str) -> float | None:
    """How far a build is, from one line of Make's or Ninja's output (None: no counter).

    Example:
        >>> build_fraction("[ 45%] Building CXX object src/llama.cpp.o")
        0.45
        >>> build_fraction("[12/48] Linking CXX executable bin/llama-server")
        0.25
    """
    found = _STEP.match(line)
    if found is None:
        return None
    if found["percent"] is not None:
        return int(found["percent"]) / 100
    return int(found["done"]) / max(int(found["total"]), 1)


def _run(
    cmd: Sequence[str], log: IO[str], cwd: Path | None = None, progress: Progress | None = None
) -> None:
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    # the commands are built here from fixed names and paths, never from outside input
    with subprocess.Popen(  # noqa: S603
        list(cmd),
        cwd=cwd,
        stdout=subprocess.PIPE if progress is not None else log,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        if process.stdout is not None and progress is not None:
            for line in process.stdout:
                log.write(line)
                fraction = build_fraction(line)
                if fraction is not None:
                    progress.update("compiling", fraction)
        returncode = process.wait()
    if returncode != 0:
        if progress is not None:
            progress.close()
        message = f"Command failed ({returncode}): {' '.join(cmd)}"
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
            whose last lines a failure quotes); progress goes to stderr: on a terminal, one
            bar redrawn from the build's `[ 45%]` counters, elsewhere a line per tenth.

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
            with Progress("build_llama_server", stream=status) as progress:
                _run(
                    ["cmake", "--build", str(work / "build"), "--target", "llama-server", "-j", n],
                    out,
                    progress=progress,
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


def is_our_build(binary: str | os.PathLike[str]) -> bool:
    """Whether `binary` was built here by the current recipe (so it has no AMX path)."""
    try:
        info = (Path(binary).parent / BUILD_INFO).read_text(encoding="utf-8")
    except OSError:
        return False
    return f"recipe: {BUILD_RECIPE}" in info.splitlines()


__all__ = [
    "BINARY_ENV",
    "BUILD_INFO",
    "CMAKE_FLAGS",
    "DEFAULT_VERSION",
    "LlamaServerError",
    "build_fraction",
    "build_llama_server",
    "cache_root",
    "cached_binary",
    "default_version",
    "ensure_llama_server",
    "find_llama_server",
    "is_our_build",
]
