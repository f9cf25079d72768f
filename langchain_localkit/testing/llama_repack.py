"""Whether a `llama-server` binary may repack weights on this CPU.

llama.cpp's AMX path crashes on many virtualized Xeons. Our own builds leave it out; a binary
of your own may have it: on a CPU with AMX, it is probed once (with repacking off, then on) and
the verdict is cached on disk, so `LlamaServer` adds `--no-repack` only where repacking fails.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from langchain_localkit._core.cpu import HostCPU, read_host_cpu
from langchain_localkit.engines.llamacpp_amx import (
    PROBE_PROMPT,
    PROBE_TIMEOUT_S,
    ProbeResult,
    Verdict,
    cached_probe,
    probe_model_path,
    signal_name,
)
from langchain_localkit.testing.llama_binary import LlamaServerError, is_our_build

# named after the public module, the one users configure logging for
logger = logging.getLogger("langchain_localkit.testing.llama_server")


def probe_llama_server(
    binary: str | os.PathLike[str], *, timeout: float = PROBE_TIMEOUT_S
) -> ProbeResult:
    """Start `binary` on the probe model with repacking off, then on; compare the answers.

    The in-process probe's test (greedy completions of the same prompt), for a server binary.

    Returns:
        "ok", "crash" (the repacking server died by a signal), "mismatch", "timeout", or
        "error" (the server did not work even without repacking).
    """
    from langchain_localkit.testing.llama_process import LlamaServer  # it imports this module

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


__all__ = ["probe_llama_server", "repack_is_safe"]
