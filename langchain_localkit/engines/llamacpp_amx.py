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
   and CPU in the package's cache directory (`localkit doctor` shows it). The probe and that
   cache are `llamacpp_probe`.

Example:
    >>> from langchain_localkit.engines.llamacpp_amx import decide_extra_bufts
    >>> decide_extra_bufts().use_extra_bufts  # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_localkit._core.cpu import (
    HostCPU,
    build_has_amx,
    parse_system_info,
    portable_cmake_args,
    read_host_cpu,
)
from langchain_localkit.engines.llamacpp_probe import (
    ENV_VAR,
    PROBE_PROMPT,
    PROBE_TIMEOUT_S,
    PROBE_VERSION,
    ProbeResult,
    Verdict,
    cached_probe,
    probe_extra_bufts,
    probe_model_path,
    signal_name,
)

logger = logging.getLogger("langchain_localkit.llama_cpp")


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


def _imported(llama_cpp: Any | None) -> Any:
    """`llama_cpp` as given, else imported (through the engine's guard)."""
    if llama_cpp is not None:
        return llama_cpp
    from langchain_localkit.engines.llamacpp_runtime import import_llama_cpp

    return import_llama_cpp()


def build_features(llama_cpp: Any | None = None) -> dict[str, str]:
    """What the installed llama.cpp was compiled with (its system info), e.g. `AMX_INT8`."""
    raw = _imported(llama_cpp).llama_print_system_info()
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
    version = llama_cpp_python_version() or "unknown"
    lib_dirs = [Path(_imported(llama_cpp).__file__).parent / "lib"]
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
    "Verdict",
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
