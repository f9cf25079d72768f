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

The parts: `llama_binary` finds and builds the binary, `llama_process` runs it (`LlamaServer`),
`llama_repack` probes whether it may repack weights; this module gathers them and adds the
`llama_server()` context manager and the command line.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence

from langchain_localkit.testing.llama_binary import (
    BINARY_ENV,
    BUILD_INFO,
    CMAKE_FLAGS,
    DEFAULT_VERSION,
    LlamaServerError,
    build_llama_server,
    cache_root,
    cached_binary,
    default_version,
    ensure_llama_server,
    find_llama_server,
    is_our_build,
)
from langchain_localkit.testing.llama_process import LlamaServer
from langchain_localkit.testing.llama_repack import probe_llama_server, repack_is_safe
from langchain_localkit.testing.loopback import HOST, free_port


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
    "BUILD_INFO",
    "CMAKE_FLAGS",
    "DEFAULT_VERSION",
    "HOST",
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
