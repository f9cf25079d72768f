"""The host CPU, what a llama.cpp build says it has, and how we build llama.cpp for this host.

Why this exists: llama.cpp's AMX path (an "extra buffer type" that repacks quantized weights
into AMX tiles on Intel Sapphire/Granite Rapids) crashes in its first matrix multiplication on
many virtualized hosts (ggml-org/llama.cpp#20824, ollama/ollama#17205, #17249). A native build
(`-march=native`, llama-cpp-python's default) compiles that path in whenever the build host
has AMX. Our builds are native minus AMX: every other instruction set of the host (AVX2,
AVX-512, VNNI, BF16, FP16, ...) and weight repacking (REPACK) stay.

Standard library only: `scripts/install_llama_cpp.py` loads this file before anything else
is installed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

AMX_FLAGS = ("amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "amx_complex")
"""`/proc/cpuinfo` flags of Intel AMX."""

NO_AMX_COMPILER_FLAGS = ("-mno-amx-tile", "-mno-amx-int8", "-mno-amx-bf16")
"""Compiler switches that remove AMX from `-march=native` (AMX-FP16 and AMX-COMPLEX need
AMX-TILE, so they go with it). ggml compiles its AMX path only under `__AMX_INT8__`."""

GGML_X86_OPTIONS = (
    "GGML_SSE42",
    "GGML_AVX",
    "GGML_AVX_VNNI",
    "GGML_AVX2",
    "GGML_BMI2",
    "GGML_AVX512",
    "GGML_AVX512_VBMI",
    "GGML_AVX512_VNNI",
    "GGML_AVX512_BF16",
    "GGML_FMA",
    "GGML_F16C",
    "GGML_AMX_TILE",
    "GGML_AMX_INT8",
    "GGML_AMX_BF16",
)
"""ggml's per-instruction-set switches for x86. With `GGML_NATIVE=OFF` some default to ON
(AVX2, FMA, ...), which would break a build on an older CPU: ours turns them all off and lets
the compiler's `-march=native` decide, so the result is exactly the host's instruction sets."""

BUILD_RECIPE = "native-no-amx-1"
"""Names the way `portable_cmake_args` builds; part of every cache key of our builds, so a
change of recipe (or a build cached by an older one) is never mistaken for the current one."""

_SIMD_REPORTED = (
    *("avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl"),
    *("avx512_vnni", "avx512_bf16", "avx512_fp16", "avx512vbmi", *AMX_FLAGS),
    *("asimd", "sve", "sve2", "i8mm", "dotprod"),
)
_X86 = frozenset({"x86_64", "amd64", "i386", "i686", "x86"})


@dataclass(frozen=True)
class HostCPU:
    """What the operating system says about this machine's CPU.

    Attributes:
        machine: `platform.machine()` (e.g. "x86_64", "arm64").
        vendor: "GenuineIntel", "AuthenticAMD", ... ("" when unknown).
        model: The model name ("" when unknown).
        flags: The CPU feature flags in `/proc/cpuinfo` spelling (empty when unknown).
    """

    machine: str
    vendor: str = ""
    model: str = ""
    flags: frozenset[str] = frozenset()

    @property
    def is_x86(self) -> bool:
        """Whether this is an x86 CPU (the only kind with Intel AMX)."""
        return self.machine.lower() in _X86

    @property
    def flags_known(self) -> bool:
        """Whether the feature flags could be read (Linux `/proc/cpuinfo`)."""
        return bool(self.flags)

    @property
    def has_amx(self) -> bool:
        """Whether the CPU reports AMX (AMX-INT8 or AMX-TILE)."""
        return "amx_int8" in self.flags or "amx_tile" in self.flags

    @property
    def simd(self) -> list[str]:
        """The vector instruction sets that matter to llama.cpp, for reports."""
        return [f for f in _SIMD_REPORTED if f in self.flags]

    def fingerprint(self) -> str:
        """A short stable id of this CPU kind (same model and flags give the same id).

        Builds made with `-march=native` are only valid on such a CPU, so caches of them are
        keyed by it.
        """
        text = "\n".join([self.machine, self.vendor, self.model, " ".join(sorted(self.flags))])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def describe(self) -> str:
        """One line: model, machine and the instruction sets llama.cpp uses."""
        name = self.model or self.vendor or "unknown CPU"
        simd = " ".join(self.simd) if self.flags_known else "flags unknown"
        return f"{name} ({self.machine}; {simd})"


def parse_cpuinfo(text: str, machine: str | None = None) -> HostCPU:
    r"""A `HostCPU` from the text of `/proc/cpuinfo` (the first processor's entry).

    Example:
        >>> cpu = parse_cpuinfo("vendor_id : GenuineIntel\\nflags : fpu avx2 amx_int8\\n")
        >>> cpu.has_amx, cpu.vendor
        (True, 'GenuineIntel')
    """
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break  # one processor is enough: they are alike
            continue
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    flags = fields.get("flags") or fields.get("features") or ""
    model = fields.get("model name") or fields.get("cpu model") or fields.get("processor", "")
    return HostCPU(
        machine=machine or platform.machine(),
        vendor=fields.get("vendor_id", fields.get("cpu implementer", "")),
        model=model if not model.isdigit() else "",
        flags=frozenset(flags.split()),
    )


@cache
def read_host_cpu() -> HostCPU:
    """This machine's CPU (Linux: from `/proc/cpuinfo`; elsewhere: name only, flags unknown).

    Example:
        >>> read_host_cpu().machine == platform.machine()
        True
    """
    machine = platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return HostCPU(machine=machine, model=platform.processor())
    return parse_cpuinfo(text, machine)


_FEATURE = re.compile(r"([A-Za-z0-9_]+)\s*=\s*([^|]*?)\s*(?=\||$)")


def parse_system_info(text: str) -> dict[str, str]:
    """The `NAME = value` pairs of llama.cpp's system info line.

    llama.cpp prints what the build was compiled with, for example
    `CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | REPACK = 1 |`
    (older builds also list features that are `0`).

    Example:
        >>> parse_system_info("CPU : AVX2 = 1 | AMX_INT8 = 1 | REPACK = 1 |")["AMX_INT8"]
        '1'
    """
    return {name.upper(): value for name, value in _FEATURE.findall(text)}


def build_has_amx(features: dict[str, str]) -> bool:
    """Whether a llama.cpp build (its `parse_system_info` features) has the AMX path."""
    return features.get("AMX_INT8", "0").strip() not in ("", "0")


def _compiler(env_name: str, default: str) -> str | None:
    value = os.environ.get(env_name)
    if value:
        first = shlex.split(value)[0]
        return shutil.which(first) or first
    return shutil.which(default)


@cache
def _accepts(compiler: str, flag: str, language: str) -> bool:
    """Whether `compiler` accepts `flag` (compiles an empty file with it)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / ("t.c" if language == "c" else "t.cpp")
        src.write_text("int main(void) { return 0; }\n")
        try:
            done = subprocess.run(  # noqa: S603 - the user's compiler, fixed arguments
                [compiler, "-march=native", flag, "-c", str(src), "-o", str(Path(tmp) / "t.o")],
                capture_output=True,
                check=False,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
    return done.returncode == 0


def native_without_amx_flags(language: str = "c") -> list[str]:
    """Compiler flags for this host's instruction sets minus AMX.

    `-march=native` followed by the `-mno-amx-*` switches the compiler knows (a compiler that
    knows none of them cannot emit AMX either).

    Args:
        language: "c" (checks `$CC` or `cc`) or "c++" (checks `$CXX` or `c++`).
    """
    compiler = _compiler("CC", "cc") if language == "c" else _compiler("CXX", "c++")
    flags = ["-march=native"]
    if compiler is None:
        return flags + list(NO_AMX_COMPILER_FLAGS)
    return flags + [f for f in NO_AMX_COMPILER_FLAGS if _accepts(compiler, f, language)]


def portable_cmake_args(cpu: HostCPU | None = None) -> list[str]:
    """CMake arguments that build llama.cpp for this host without the AMX path.

    On x86: `GGML_NATIVE=OFF`, every ggml instruction-set switch off, and
    `CMAKE_C_FLAGS`/`CMAKE_CXX_FLAGS` set to `-march=native -mno-amx-tile -mno-amx-int8
    -mno-amx-bf16` (plus `$CFLAGS`/`$CXXFLAGS`). `GGML_NATIVE=ON` cannot be used: ggml appends
    `-march=native` after the user's flags, and the compiler expands it into explicit
    `-mamx-*` switches that override an earlier `-mno-amx-*`. Elsewhere (ARM, ...): no
    arguments; there is no AMX path, and llama.cpp's native default is right.

    Example:
        >>> args = portable_cmake_args(HostCPU(machine="aarch64"))
        >>> args
        []
    """
    cpu = cpu or read_host_cpu()
    if not cpu.is_x86:
        return []
    args = ["-DGGML_NATIVE=OFF", *(f"-D{name}=OFF" for name in GGML_X86_OPTIONS)]
    for var, env, language in (
        ("CMAKE_C_FLAGS", "CFLAGS", "c"),
        ("CMAKE_CXX_FLAGS", "CXXFLAGS", "c++"),
    ):
        flags = shlex.split(os.environ.get(env, "")) + native_without_amx_flags(language)
        args.append(f"-D{var}={' '.join(flags)}")
    return args


_AMX_INSTRUCTION = re.compile(
    r"\s(ldtilecfg|sttilecfg|tileloadd|tileloaddt1|tilestored|tilerelease|tilezero|tdp\w+)\s"
)


def amx_instructions(path: str | os.PathLike[str]) -> int | None:
    """How many AMX instructions a binary or shared library contains (disassembled).

    Proves that a build has no AMX path whatever the host: the probe of a build at run time
    only tells on a CPU with AMX.

    Returns:
        The count, or None when `objdump` is not installed.
    """
    objdump = shutil.which("objdump")
    if objdump is None:
        return None
    done = subprocess.run(  # noqa: S603 - objdump on a file we name
        [objdump, "-d", "--no-show-raw-insn", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        check=True,
    )
    return sum(1 for line in done.stdout.splitlines() if _AMX_INSTRUCTION.search(line + " "))


def build_key(*parts: object, cpu: HostCPU | None = None) -> str:
    """A short id of a build: its inputs (`parts`: version, CMake arguments, ...) and the CPU.

    Example:
        >>> len(build_key("0.3.36", ["-DGGML_NATIVE=OFF"]))
        12
    """
    cpu = cpu or read_host_cpu()
    text = "\n".join([repr(p) for p in parts] + [BUILD_RECIPE, cpu.fingerprint()])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


__all__ = [
    "AMX_FLAGS",
    "BUILD_RECIPE",
    "GGML_X86_OPTIONS",
    "NO_AMX_COMPILER_FLAGS",
    "HostCPU",
    "amx_instructions",
    "build_has_amx",
    "build_key",
    "native_without_amx_flags",
    "parse_cpuinfo",
    "parse_system_info",
    "portable_cmake_args",
    "read_host_cpu",
]
