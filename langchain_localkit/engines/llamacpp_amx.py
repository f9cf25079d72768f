"""Whether llama.cpp's extra buffer types are safe on this host, decided once, never by a crash.

llama.cpp repacks quantized weights at load time into CPU-specific layouts ("extra buffer
types": REPACK for AVX2/AVX-512 and ARM, AMX tiles on Intel Sapphire/Granite Rapids). Its AMX
path crashes the process in the first matrix multiplication on many virtualized Xeons
(ggml-org/llama.cpp#20824, ollama/ollama#17205, #17249). A build only has that path when it
was compiled for AMX (llama.cpp reports `AMX_INT8 = 1`), which a native build does whenever
its build host has AMX.

The decision (`decide_extra_bufts`):

1. `use_extra_bufts=True/False` on a face, or `LOCALKIT_EXTRA_BUFTS=on|off`: as asked.
2. The llama.cpp build has no AMX path, or the CPU has no AMX: extra buffer types stay on and
   nothing else runs (no probe, no cost).
3. Otherwise a one-time probe in a child process loads a tiny quantized GGUF twice, with the
   extra buffer types off and on, and decodes greedily. A crash, a hang or a different answer
   turns them off, with one logged warning; the verdict is cached per llama-cpp-python build
   and CPU in the package's cache directory (`localkit doctor` shows it).

Example:
    >>> from langchain_localkit.engines.llamacpp_amx import decide_extra_bufts
    >>> decide_extra_bufts().use_extra_bufts  # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from langchain_localkit._core.cpu import (
    HostCPU,
    build_has_amx,
    build_key,
    parse_system_info,
    portable_cmake_args,
    read_host_cpu,
)
from langchain_localkit._core.paths import cache_dir

logger = logging.getLogger("langchain_localkit.llama_cpp")

ENV_VAR = "LOCALKIT_EXTRA_BUFTS"
"""`on` / `off` forces the extra buffer types for every model this process loads; `auto`
(or unset) decides as the module doc says."""

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


@dataclass(frozen=True)
class ExtraBuftsDecision:
    """Whether models load with llama.cpp's extra buffer types, and why.

    Attributes:
        use_extra_bufts: The value passed to llama.cpp's `llama_model_params`.
        reason: Why, in words.
        probe: The probe's result when one was needed (run now or cached).
        cached: Whether `probe` came from the cache of an earlier process.
    """

    use_extra_bufts: bool
    reason: str
    probe: ProbeResult | None = None
    cached: bool = False


# --------------------------------------------------------------------------------------------
# Passing use_extra_bufts to llama.cpp (llama_cpp.Llama has no argument for it)
# --------------------------------------------------------------------------------------------
_OVERRIDE = threading.local()


def install_params_hook(llama_cpp: Any) -> None:
    """Let `extra_bufts_override` reach the `llama_model_params` that `Llama()` builds.

    `llama_cpp.Llama.__init__` starts from `llama_cpp.llama_cpp.llama_model_default_params()`;
    the hook sets `use_extra_bufts` there for the calling thread only, and changes nothing
    for other callers.
    """
    low = llama_cpp.llama_cpp
    original = low.llama_model_default_params
    if getattr(original, "_localkit_hook", False):
        return

    def llama_model_default_params() -> Any:
        params = original()
        value = getattr(_OVERRIDE, "use_extra_bufts", None)
        if value is not None:
            params.use_extra_bufts = value
        return params

    llama_model_default_params._localkit_hook = True  # type: ignore[attr-defined]
    low.llama_model_default_params = llama_model_default_params


def supports_extra_bufts_switch(llama_cpp: Any) -> bool:
    """Whether this llama-cpp-python's `llama_model_params` has `use_extra_bufts`."""
    fields = getattr(llama_cpp.llama_model_params, "_fields_", ())
    return any(name == "use_extra_bufts" for name, *_ in fields)


@contextlib.contextmanager
def extra_bufts_override(value: bool | None) -> Iterator[None]:
    """Models loaded by this thread inside the block use `value` (None: llama.cpp's default)."""
    previous = getattr(_OVERRIDE, "use_extra_bufts", None)
    _OVERRIDE.use_extra_bufts = value
    try:
        yield
    finally:
        _OVERRIDE.use_extra_bufts = previous


# --------------------------------------------------------------------------------------------
# The build in hand
# --------------------------------------------------------------------------------------------
def build_features(llama_cpp: Any | None = None) -> dict[str, str]:
    """What the installed llama.cpp was compiled with (its system info), e.g. `AMX_INT8`."""
    if llama_cpp is None:
        from langchain_localkit.engines.llamacpp import import_llama_cpp

        llama_cpp = import_llama_cpp()
    raw = llama_cpp.llama_print_system_info()
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return parse_system_info(text)


def llama_cpp_python_version() -> str | None:
    """The installed llama-cpp-python's version (None when it is not installed)."""
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return None


def llama_build_id(llama_cpp: Any | None = None) -> str:
    """Identifies the installed llama-cpp-python build: version and its shared libraries."""
    if llama_cpp is None:
        from langchain_localkit.engines.llamacpp import import_llama_cpp

        llama_cpp = import_llama_cpp()
    version = llama_cpp_python_version() or "unknown"
    lib_dirs = [Path(llama_cpp.__file__).parent / "lib"]
    if os.environ.get("LLAMA_CPP_LIB_PATH"):
        lib_dirs.insert(0, Path(os.environ["LLAMA_CPP_LIB_PATH"]))
    stats = []
    for directory in lib_dirs:
        with contextlib.suppress(OSError):
            for f in sorted(directory.iterdir()):
                if f.is_file() and not f.is_symlink():
                    st = f.stat()
                    stats.append(f"{f}:{st.st_size}:{st.st_mtime_ns}")
    return f"llama-cpp-python {version}; " + "; ".join(stats)


