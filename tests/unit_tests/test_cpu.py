"""The host CPU report, llama.cpp's system info, and the build flags that leave AMX out."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from langchain_localkit._core import cpu as cpu_mod
from langchain_localkit._core.cpu import (
    GGML_X86_OPTIONS,
    NO_AMX_COMPILER_FLAGS,
    HostCPU,
    amx_instructions,
    build_has_amx,
    build_key,
    parse_cpuinfo,
    parse_system_info,
    portable_cmake_args,
)

# Flags as an AWS m7i (Sapphire Rapids, KVM) reports them, shortened to the interesting part.
SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8488C
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512cd \
avx512bw avx512vl avx_vnni avx512_bf16 avx512vbmi avx512_vnni avx512_fp16 amx_bf16 amx_tile amx_int8

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8488C
flags\t\t: fpu sse avx2 amx_tile amx_int8
"""

EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu sse avx avx2 fma f16c avx512f avx512bw avx512vl avx512_vnni avx512_bf16
"""

GRAVITON = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp dotprod sve i8mm
CPU implementer\t: 0x41
"""

# What llama-cpp-python 0.3.36 prints (only features that are on) ...
SYSTEM_INFO_EPYC = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | "
    "BMI2 = 1 | AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | "
    "LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
# ... a native build on a Sapphire Rapids host (as in the issue) ...
SYSTEM_INFO_AMX = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | AVX512 = 1 | "
    "AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 |"
)
# ... and the older layout that lists every feature, 0 or 1.
SYSTEM_INFO_OLD = (
    "AVX = 1 | AVX_VNNI = 0 | AVX2 = 1 | AVX512 = 0 | AVX512_VBMI = 0 | AVX512_VNNI = 0 | "
    "AVX512_BF16 = 0 | AMX_INT8 = 0 | FMA = 1 | NEON = 0 | SVE = 0 | ARM_FMA = 0 | F16C = 1"
)


def test_parse_cpuinfo_reads_the_first_processor() -> None:
    cpu = parse_cpuinfo(SAPPHIRE_RAPIDS, "x86_64")
    assert cpu.vendor == "GenuineIntel"
    assert cpu.model == "Intel(R) Xeon(R) Platinum 8488C"
    assert cpu.has_amx and cpu.is_x86 and cpu.flags_known
    assert "avx512_fp16" in cpu.flags
    assert cpu.simd[:3] == ["avx", "avx2", "fma"]
    assert "amx_int8" in cpu.describe()


def test_parse_cpuinfo_without_amx_and_on_arm() -> None:
    epyc = parse_cpuinfo(EPYC, "x86_64")
    assert not epyc.has_amx and epyc.flags_known and epyc.vendor == "AuthenticAMD"
    arm = parse_cpuinfo(GRAVITON, "aarch64")
    assert not arm.is_x86 and not arm.has_amx
    assert {"asimd", "sve", "i8mm"} <= arm.flags
    assert arm.vendor == "0x41"


def test_unknown_flags_are_not_no_amx() -> None:
    cpu = HostCPU(machine="AMD64", model="Intel64 Family 6")
    assert not cpu.flags_known and cpu.is_x86
    assert "flags unknown" in cpu.describe()


def test_fingerprint_tells_cpu_kinds_apart() -> None:
    a = parse_cpuinfo(EPYC, "x86_64")
    assert a.fingerprint() == parse_cpuinfo(EPYC, "x86_64").fingerprint()
    assert a.fingerprint() != parse_cpuinfo(SAPPHIRE_RAPIDS, "x86_64").fingerprint()


@pytest.mark.parametrize(
    ("text", "amx"),
    [(SYSTEM_INFO_EPYC, False), (SYSTEM_INFO_AMX, True), (SYSTEM_INFO_OLD, False)],
)
def test_parse_system_info(text: str, amx: bool) -> None:
    features = parse_system_info(text)
    assert features["AVX2"] == "1"
    assert build_has_amx(features) is amx


def test_parse_system_info_keeps_every_pair() -> None:
    features = parse_system_info(SYSTEM_INFO_OLD)
    assert features["AVX512"] == "0" and features["F16C"] == "1"
    assert len(features) == 13
    assert parse_system_info("") == {}


def test_portable_cmake_args_on_arm_leave_llama_cpp_native() -> None:
    assert portable_cmake_args(parse_cpuinfo(GRAVITON, "aarch64")) == []


def test_portable_cmake_args_on_x86_are_native_minus_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CFLAGS", raising=False)
    monkeypatch.setenv("CXXFLAGS", "-g1")
    args = portable_cmake_args(parse_cpuinfo(SAPPHIRE_RAPIDS, "x86_64"))
    assert args[0] == "-DGGML_NATIVE=OFF"
    assert {f"-D{name}=OFF" for name in GGML_X86_OPTIONS} <= set(args)
    assert not [a for a in args if a.endswith("=ON")]
    c_flags = next(a for a in args if a.startswith("-DCMAKE_C_FLAGS="))
    cxx_flags = next(a for a in args if a.startswith("-DCMAKE_CXX_FLAGS="))
    assert c_flags.split("=", 1)[1].split()[0] == "-march=native"
    assert cxx_flags.split("=", 1)[1].split()[:2] == ["-g1", "-march=native"]
    # The args survive the shell-style split scikit-build-core does on $CMAKE_ARGS.
    assert shlex.split(shlex.join(args)) == args


