"""The child-process probe of llama.cpp's extra buffer types, and its verdicts cached on disk.

The probe loads a tiny quantized GGUF twice in a child process, with the extra buffer types off
and on, and decodes the same prompt greedily with each: a crash, a hang or a different answer
shows in how the child ends, and the parent process is never at risk. `cached_probe` runs a
probe once per build and CPU, for any process (`llamacpp_amx` decides with it, and so does the
llama-server helper in `langchain_localkit.testing`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from langchain_localkit._core.cpu import HostCPU, build_key, read_host_cpu
from langchain_localkit._core.paths import cache_dir

ENV_VAR = "LOCALKIT_EXTRA_BUFTS"
"""`on` / `off` forces the extra buffer types for every model this process loads; `auto`
(or unset) decides as `llamacpp_amx` says. The probe's child never sees it."""

PROBE_VERSION = 1
"""Bumped when the probe changes, so cached verdicts of an older probe are not trusted."""

PROBE_TIMEOUT_S = 120.0
"""A probe that has not finished by then counts as a hang (its normal cost is about 1 s)."""

PROBE_PROMPT = " ".join(["the moon and the sun were over the sea"] * 5)
"""About 50 tokens: the prompt is evaluated as one batch, the case AMX kernels handle."""

Verdict = Literal["ok", "crash", "mismatch", "timeout", "error"]


@dataclass(frozen=True)
class ProbeResult:
    """What the child-process probe saw.

    Attributes:
        verdict: "ok" (same greedy output with and without extra buffer types), "crash" (the
            child died by a signal), "mismatch" (different output), "timeout" (hung), or
            "error" (the probe itself failed; not cached, tried again next process).
        detail: What happened, in words.
        elapsed_ms: Wall time of the probe.
    """

    verdict: Verdict
    detail: str
    elapsed_ms: float

    @property
    def safe(self) -> bool:
        """Whether the extra buffer types can be used."""
        return self.verdict == "ok"


def probe_model_path() -> Path:
    """The probe's model, written once to the cache.

    A tiny llama with Q4_0 attention and Q8_0 feed-forward weights, at widths that llama.cpp's
    AMX and REPACK kernels take.
    """
    path = cache_dir("probes", f"extra-bufts-probe-v{PROBE_VERSION}.gguf")
    if not path.is_file():
        from langchain_localkit.testing.tiny import make_tiny_gguf

        make_tiny_gguf(
            path,
            n_embd=128,
            n_head=4,
            n_ff=256,
            weight_type="Q4_0",
            ffn_weight_type="Q8_0",
            context_length=512,
            name="localkit-extra-bufts-probe",
        )
    return path


def signal_name(code: int) -> str:
    """The name of the signal a child process died by, from its negative return code."""
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def probe_extra_bufts(
    *, command: Sequence[str] | None = None, timeout: float = PROBE_TIMEOUT_S
) -> ProbeResult:
    """Run the probe in a child process and classify how it ended.

    The child loads the probe model with extra buffer types off, then on, and decodes the
    same prompt greedily with each. The parent's process is never at risk.

    Args:
        command: The child's command line (default: this module run by this Python on the
            probe model).
        timeout: Seconds before the child counts as hung (and is killed).
    """
    start = time.perf_counter()
    try:
        cmd = (
            list(command) if command else [sys.executable, "-m", __name__, str(probe_model_path())]
        )
    except Exception as e:  # the probe model could not be written
        return ProbeResult("error", f"could not prepare the probe: {e}", 0.0)
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    try:
        done = subprocess.run(  # noqa: S603 - our interpreter and module
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        elapsed = (time.perf_counter() - start) * 1e3
        return ProbeResult("timeout", f"the probe decode did not finish in {timeout:g} s", elapsed)
    except OSError as e:
        return ProbeResult("error", f"could not start the probe: {e}", 0.0)
    elapsed = (time.perf_counter() - start) * 1e3
    out = done.stdout.decode("utf-8", "replace").strip()
    err = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode < 0:
        return ProbeResult(
            "crash",
            f"a decode with extra buffer types died by {signal_name(done.returncode)}",
            elapsed,
        )
    if done.returncode == 0:
        return ProbeResult("ok", "same greedy output with and without extra buffer types", elapsed)
    if done.returncode == _MISMATCH:
        return ProbeResult("mismatch", f"different output with extra buffer types: {out}", elapsed)
    tail = "\n".join(err.splitlines()[-5:])
    return ProbeResult("error", f"the probe exited with code {done.returncode}: {tail}", elapsed)


_MISMATCH = 3


def _child(argv: Sequence[str]) -> int:
    """The probe child: greedy output with extra buffer types off, then on."""
    from langchain_localkit.engines.llamacpp import (
        LlamaCppEngine,
        LlamaLoadOptions,
        SamplingParams,
        clear_model_cache,
    )

    path = argv[0]
    params = SamplingParams(max_tokens=16, temperature=0.0, top_k=1, repeat_penalty=1.0)
    outputs: dict[str, str] = {}
    for extra in (False, True):
        engine = LlamaCppEngine(
            LlamaLoadOptions(model_path=path, n_ctx=256, n_batch=64, use_extra_bufts=extra)
        )
        text = "".join(x for x in engine.stream(PROBE_PROMPT, params) if isinstance(x, str))
        outputs["extra_bufts" if extra else "reference"] = text
        engine.unload()
        clear_model_cache()
    sys.stdout.write(json.dumps(outputs) + "\n")
    return 0 if outputs["reference"] == outputs["extra_bufts"] else _MISMATCH


def _read_verdict(path: Path) -> ProbeResult | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        result = ProbeResult(data["verdict"], data["detail"], float(data["elapsed_ms"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return result if result.verdict in ("ok", "crash", "mismatch", "timeout") else None


def _write_verdict(path: Path, result: ProbeResult, cpu: HostCPU, identity: str) -> None:
    record = {**asdict(result), "cpu": cpu.describe(), "build": identity, "at": time.time()}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
        os.replace(tmp, path)


def cached_probe(
    kind: str,
    identity: str,
    probe: Callable[[], ProbeResult],
    *,
    cpu: HostCPU | None = None,
    refresh: bool = False,
) -> tuple[ProbeResult, bool]:
    """Run `probe` once per `identity` (a build) and CPU, its verdict cached on disk.

    Later calls, in any process, read the verdict; concurrent processes wait for the first
    one's probe.

    Args:
        kind: Names the probe in the cache file name ("extra-bufts", "llama-server").
        identity: What was probed (e.g. `llama_build_id()`); another identity probes again.
        probe: Runs the probe. An "error" result is returned but not cached.
        cpu: The host CPU (default: this one).
        refresh: Probe again even if a verdict is cached.

    Returns:
        The result, and whether it came from the cache.
    """
    cpu = cpu or read_host_cpu()
    path = cache_dir("probes", f"{kind}-{build_key(PROBE_VERSION, identity, cpu=cpu)}.json")
    with _file_lock(path.with_suffix(".lock")):
        result = None if refresh else _read_verdict(path)
        if result is not None:
            return result, True
        result = probe()
        if result.verdict != "error":
            _write_verdict(path, result, cpu, identity)
        return result, False


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Holds an exclusive lock on `path` (POSIX) so concurrent processes probe once."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock, at worst two processes probe
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


__all__ = [
    "ENV_VAR",
    "PROBE_PROMPT",
    "PROBE_TIMEOUT_S",
    "PROBE_VERSION",
    "ProbeResult",
    "Verdict",
    "cached_probe",
    "probe_extra_bufts",
    "probe_model_path",
    "signal_name",
]


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
