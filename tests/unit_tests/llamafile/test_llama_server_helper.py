"""The llama-server helper without building or running anything."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from langchain_localkit._core.cpu import BUILD_RECIPE, build_key, parse_cpuinfo
from langchain_localkit.engines.llamacpp_amx import ProbeResult
from langchain_localkit.testing import llama_repack
from langchain_localkit.testing import llama_server as ls
from tests.unit_tests.test_cpu import EPYC, SAPPHIRE_RAPIDS


def fake_binary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCALKIT_CACHE_DIR", str(tmp_path))
    path = ls.cached_binary("1.2.3")
    assert path.parent.parent == tmp_path / "llama-server" and path.name == "llama-server"
    # one directory per version, build recipe and CPU kind (-march=native builds do not travel)
    assert path.parent.name == f"1.2.3-{build_key('1.2.3', ls.CMAKE_FLAGS)}"
    assert ls.cached_binary("1.2.3") == path
    assert ls.cached_binary("1.2.4").parent != path.parent
    other_cpu = parse_cpuinfo(SAPPHIRE_RAPIDS, "x86_64")
    assert ls.cached_binary("1.2.3", cpu=other_cpu).parent != path.parent
    monkeypatch.delenv("LOCALKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ls.cache_root() == tmp_path / "xdg" / "langchain-localkit" / "llama-server"


def test_find_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCALKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv(ls.BINARY_ENV, raising=False)
    assert ls.find_llama_server("9.9.9") is None
    on_path = fake_binary(tmp_path / "bin" / "llama-server")
    assert ls.find_llama_server("9.9.9") == on_path
    cached = fake_binary(ls.cached_binary("9.9.9"))
    assert ls.find_llama_server("9.9.9") == cached
    explicit = fake_binary(tmp_path / "elsewhere" / "llama-server")
    monkeypatch.setenv(ls.BINARY_ENV, str(explicit))
    assert ls.find_llama_server("9.9.9") == explicit
    monkeypatch.setenv(ls.BINARY_ENV, str(tmp_path / "missing"))
    with pytest.raises(ls.LlamaServerError, match="not an executable"):
        ls.find_llama_server()


def test_ensure_says_how_to_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCALKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(ls.BINARY_ENV, raising=False)
    with pytest.raises(ls.LlamaServerError, match=r"build_llama_server\.sh"):
        ls.ensure_llama_server("9.9.9")


def test_command_binds_loopback_only(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    binary = fake_binary(tmp_path / "llama-server")
    server = ls.LlamaServer(
        model, binary=binary, n_ctx=512, embeddings=True, pooling="mean", repack=True
    )
    cmd = server.command(12345)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--port") + 1] == "12345"
    assert "--embeddings" in cmd and cmd[cmd.index("--pooling") + 1] == "mean"
    assert "--repack" in cmd and "--no-repack" not in cmd
    with pytest.raises(ls.LlamaServerError, match="not started"):
        _ = server.base_url


def test_repack_false_passes_no_repack(tmp_path: Path) -> None:
    binary = fake_binary(tmp_path / "llama-server")
    assert "--no-repack" in ls.LlamaServer("m.gguf", binary=binary, repack=False).command(1)


def test_repack_auto_runs_no_probe_on_a_cpu_without_amx(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(llama_repack, "read_host_cpu", lambda: parse_cpuinfo(EPYC, "x86_64"))
    monkeypatch.setattr(llama_repack, "probe_llama_server", lambda *a, **k: pytest.fail("probed"))
    binary = fake_binary(tmp_path / "llama-server")
    cmd = ls.LlamaServer("m.gguf", binary=binary).command(1)
    # nothing added: a llama-server older than these flags still starts
    assert "--no-repack" not in cmd and "--repack" not in cmd


def test_repack_auto_probes_a_foreign_binary_on_an_amx_cpu_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOCALKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(
        llama_repack, "read_host_cpu", lambda: parse_cpuinfo(SAPPHIRE_RAPIDS, "x86_64")
    )
    calls: list[Path] = []

    def crashing_probe(binary: Path, **_: object) -> ProbeResult:
        calls.append(binary)
        return ProbeResult("crash", "died by SIGSEGV", 5.0)

    monkeypatch.setattr(llama_repack, "probe_llama_server", crashing_probe)
    binary = fake_binary(tmp_path / "bin" / "llama-server")
    assert "--no-repack" in ls.LlamaServer("m.gguf", binary=binary).command(1)
    assert "--no-repack" in ls.LlamaServer("m.gguf", binary=binary).command(2)
    assert calls == [binary.resolve()]
    # a binary built here by the current recipe has no AMX path: no probe
    ours = fake_binary(tmp_path / "ours" / "llama-server")
    (ours.parent / ls.BUILD_INFO).write_text(f"recipe: {BUILD_RECIPE}\n")
    assert ls.is_our_build(ours)
    assert "--no-repack" not in ls.LlamaServer("m.gguf", binary=ours).command(1)
    assert len(calls) == 1


def test_start_reports_an_early_exit(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\necho 'error: failed to load model' >&2\nexit 3\n")
    binary.chmod(0o755)
    server = ls.LlamaServer(model, binary=binary, startup_timeout=10, repack=True)
    with pytest.raises(ls.LlamaServerError, match="exited with code 3") as caught:
        server.start()
    assert "failed to load model" in str(caught.value)
    server.stop()
    assert server.process is None


def test_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ls.LlamaServerError, match="No model file"):
        ls.LlamaServer(tmp_path / "nope.gguf", binary=os.devnull).start()


def test_free_port() -> None:
    assert 1024 < ls.free_port() < 65536


def test_the_build_configuration_stays_offline() -> None:
    # llama.cpp's server build fetches prebuilt web-UI assets from Hugging Face unless told not to
    assert "-DLLAMA_USE_PREBUILT_UI=OFF" in ls.CMAKE_FLAGS
    assert "-DLLAMA_BUILD_UI=OFF" in ls.CMAKE_FLAGS
    assert "-DLLAMA_CURL=OFF" in ls.CMAKE_FLAGS


def test_a_failed_build_step_quotes_its_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOCALKIT_CACHE_DIR", str(tmp_path))
    failing = tmp_path / "python"
    failing.write_text("#!/bin/sh\necho 'ERROR: No matching distribution found'\nexit 1\n")
    failing.chmod(failing.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(ls.LlamaServerError, match="No matching distribution found") as info:
        ls.build_llama_server("9.9.9", python=str(failing))
    log = tmp_path / "llama-server" / "build-9.9.9.log"
    assert f"The last lines of {log}" in str(info.value)
    assert "pip download" in log.read_text()
    assert str(log) in capsys.readouterr().err  # the progress line says where the output goes
    assert not ls.cached_binary("9.9.9").exists()