def _compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def _macros(compiler: str, flags: list[str]) -> set[str]:
    done = subprocess.run(
        [compiler, *flags, "-dM", "-E", "-x", "c", "/dev/null"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {line.split()[1] for line in done.stdout.splitlines() if line.startswith("#define")}


def test_the_no_amx_flags_remove_amx_from_an_amx_cpu_target() -> None:
    """The premise of our builds, checked with this host's compiler on an AMX target.

    `-march=native` on a Sapphire Rapids host means `-march=sapphirerapids` plus its features;
    ggml compiles its AMX path only under `__AMX_INT8__`.
    """
    compiler = _compiler()
    if compiler is None:
        pytest.skip("no C compiler")
    try:
        with_amx = _macros(compiler, ["-march=sapphirerapids"])
    except subprocess.CalledProcessError:
        pytest.skip(f"{compiler} does not know -march=sapphirerapids")
    assert "__AMX_INT8__" in with_amx and "__AVX512F__" in with_amx
    without = _macros(compiler, ["-march=sapphirerapids", *NO_AMX_COMPILER_FLAGS])
    assert not {m for m in without if m.startswith("__AMX")}
    # every other instruction set stays
    assert {"__AVX512F__", "__AVX512VNNI__", "__AVX512BF16__", "__AVX2__"} <= without
    assert "__AVX512FP16__" in without


def test_native_without_amx_flags_keeps_only_switches_the_compiler_knows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpu_mod, "_compiler", lambda env, default: "/nonexistent/cc")
    cpu_mod._accepts.cache_clear()
    try:
        # a compiler that cannot run knows none of them: -march=native alone
        assert cpu_mod.native_without_amx_flags("c") == ["-march=native"]
    finally:
        cpu_mod._accepts.cache_clear()


def test_build_key_depends_on_inputs_and_cpu() -> None:
    epyc = parse_cpuinfo(EPYC, "x86_64")
    spr = parse_cpuinfo(SAPPHIRE_RAPIDS, "x86_64")
    key = build_key("0.3.36", ["-DX=1"], cpu=epyc)
    assert key == build_key("0.3.36", ["-DX=1"], cpu=epyc)
    assert key != build_key("0.3.37", ["-DX=1"], cpu=epyc)
    assert key != build_key("0.3.36", ["-DX=2"], cpu=epyc)
    assert key != build_key("0.3.36", ["-DX=1"], cpu=spr)


def test_amx_instructions_are_found_in_code_that_has_them(tmp_path: Path) -> None:
    compiler = _compiler()
    if compiler is None or shutil.which("objdump") is None:
        pytest.skip("needs a C compiler and objdump")
    src = tmp_path / "amx.c"
    src.write_text(
        "#include <immintrin.h>\n"
        "void f(const void *cfg, void *buf) {\n"
        "  _tile_loadconfig(cfg); _tile_loadd(0, buf, 64); _tile_dpbssd(2, 0, 1);\n"
        "  _tile_stored(2, buf, 64); _tile_release();\n"
        "}\n"
        "void g(float *x) { x[0] += 1.0f; }\n"
    )
    obj = tmp_path / "amx.o"
    done = subprocess.run(
        [compiler, "-O2", "-mamx-tile", "-mamx-int8", "-c", str(src), "-o", str(obj)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"{compiler} cannot compile AMX intrinsics")
    assert amx_instructions(obj) == 5
    plain = tmp_path / "plain.o"
    src.write_text("void g(float *x) { x[0] += 1.0f; }\n")
    subprocess.run([compiler, "-O2", "-c", str(src), "-o", str(plain)], check=True)
    assert amx_instructions(plain) == 0


SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install_llama_cpp.py"


def test_install_script_prints_our_args_then_the_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Makefile's llama-cpp-python build: base args, native minus AMX, then $CMAKE_ARGS."""
    import os
    import sys

    env = dict(os.environ, CMAKE_ARGS="-DGGML_CUDA=on '-DEXTRA=a b'")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--print-cmake-args"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    args = shlex.split(done.stdout)
    assert args[:2] == ["-DLLAVA_BUILD=OFF", "-DLLAMA_BUILD_TESTS=OFF"]
    assert args[-2:] == ["-DGGML_CUDA=on", "-DEXTRA=a b"]  # the user's come last and win
    if cpu_mod.read_host_cpu().is_x86:
        assert "-DGGML_NATIVE=OFF" in args
        assert any(a.startswith("-DCMAKE_C_FLAGS=-march=native") for a in args)


def test_install_script_reads_the_pin_from_pyproject() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("install_llama_cpp", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    version = module.pinned_version()
    pyproject = (SCRIPT.parents[1] / "pyproject.toml").read_text()
    assert f'"llama-cpp-python=={version}"' in pyproject
