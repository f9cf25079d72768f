"""llama-server on every x86-64 host: our build has no AMX path, `--no-repack` works, and a
server binary whose repacking crashes is found out once and started with `--no-repack`."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import httpx
import pytest

from langchain_localkit import Llamafile
from langchain_localkit._core.cpu import amx_instructions, parse_cpuinfo
from langchain_localkit.engines import llamacpp_amx as amx
from langchain_localkit.testing import llama_repack
from langchain_localkit.testing import llama_server as ls
from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests.llamafile._servers import binary
from tests.unit_tests.test_cpu import SAPPHIRE_RAPIDS

AMX_CPU = parse_cpuinfo(SAPPHIRE_RAPIDS, "x86_64")


@pytest.fixture(scope="module")
def server_binary() -> Path:
    return Path(binary())


@pytest.fixture
def crashes_when_repacking(tmp_path: Path, server_binary: Path) -> Path:
    """A llama-server that dies by SIGSEGV unless started with --no-repack, as an AMX build
    does on an affected Xeon (the real server otherwise)."""
    wrapper = tmp_path / "bin" / "llama-server"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" --no-repack "*) exec "{server_binary}" "$@";; esac\n'
        "kill -SEGV $$\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


def _complete(server: LlamaServer) -> str:
    response = httpx.post(
        f"{server.base_url}/completion",
        json={"prompt": "the moon", "n_predict": 6, "temperature": 0},
        timeout=60,
    )
    response.raise_for_status()
    return str(response.json()["content"])


def test_our_build_has_no_amx_path(server_binary: Path) -> None:
    if os.environ.get(ls.BINARY_ENV):
        pytest.skip(f"${ls.BINARY_ENV} names a binary we did not build")
    assert ls.is_our_build(server_binary)
    info = (server_binary.parent / ls.BUILD_INFO).read_text()
    assert "-mno-amx-int8" in info or "x86" not in info
    count = amx_instructions(server_binary)
    if count is None:
        pytest.skip("objdump is not installed")
    assert count == 0


def test_our_build_repacks_without_a_probe(server_binary: Path) -> None:
    def never() -> amx.ProbeResult:
        pytest.fail("no probe for a binary built here")

    if not ls.is_our_build(server_binary):
        pytest.skip("not our build")
    assert ls.repack_is_safe(server_binary, cpu=AMX_CPU, probe=never) == (
        True,
        "built here without the AMX path",
    )
    assert "--no-repack" not in LlamaServer("m.gguf", binary=server_binary).command(1)


def _repacked(server: LlamaServer) -> bool:
    assert server.log_path is not None
    log = server.log_path.read_text(errors="replace")
    assert "model buffer size" in log  # the load was logged at all
    return "CPU_REPACK model buffer" in log


@pytest.mark.parametrize("repack", [False, True])
def test_repack_reaches_the_server(server_binary: Path, repack: bool) -> None:
    probe_gguf = amx.probe_model_path()  # Q4_0 weights: repacked on AVX2/AVX-512 and ARM
    server = LlamaServer(
        probe_gguf, binary=server_binary, n_ctx=256, repack=repack, extra_args=["-lv", "4"]
    )
    with server:
        assert _complete(server)
        repacked = _repacked(server)
    if repack and not repacked:
        pytest.skip("this CPU has no repacking kernel for Q4_0")
    assert repacked is repack


def test_no_repack_serves(tiny_gguf_path: Path, server_binary: Path) -> None:
    server = LlamaServer(tiny_gguf_path, binary=server_binary, n_ctx=512, repack=False)
    assert "--no-repack" in server.command(1)
    with server:
        assert _complete(server).split()
        assert Llamafile(base_url=server.base_url, max_tokens=4, temperature=0).invoke("the sun")


def test_server_probe_passes_on_this_host(server_binary: Path) -> None:
    result = ls.probe_llama_server(server_binary)
    assert result.verdict == "ok", result.detail


def test_a_binary_whose_repacking_crashes_gets_no_repack(
    tmp_path: Path,
    crashes_when_repacking: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tiny_gguf_path: Path,
) -> None:
    monkeypatch.setenv("LOCALKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(llama_repack, "read_host_cpu", lambda: AMX_CPU)
    result = ls.probe_llama_server(crashes_when_repacking)
    assert result.verdict == "crash" and "SIGSEGV" in result.detail
    with caplog.at_level(logging.WARNING, logger=ls.__name__):
        server = LlamaServer(tiny_gguf_path, binary=crashes_when_repacking, n_ctx=512)
        with server:  # would die at start without --no-repack
            assert "--no-repack" in server.command(server.port or 1)
            assert _complete(server).split()
    assert "--no-repack" in caplog.text and "SIGSEGV" in caplog.text
    # the verdict is cached: the next server starts without probing
    again = ls.repack_is_safe(crashes_when_repacking, probe=lambda: pytest.fail("probed twice"))
    assert again == (False, "cached probe failed (crash)")


def test_a_server_broken_either_way_is_not_blamed_on_repacking(tmp_path: Path) -> None:
    broken = tmp_path / "llama-server"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    result = ls.probe_llama_server(broken, timeout=20)
    assert result.verdict == "error" and "without repacking too" in result.detail
