"""Build llama-cpp-python for this host without llama.cpp's AMX path, cache the wheel, install it.

Run by the Makefile with the virtual environment's Python, before the project's extras:

    .venv/bin/python scripts/install_llama_cpp.py                 # build (once) and install
    .venv/bin/python scripts/install_llama_cpp.py --print-cmake-args

Why not `pip install llama-cpp-python`: PyPI ships only its sdist, built with `-march=native`,
which compiles llama.cpp's AMX path in on a Sapphire/Granite Rapids build host, and that path
crashes on many virtualized Xeons (ggml-org/llama.cpp#20824). We build native minus AMX
(`langchain_localkit/_core/cpu.py` says how and why); every other instruction set of the host
and weight repacking stay. pip's own wheel cache does not know build flags (a native wheel
built earlier would be reused), so the wheel is built with `--no-cache-dir` and kept in our
cache, keyed by version, CMake arguments and CPU:

    ~/.cache/langchain-localkit/wheels/llama-cpp-python-<version>-<key>/*.whl

`CMAKE_ARGS` from the environment is appended to ours (later -D values win). After installing,
the script asks the installed llama.cpp what it was compiled with and fails if it has AMX.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import os
import shlex
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent

BASE_ARGS = [
    "-DLLAVA_BUILD=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=OFF",
    "-DLLAMA_CURL=OFF",
]
"""CPU only, and none of the multimodal library, tests, examples or tools that the Python
bindings do not use."""


def _load(name: str) -> ModuleType:
    """A standard-library-only module of the package, loaded from its file (nothing else of
    the package, nor its dependencies, needs to be installed yet)."""
    path = ROOT / "langchain_localkit" / "_core" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_localkit_build_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cpu = _load("cpu")
paths = _load("paths")


def pinned_version() -> str:
    """The `llama-cpp-python==X` pin of the `llamacpp` extra in pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["optional-dependencies"]["llamacpp"]:
        name, sep, version = requirement.partition("==")
        if name.strip() == "llama-cpp-python" and sep:
            return version.strip()
    raise SystemExit("pyproject.toml pins no llama-cpp-python==X in the llamacpp extra")


def cmake_args() -> list[str]:
    """Our arguments, then the user's `CMAKE_ARGS`."""
    return BASE_ARGS + cpu.portable_cmake_args() + shlex.split(os.environ.get("CMAKE_ARGS", ""))


def _say(message: str) -> None:
    sys.stderr.write(f"install_llama_cpp: {message}\n")
    sys.stderr.flush()


def _run(cmd: list[str], log: Path | None = None, env: dict[str, str] | None = None) -> None:
    if log is None:
        done = subprocess.run(cmd, env=env, check=False)
    else:
        with open(log, "a") as out:
            out.write(f"$ {shlex.join(cmd)}\n")
            out.flush()
            done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        message = f"command failed ({done.returncode}): {shlex.join(cmd)}"
        if log is not None:
            tail = log.read_text(errors="replace").splitlines()[-40:]
            message += f"\nthe last lines of {log}:\n" + "\n".join(tail)
        raise SystemExit(message)


def build_wheel(version: str, args: list[str]) -> Path:
    """The cached wheel for `version` and `args` on this CPU, built first if needed."""
    key = cpu.build_key(version, args)
    root = paths.cache_dir("wheels")
    dest = root / f"llama-cpp-python-{version}-{key}"
    wheels = sorted(dest.glob("*.whl"))
    if wheels:
        return wheels[0]
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".lock-{version}-{key}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wheels = sorted(dest.glob("*.whl"))
        if wheels:
            return wheels[0]
        log = root / f"build-{version}-{key}.log"
        log.write_text("")
        _say(
            f"building llama-cpp-python {version} for {cpu.read_host_cpu().describe()} "
            f"(about 6 minutes on 2 cores; output in {log})"
        )
        _say("CMAKE_ARGS=" + shlex.join(args))
        env = dict(os.environ, CMAKE_ARGS=shlex.join(args))
        env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f".build-{version}.", dir=root) as tmp:
            out = Path(tmp) / "wheel"
            _run(
                [
                    sys.executable,
                    *("-m", "pip", "wheel", "--verbose", "--no-deps", "--no-cache-dir"),
                    *("--no-binary", "llama-cpp-python", "--wheel-dir", str(out)),
                    f"llama-cpp-python=={version}",
                ],
                log,
                env,
            )
            if not list(out.glob("*.whl")):
                raise SystemExit(f"pip built no wheel (see {log})")
            (out / "CMAKE_ARGS").write_text(shlex.join(args) + "\n")
            os.replace(out, dest)
        _say(f"built in {time.monotonic() - started:.0f} s")
    return sorted(dest.glob("*.whl"))[0]


def installed_features() -> str:
    """What the installed llama.cpp says it was compiled with (its system info line)."""
    code = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the installed llama-cpp-python does not import:\n{done.stderr}")
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print-cmake-args", action="store_true", help="print them and exit")
    parser.add_argument("--version", help="llama-cpp-python version (default: pyproject's pin)")
    options = parser.parse_args(argv)
    args = cmake_args()
    if options.print_cmake_args:
        print(shlex.join(args))
        return 0
    version = options.version or pinned_version()
    wheel = build_wheel(version, args)
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    _run([*pip, "--force-reinstall", "--no-deps", str(wheel)])
    _run([*pip, str(wheel)])  # its dependencies (numpy, ...), if missing
    features = installed_features()
    _say(f"installed {wheel.name} ({wheel.parent.name}): {features}")
    if cpu.build_has_amx(cpu.parse_system_info(features)):
        if not os.environ.get("CMAKE_ARGS"):
            raise SystemExit(
                "the installed llama.cpp reports AMX_INT8 = 1 although it was built without "
                f"AMX; remove {wheel.parent} and report this"
            )
        _say(
            "warning: your CMAKE_ARGS put llama.cpp's AMX path back; models load with it only "
            "if a one-time probe passes on this CPU (see docs/llamacpp.md)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
