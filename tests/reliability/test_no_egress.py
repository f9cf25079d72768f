"""No egress: the package talks to loopback only, and resolves no name but a local one.

Every socket connection (`socket.connect`, `connect_ex`, `create_connection`) and every name
lookup (`getaddrinfo`, `gethostbyname`) is recorded while each face runs its main path against
real parts (llama.cpp in process, gpt4all with a local file, llama-server on the tiny model,
its `/v1`, the recorded Ollama server), and while `localkit models` and `localkit info` run in
process. Only loopback addresses may be contacted and only local names looked up. Importing the
package and constructing every class touches no socket at all (checked in a fresh
interpreter), and GPT4All never reaches for its download list unless `allow_download` is set.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from langchain_localkit._core.errors import LocalKitError
from langchain_localkit.testing.llama_server import LlamaServer
from tests.reliability._record import expect_error

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def is_local_host(host: Any) -> bool:
    """A loopback address, or a name that only ever means this machine."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    text = str(host).strip("[]").split("%")[0].lower()
    if text in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


class Recorder:
    """Every connection and name lookup made while it is installed: `(kind, target)`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def install(self, patch: Callable[[Any, str, Any], None]) -> None:
        sock = socket.socket
        connect, connect_ex = sock.connect, sock.connect_ex
        getaddrinfo, create_connection = socket.getaddrinfo, socket.create_connection
        gethostbyname, gethostbyname_ex = socket.gethostbyname, socket.gethostbyname_ex
        calls = self.calls

        def rec_connect(self: socket.socket, address: Any) -> Any:
            calls.append(("connect", address))
            return connect(self, address)

        def rec_connect_ex(self: socket.socket, address: Any) -> Any:
            calls.append(("connect_ex", address))
            return connect_ex(self, address)

        def rec_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(("getaddrinfo", host))
            return getaddrinfo(host, *args, **kwargs)

        def rec_create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(("create_connection", address))
            return create_connection(address, *args, **kwargs)

        def rec_gethostbyname(host: str) -> Any:
            calls.append(("gethostbyname", host))
            return gethostbyname(host)

        def rec_gethostbyname_ex(host: str) -> Any:
            calls.append(("gethostbyname_ex", host))
            return gethostbyname_ex(host)

        patch(sock, "connect", rec_connect)
        patch(sock, "connect_ex", rec_connect_ex)
        patch(socket, "getaddrinfo", rec_getaddrinfo)
        patch(socket, "create_connection", rec_create_connection)
        patch(socket, "gethostbyname", rec_gethostbyname)
        patch(socket, "gethostbyname_ex", rec_gethostbyname_ex)

    def foreign(self) -> list[tuple[str, Any]]:
        """The calls that reached past this machine (or looked up a non-local name)."""
        out = []
        for kind, target in self.calls:
            if isinstance(target, str | bytes) and kind in ("connect", "connect_ex"):
                continue  # a Unix socket path
            host = target[0] if isinstance(target, tuple) else target
            if not is_local_host(host):
                out.append((kind, target))
        return out

    def network(self) -> list[tuple[str, Any]]:
        """Every TCP/IP call (Unix sockets left out)."""
        return [
            c for c in self.calls if not (isinstance(c[1], str | bytes) and c[0].startswith("conn"))
        ]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    rec.install(monkeypatch.setattr)
    return rec


def test_the_recorder_sees_a_foreign_lookup_and_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The checks below can fail: a non-local name and address are reported (stubs stand
    under the recorder, so nothing leaves the machine even here)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("stub: no network in this test")

    for name in ("getaddrinfo", "create_connection", "gethostbyname", "gethostbyname_ex"):
        monkeypatch.setattr(socket, name, refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    rec = Recorder()
    rec.install(monkeypatch.setattr)
    for call in (
        lambda: socket.getaddrinfo("huggingface.co", 443),
        lambda: socket.create_connection(("localhost", 9)),
        lambda: socket.gethostbyname("gpt4all.io"),
    ):
        with pytest.raises(OSError, match="stub"):
            call()
    with socket.socket() as s, pytest.raises(OSError, match="stub"):
        s.connect(("192.0.2.1", 9))
    assert rec.foreign() == [
        ("getaddrinfo", "huggingface.co"),
        ("gethostbyname", "gpt4all.io"),
        ("connect", ("192.0.2.1", 9)),
    ]
    assert len(rec.network()) == 4
    assert is_local_host("127.0.0.1") and is_local_host("::1") and is_local_host("localhost")
    assert not is_local_host("10.0.0.1") and not is_local_host("huggingface.co")


IMPORT_AND_CONSTRUCT = textwrap.dedent(
    """
    import json, socket, sys
    calls = []
    def wrap(owner, name):
        original = getattr(owner, name)
        def recorded(*args, **kwargs):
            calls.append([name, repr(args[1:] if owner is socket.socket else args)[:120]])
            return original(*args, **kwargs)
        setattr(owner, name, recorded)
    for name in ("connect", "connect_ex"):
        wrap(socket.socket, name)
    for name in ("getaddrinfo", "create_connection", "gethostbyname", "gethostbyname_ex"):
        wrap(socket, name)

    tiny, minilm = sys.argv[1], sys.argv[2]
    import langchain_localkit as lk
    from langchain_localkit._exports import FACES

    local = "http://127.0.0.1:9"
    arguments = {
        "LlamaCpp": {"model_path": tiny}, "ChatLlamaCpp": {"model_path": tiny},
        "LlamaCppEmbeddings": {"model_path": tiny},
        "GPT4All": {"model": tiny}, "ChatGPT4All": {"model": tiny},
        "GPT4AllEmbeddings": {"model": minilm},
        "Llamafile": {}, "ChatLlamafile": {}, "LlamafileEmbeddings": {},
        "OllamaLLM": {"model": "llama3.1:8b"}, "ChatOllama": {"model": "llama3.1:8b"},
        "OllamaEmbeddings": {"model": "nomic-embed-text"},
        "OpenAICompatible": {"base_url": local + "/v1", "model": "m"},
        "ChatOpenAICompatible": {"base_url": local + "/v1", "model": "m"},
        "OpenAICompatibleEmbeddings": {"base_url": local + "/v1", "model": "m"},
    }
    built = []
    for name in FACES:
        model = getattr(lk, name)(**arguments[name])
        getattr(model, "profile", None)  # read at construction from the header, no I/O
        built.append(name)
    from langchain_localkit import providers
    print(json.dumps({"built": built, "calls": calls}))
    """
)


@pytest.mark.timeout(180)
def test_importing_and_constructing_every_class_touches_no_socket(
    tiny_gguf_path: Path, tmp_path: Path
) -> None:
    from langchain_localkit._exports import FACES

    try:
        from langchain_localkit.testing.minilm import minilm_gguf_path

        minilm = str(minilm_gguf_path())
    except (ImportError, LocalKitError):
        minilm = str(tiny_gguf_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "OPENAI_"))}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_CONSTRUCT, str(tiny_gguf_path), minilm],
        capture_output=True,
        text=True,
        timeout=150,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["built"] == list(FACES)
    assert report["calls"] == [], report["calls"]


@pytest.mark.timeout(600)
def test_every_face_contacts_loopback_only(
    recorder: Recorder, tiny_gguf_path: Path, tiny_server: LlamaServer
) -> None:
    from langchain_localkit import (
        ChatGPT4All,
        ChatLlamaCpp,
        ChatLlamafile,
        ChatOllama,
        ChatOpenAICompatible,
        GPT4All,
        GPT4AllEmbeddings,
        LlamaCpp,
        LlamaCppEmbeddings,
        Llamafile,
    )
    from langchain_localkit.testing.ollama_server import OllamaTranscriptServer

    tiny = str(tiny_gguf_path)
    assert LlamaCpp(model_path=tiny, max_tokens=4).invoke("the moon")
    assert ChatLlamaCpp(model_path=tiny, max_tokens=4).invoke("the moon").content
    assert len(LlamaCppEmbeddings(model_path=tiny).embed_query("the moon")) > 0
    assert GPT4All(model=tiny, max_tokens=4).invoke("the moon")
    assert ChatGPT4All(model=tiny, max_tokens=4).invoke("the moon").content
    try:
        from langchain_localkit.testing.minilm import minilm_gguf_path

        minilm: str | None = str(minilm_gguf_path())
    except (ImportError, LocalKitError):
        minilm = None
    if minilm is not None:
        assert len(GPT4AllEmbeddings(model=minilm).embed_query("the moon")) == 384
    local_only = recorder.network()
    assert local_only == [], f"in-process runtimes opened sockets: {local_only}"

    url = tiny_server.base_url
    assert Llamafile(base_url=url, max_tokens=4).invoke("the moon")
    llamafile = ChatLlamafile(base_url=url, max_tokens=4)
    assert llamafile.invoke("the moon").content
    chat = ChatOpenAICompatible(base_url=url + "/v1", max_tokens=4)
    assert chat.invoke("the moon").content
    with OllamaTranscriptServer() as server:
        server.reply("Neil Armstrong.")
        ollama = ChatOllama(model=server.model, base_url=server.url)
        assert ollama.invoke("Who was first on the moon?").content == "Neil Armstrong."

        async def native_async() -> None:  # the HTTP faces' own async clients
            assert (await llamafile.ainvoke("the moon")).content
            assert (await chat.ainvoke("the moon")).content
            server.reply("Buzz Aldrin.")
            assert (await ollama.ainvoke("And second?")).content == "Buzz Aldrin."

        asyncio.run(native_async())
    connections = [c for c in recorder.calls if c[0] in ("connect", "create_connection")]
    assert len(connections) >= 7, recorder.calls  # the recorder saw the HTTP faces connect
    assert recorder.foreign() == [], recorder.foreign()


@pytest.mark.timeout(120)
def test_gpt4all_never_downloads_unless_asked(recorder: Recorder, tmp_path: Path) -> None:
    """A model that is not on disk is an error, not a download (`allow_download=False`)."""
    from langchain_localkit import GPT4All, GPT4AllEmbeddings

    missing = "orca-mini-3b-gguf2-q4_0.gguf"
    expect_error(
        "no-download-missing-model",
        "GPT4All",
        LocalKitError,
        lambda: GPT4All(model=missing, model_path=str(tmp_path), max_tokens=2).invoke("hi"),
        must_say=[missing],
    )
    expect_error(
        "no-download-missing-model",
        "GPT4AllEmbeddings",
        LocalKitError,
        lambda: GPT4AllEmbeddings(model=str(tmp_path / missing)).embed_query("hi"),
        must_say=[missing],
    )
    assert recorder.network() == [], recorder.network()
    assert list(tmp_path.iterdir()) == []  # nothing was written where a download would go


@pytest.mark.timeout(300)
def test_localkit_models_and_info_stay_on_this_machine(
    recorder: Recorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_gguf_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from langchain_localkit.cli import main
    from tests.cli_home import write_home

    home = write_home(tmp_path)
    for key in list(os.environ):
        if key.startswith(("OLLAMA_", "HF_", "HUGGINGFACE_", "XDG_", "LOCALKIT_")):
            monkeypatch.delenv(key)
    for key, value in home.environment().items():
        if key.startswith(("HOME", "OLLAMA_", "HF_", "XDG_", "LOCALKIT_")):
            monkeypatch.setenv(key, value)
    assert main(["models"]) == 0
    listed = capsys.readouterr().out
    assert "tiny" in listed, listed
    assert main(["info", str(tiny_gguf_path)]) == 0
    assert "chat template" in capsys.readouterr().out
    assert recorder.foreign() == [], recorder.foreign()
