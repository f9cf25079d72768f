"""`localkit doctor`: this CPU, the llama.cpp build, and whether weight repacking is safe."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the `doctor` command to the subcommands `sub`."""
    doctor = sub.add_parser(
        "doctor", help="this CPU, the llama.cpp build, and whether weight repacking (AMX) is safe"
    )
    doctor.add_argument(
        "--refresh", action="store_true", help="probe again instead of reading a cached verdict"
    )
    doctor.add_argument(
        "--probe",
        action="store_true",
        help="run the extra-buffer-type probe even where it is not needed (about a second)",
    )
    doctor.add_argument(
        "--cmake-args",
        action="store_true",
        help="print the CMake arguments that build llama.cpp for this CPU without AMX",
    )
    doctor.set_defaults(func=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    """`localkit doctor`."""
    import shlex

    from langchain_localkit._core.cpu import build_has_amx, portable_cmake_args, read_host_cpu

    if args.cmake_args:
        sys.stdout.write(shlex.join(portable_cmake_args()) + "\n")
        return 0
    from langchain_localkit.engines import llamacpp_amx as amx
    from langchain_localkit.engines.llamacpp import import_llama_cpp

    out = sys.stdout
    cpu = read_host_cpu()
    amx_cpu = "yes" if cpu.has_amx else "no" if cpu.flags_known else "unknown"
    out.write(f"CPU: {cpu.describe()}\nAMX on this CPU: {amx_cpu}\n")
    llama_cpp = import_llama_cpp()
    features = amx.build_features(llama_cpp)
    shown = " ".join(f"{k}={v}" for k, v in features.items() if v not in ("0", ""))
    version = amx.llama_cpp_python_version() or "(version unknown)"
    out.write(f"llama-cpp-python {version} ({Path(llama_cpp.__file__).parent})\n")
    out.write(f"llama.cpp build: {shown}\n")
    out.write(f"AMX path in this build: {'yes' if build_has_amx(features) else 'no'}\n")
    decision = amx.decide_extra_bufts(llama_cpp=llama_cpp, refresh=args.refresh)
    state = "on" if decision.use_extra_bufts else "OFF"
    out.write(f"extra buffer types (weight repacking): {state} ({decision.reason})\n")
    probes = [("cached" if decision.cached else "just now", decision.probe)]
    if args.probe:
        probes.append(("forced", amx.probe_extra_bufts()))
    for when, probe in probes:
        if probe is not None:
            out.write(f"probe ({when}): {probe.verdict}, {probe.detail} ")
            out.write(f"[{probe.elapsed_ms:.0f} ms]\n")
    if not decision.use_extra_bufts or build_has_amx(features):
        out.write(
            "to rebuild llama-cpp-python for this CPU without the AMX path:\n"
            f"  {amx.rebuild_command()}\n"
        )
    return 0


__all__ = ["add_parser", "run_doctor"]
