"""Deciding whether llama.cpp may use its extra buffer types (REPACK, AMX) on this host.

The decision runs real code on fake inputs: a stand-in `llama_cpp` module that reports a
build's features, CPUs described by `/proc/cpuinfo` text, and probes that are real child
processes which crash, hang or disagree.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_localkit._core.cpu import HostCPU, parse_cpuinfo
from langchain_localkit.engines import llamacpp_amx as amx
from langchain_localkit.engines.llamacpp_amx import ProbeResult, decide_extra_bufts
from tests.unit_tests.test_cpu import (
    EPYC,
    SAPPHIRE_RAPIDS,
    SYSTEM_INFO_AMX,
    SYSTEM_INFO_EPYC,
)

AMX_CPU = parse_cpuinfo(SAPPHIRE_RAPIDS, "x86_64")
PLAIN_CPU = parse_cpuinfo(EPYC, "x86_64")


def fake_llama_cpp(tmp_path: Path, system_info: str) -> types.SimpleNamespace:
    """What `decide_extra_bufts` reads of llama_cpp: its system info and where its libs are."""
    package = tmp_path / "llama_cpp"
    (package / "lib").mkdir(parents=True, exist_ok=True)
    (package / "lib" / "libggml-cpu.so").write_bytes(system_info.encode())
    return types.SimpleNamespace(
        llama_print_system_info=lambda: system_info.encode(),
        __file__=str(package / "__init__.py"),
    )


class Probe:
    """Counts calls and returns a fixed result."""

    def __init__(self, verdict: amx.Verdict = "ok") -> None:
        self.verdict = verdict
        self.calls = 0

    def __call__(self) -> ProbeResult:
        self.calls += 1
        return ProbeResult(self.verdict, f"fake {self.verdict}", 12.0)


def never() -> ProbeResult:
    pytest.fail("no probe may run here")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LOCALKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(amx.ENV_VAR, raising=False)
    amx.forget_decision()
    yield
    amx.forget_decision()


def test_no_probe_for_a_build_without_amx(tmp_path: Path) -> None:
    llama = fake_llama_cpp(tmp_path, SYSTEM_INFO_EPYC)
    decision = decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=never)
    assert decision.use_extra_bufts is True
    assert decision.probe is None
    assert "no AMX path" in decision.reason
    assert not (tmp_path / "cache").exists()  # nothing written either


def test_no_probe_on_a_cpu_without_amx(tmp_path: Path) -> None:
    llama = fake_llama_cpp(tmp_path, SYSTEM_INFO_AMX)
    decision = decide_extra_bufts(llama_cpp=llama, cpu=PLAIN_CPU, probe=never)
    assert decision.use_extra_bufts is True
    assert decision.reason == "this CPU has no AMX"


def test_a_crashing_probe_turns_extra_bufts_off_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    llama = fake_llama_cpp(tmp_path, SYSTEM_INFO_AMX)
    probe = Probe("crash")
    with caplog.at_level(logging.WARNING, logger="langchain_localkit.llama_cpp"):
        first = decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=probe)
        again = decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=probe)
    assert first.use_extra_bufts is False and again is first
    assert probe.calls == 1
    assert first.probe is not None and first.probe.verdict == "crash" and not first.cached
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "Platinum 8488C" in text and "fake crash" in text
    assert "ggml-org/llama.cpp#20824" in text
    assert "use_extra_bufts=False" in text and "slower" in text  # what it costs
    assert "CMAKE_ARGS=" in text and "-mno-amx-int8" in text  # how to rebuild
    assert f"{amx.ENV_VAR}=on" in text  # how to override


def test_the_verdict_is_cached_for_the_next_process(tmp_path: Path) -> None:
    llama = fake_llama_cpp(tmp_path, SYSTEM_INFO_AMX)
    probe = Probe("crash")
    decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=probe)
    files = list((tmp_path / "cache" / "probes").glob("extra-bufts-*.json"))
    assert len(files) == 1
    record = json.loads(files[0].read_text())
    assert record["verdict"] == "crash" and "8488C" in record["cpu"]
    amx.forget_decision()  # as a new process would start
    later = decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=never)
    assert later.use_extra_bufts is False and later.cached
    assert "cached probe failed (crash)" in later.reason


def test_a_passing_probe_keeps_extra_bufts(tmp_path: Path) -> None:
    llama = fake_llama_cpp(tmp_path, SYSTEM_INFO_AMX)
    decision = decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=Probe("ok"))
    assert decision.use_extra_bufts is True
    assert decision.reason == "AMX build on an AMX CPU: probe passed"


def test_another_build_or_cpu_probes_again(tmp_path: Path) -> None:
    llama = fake_llama_cpp(tmp_path, SYSTEM_INFO_AMX)
    decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=Probe("crash"))
    amx.forget_decision()
    (Path(llama.__file__).parent / "lib" / "libggml-cpu.so").write_bytes(b"rebuilt, longer")
    probe = Probe("ok")
    assert decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=probe).use_extra_bufts
    assert probe.calls == 1
    amx.forget_decision()
    other = HostCPU("x86_64", "GenuineIntel", "Xeon 6", AMX_CPU.flags | {"amx_fp16"})
    decide_extra_bufts(llama_cpp=llama, cpu=other, probe=probe)
    assert probe.calls == 2


def test_an_inconclusive_probe_is_safe_and_not_cached(tmp_path: Path) -> None:
    llama = fake_llama_cpp(tmp_path, SYSTEM_INFO_AMX)
    probe = Probe("error")
    assert decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=probe).use_extra_bufts is False
    amx.forget_decision()
    decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=probe)
    assert probe.calls == 2


def test_refresh_probes_again(tmp_path: Path) -> None:
    llama = fake_llama_cpp(tmp_path, SYSTEM_INFO_AMX)
    probe = Probe("ok")
    decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=probe)
    decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=probe, refresh=True)
    assert probe.calls == 2


def test_unknown_cpu_flags_with_an_amx_build_probe(tmp_path: Path) -> None:
    llama = fake_llama_cpp(tmp_path, SYSTEM_INFO_AMX)
    probe = Probe("ok")
    decide_extra_bufts(llama_cpp=llama, cpu=HostCPU("AMD64", model="Intel64"), probe=probe)
    assert probe.calls == 1


def test_threads_deciding_at_once_probe_once(tmp_path: Path) -> None:
    llama = fake_llama_cpp(tmp_path, SYSTEM_INFO_AMX)
    probe = Probe("ok")
    start = threading.Barrier(4)

    def decide() -> None:
        start.wait()
        decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=probe)

    threads = [threading.Thread(target=decide) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert probe.calls == 1


@pytest.mark.parametrize(("value", "expected"), [("on", True), ("1", True), ("OFF", False)])
def test_the_environment_variable_decides_without_a_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv(amx.ENV_VAR, value)
    llama = fake_llama_cpp(tmp_path, SYSTEM_INFO_AMX)
    decision = decide_extra_bufts(llama_cpp=llama, cpu=AMX_CPU, probe=never)
    assert decision.use_extra_bufts is expected
    assert amx.ENV_VAR in decision.reason


def test_a_bad_environment_value_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(amx.ENV_VAR, "maybe")
    with pytest.raises(ValueError, match="must be 'auto', 'on' or 'off'"):
        decide_extra_bufts()


def test_the_field_wins_over_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(amx.ENV_VAR, "off")
    decision = decide_extra_bufts(True, probe=never)
    assert decision.use_extra_bufts is True and "was set" in decision.reason


def _child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_probe_classifies_a_segfault() -> None:
    result = amx.probe_extra_bufts(
        command=_child("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    )
    assert result.verdict == "crash" and "SIGSEGV" in result.detail and not result.safe


def test_probe_classifies_an_illegal_instruction() -> None:
    result = amx.probe_extra_bufts(
        command=_child("import os, signal; os.kill(os.getpid(), signal.SIGILL)")
    )
    assert result.verdict == "crash" and "SIGILL" in result.detail


def test_probe_classifies_a_hang() -> None:
    result = amx.probe_extra_bufts(command=_child("import time; time.sleep(30)"), timeout=0.5)
    assert result.verdict == "timeout" and result.elapsed_ms < 10_000


def test_probe_classifies_a_different_answer() -> None:
    code = 'import sys; print(\'{"reference": "a", "extra_bufts": "b"}\'); sys.exit(3)'
    result = amx.probe_extra_bufts(command=_child(code))
    assert result.verdict == "mismatch" and '"b"' in result.detail


def test_probe_reports_its_own_failure() -> None:
    result = amx.probe_extra_bufts(command=_child("raise SystemExit('no llama here')"))
    assert result.verdict == "error" and "no llama here" in result.detail


def test_probe_passes() -> None:
    assert amx.probe_extra_bufts(command=_child("pass")).safe


class Params:
    use_extra_bufts = True


def test_params_hook_is_per_thread_and_per_block() -> None:
    low = types.SimpleNamespace(llama_model_default_params=Params)
    module = types.SimpleNamespace(llama_cpp=low)
    amx.install_params_hook(module)
    amx.install_params_hook(module)  # once only
    hooked = low.llama_model_default_params
    assert hooked().use_extra_bufts is True
    seen: list[bool] = []
    with amx.extra_bufts_override(False):
        assert hooked().use_extra_bufts is False
        other = threading.Thread(target=lambda: seen.append(hooked().use_extra_bufts))
        other.start()
        other.join()
        with amx.extra_bufts_override(None):
            assert hooked().use_extra_bufts is True
        assert hooked().use_extra_bufts is False
    assert seen == [True]  # another thread's loads are untouched
    assert hooked().use_extra_bufts is True


def test_supports_extra_bufts_switch() -> None:
    new = types.SimpleNamespace(
        llama_model_params=types.SimpleNamespace(
            _fields_=[("use_mmap", bool), ("use_extra_bufts", bool)]
        )
    )
    old = types.SimpleNamespace(
        llama_model_params=types.SimpleNamespace(_fields_=[("use_mmap", bool)])
    )
    assert amx.supports_extra_bufts_switch(new) and not amx.supports_extra_bufts_switch(old)


def test_rebuild_command_names_the_version() -> None:
    command = amx.rebuild_command("9.9.9")
    assert command.startswith('CMAKE_ARGS="') and "llama-cpp-python==9.9.9" in command
    assert "--no-cache-dir" in command  # pip's wheel cache would hand back the old build