def rebuild_command(version: str | None = None) -> str:
    """The shell command that rebuilds llama-cpp-python for this host without the AMX path."""
    import shlex

    version = version or llama_cpp_python_version() or "0.3.36"
    args = shlex.join(portable_cmake_args()) or "-DGGML_NATIVE=ON"
    return (
        f'CMAKE_ARGS="{args}" pip install --force-reinstall --no-deps --no-cache-dir '
        f"llama-cpp-python=={version}"
    )


# --------------------------------------------------------------------------------------------
# The probe
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------------
_LOCK = threading.Lock()
_AUTO: ExtraBuftsDecision | None = None


def _env_choice() -> bool | None:
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in ("", "auto"):
        return None
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no"):
        return False
    raise ValueError(f"{ENV_VAR} must be 'auto', 'on' or 'off', not {value!r}.")


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


def _warn(decision: ExtraBuftsDecision, cpu: HostCPU) -> None:
    probe = decision.probe
    assert probe is not None
    logger.warning(
        "llama.cpp's extra buffer types failed a test decode on this CPU (%s): %s. Models load "
        "with use_extra_bufts=False. This is llama.cpp's AMX path on virtualized Sapphire/"
        "Granite Rapids hosts (ggml-org/llama.cpp#20824). Cost: weight repacking is off too, "
        "so prompt evaluation may be slower, by how much depends on the CPU and the "
        "quantization (decoding about the same; docs/llamacpp.md has figures). To keep it, "
        "rebuild llama-cpp-python without AMX:\n  %s\n`localkit doctor` shows this report; "
        "use_extra_bufts=True or %s=on overrides it.",
        cpu.describe(),
        probe.detail,
        rebuild_command(),
        ENV_VAR,
    )


def decide_extra_bufts(
    requested: bool | None = None,
    *,
    llama_cpp: Any | None = None,
    cpu: HostCPU | None = None,
    probe: Callable[[], ProbeResult] = probe_extra_bufts,
    refresh: bool = False,
) -> ExtraBuftsDecision:
    """Whether models should load with llama.cpp's extra buffer types (see the module doc).

    The automatic decision is made once per process: a verdict cached on disk is read, and a
    probe runs only on a host whose CPU and llama.cpp build both have AMX.

    Args:
        requested: The face's `use_extra_bufts` (None: decide).
        llama_cpp: The imported `llama_cpp` module (default: imported here).
        cpu: The host CPU (default: read from the system).
        probe: Runs the probe (tests pass their own).
        refresh: Ignore the decision already made and any cached verdict; probe again.

    Raises:
        ValueError: `LOCALKIT_EXTRA_BUFTS` has a value other than auto, on or off.
    """
    global _AUTO
    if requested is not None:
        return ExtraBuftsDecision(requested, "use_extra_bufts was set")
    env = _env_choice()
    if env is not None:
        return ExtraBuftsDecision(env, f"{ENV_VAR}={os.environ[ENV_VAR]}")
    with _LOCK:
        if _AUTO is not None and not refresh:
            return _AUTO
        cpu = cpu or read_host_cpu()
        features = build_features(llama_cpp)
        if not build_has_amx(features):
            decision = ExtraBuftsDecision(True, "this llama.cpp build has no AMX path")
        elif cpu.flags_known and not cpu.has_amx:
            decision = ExtraBuftsDecision(True, "this CPU has no AMX")
        else:
            decision = _probe_decision(cpu, llama_cpp, probe, refresh)
            if not decision.use_extra_bufts:
                _warn(decision, cpu)
        _AUTO = decision
        return decision


def _probe_decision(
    cpu: HostCPU, llama_cpp: Any | None, probe: Callable[[], ProbeResult], refresh: bool
) -> ExtraBuftsDecision:
    result, cached = cached_probe(
        "extra-bufts", llama_build_id(llama_cpp), probe, cpu=cpu, refresh=refresh
    )
    how = "cached probe" if cached else "probe"
    if result.safe:
        return ExtraBuftsDecision(True, f"AMX build on an AMX CPU: {how} passed", result, cached)
    return ExtraBuftsDecision(
        False, f"AMX build on an AMX CPU: {how} failed ({result.verdict})", result, cached
    )


def forget_decision() -> None:
    """Forget this process's automatic decision (the next load decides again)."""
    global _AUTO
    with _LOCK:
        _AUTO = None


__all__ = [
    "ENV_VAR",
    "PROBE_PROMPT",
    "PROBE_TIMEOUT_S",
    "PROBE_VERSION",
    "ExtraBuftsDecision",
    "ProbeResult",
    "build_features",
    "cached_probe",
    "decide_extra_bufts",
    "extra_bufts_override",
    "forget_decision",
    "install_params_hook",
    "llama_build_id",
    "llama_cpp_python_version",
    "probe_extra_bufts",
    "probe_model_path",
    "rebuild_command",
    "signal_name",
    "supports_extra_bufts_switch",
]


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
