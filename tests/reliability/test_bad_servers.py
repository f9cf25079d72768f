"""Bad servers over HTTP: what each face says when the server is not what it should be.

Every server here is real (a socket on 127.0.0.1, see `_bad_servers`, the Ollama and vLLM
stand-ins, a real llama-server): nothing listening, a web server answering HTML, HTTP 500, a
reply cut or broken half-way, broken JSON or events, a server that hangs, another kind of
server on the port, an unknown model, a prompt longer than the context. Each gives its typed
error through `expect_error`, and a reply cut half-way is never returned as a whole one.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from langchain_localkit import (
    ChatLlamafile,
    ChatOllama,
    ChatOpenAICompatible,
    Llamafile,
    LlamafileEmbeddings,
    OpenAICompatible,
)
from langchain_localkit._core.errors import (
    ContextOverflowError,
    ModelNotPulledError,
    ServerDisconnectedError,
    ServerError,
    ServerTimeoutError,
    ServerUnavailableError,
)
from langchain_localkit._ollama import PromptTruncatedWarning
from langchain_localkit.testing.llama_server import LlamaServer, free_port
from langchain_localkit.testing.ollama_server import OllamaTranscriptServer
from langchain_localkit.testing.ollama_server import Reply as OllamaReply
from langchain_localkit.testing.openai_server import OpenAICompatServer
from tests.reliability import _bad_servers as bad
from tests.reliability._record import expect_error

pytestmark = pytest.mark.timeout(60)

TOKENS = ["Hel", "lo", " wor", "ld"]
SENT = TOKENS[:2]
"""What the cut servers send before they fail."""

# Each face as a user makes it: `ChatLlamafile-v1` is `ChatLlamafile(endpoint="chat")`.
MAKERS: dict[str, Callable[..., Any]] = {
    "Llamafile": Llamafile,
    "ChatLlamafile": ChatLlamafile,
    "ChatLlamafile-v1": lambda **kw: ChatLlamafile(endpoint="chat", **kw),
    "LlamafileEmbeddings": LlamafileEmbeddings,
    "ChatOpenAICompatible": ChatOpenAICompatible,
    "OpenAICompatible": OpenAICompatible,
}
GENERATORS = [f for f in MAKERS if f != "LlamafileEmbeddings"]
STREAMS = {  # the route each face streams on (what a llama-like server must send)
    "Llamafile": bad.completion_events,
    "ChatLlamafile": bad.completion_events,
    "ChatLlamafile-v1": bad.chat_events,
    "ChatOpenAICompatible": bad.chat_events,
    "OpenAICompatible": bad.text_events,
}
HOWS = ["invoke", "stream", "ainvoke", "astream"]


def make(face: str, url: str, **kwargs: Any) -> Any:
    return MAKERS[face](base_url=url, **kwargs)


def runtime(face: str) -> str:
    return face.split("-")[0]


def case_of(case: str, face: str) -> str:
    """The case id; `ChatLlamafile(endpoint="chat")` takes `-v1` (another route, same face)."""
    return f"{case}-v1" if face.endswith("-v1") else case


def text_of(item: Any) -> str:
    return item if isinstance(item, str) else str(getattr(item, "content", ""))


def ended(item: Any) -> bool:
    """Whether a streamed item says the reply ended (the last chunk of a whole reply)."""
    return bool(getattr(item, "response_metadata", {}).get("finish_reason"))


def call(model: Any, how: str, seen: list[Any]) -> Callable[[], Any]:
    """What a user does, as a thunk; streamed items go to `seen` as they come."""
    if isinstance(model, LlamafileEmbeddings):
        if how.startswith("a"):
            return lambda: asyncio.run(model.aembed_query("hello"))
        return lambda: model.embed_query("hello")

    def stream() -> None:
        for item in model.stream("hello"):
            seen.append(item)

    async def astream() -> None:
        async for item in model.astream("hello"):
            seen.append(item)

    return {
        "invoke": lambda: model.invoke("hello"),
        "ainvoke": lambda: asyncio.run(model.ainvoke("hello")),
        "stream": stream,
        "astream": lambda: asyncio.run(astream()),
    }[how]


def check_cut(seen: list[Any], how: str) -> None:
    """A stream gave what came before the fault, and nothing that says the reply ended."""
    if how in ("stream", "astream"):
        assert "".join(text_of(i) for i in seen) == "".join(SENT), seen
        assert not any(ended(i) for i in seen), "a cut reply was marked as finished"


@pytest.fixture
def server() -> Iterator[bad.RawServer]:
    """A raw server; the test sets its behaviour."""
    with bad.serving(bad.not_found_everywhere) as s:
        yield s


@pytest.fixture(scope="module")
def ollama() -> Iterator[OllamaTranscriptServer]:
    with OllamaTranscriptServer() as s:
        yield s


# --------------------------------------------------------------------------------------------
# Nothing listening, a web server, HTTP 500, another kind of server on the port
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
@pytest.mark.parametrize("face", list(MAKERS))
def test_server_down(face: str, how: str) -> None:
    model = make(face, f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    expect_error(
        case_of("server-down", face),
        runtime(face),
        ServerUnavailableError,
        call(model, how, []),
        must_say=["base_url", "start"],
    )
    assert time.monotonic() - started < 10  # refused at once, not a wait for a timeout


@pytest.mark.parametrize("how", ["invoke", "stream", "ainvoke"])
@pytest.mark.parametrize("face", list(MAKERS))
def test_server_answers_html(face: str, how: str, server: bad.RawServer) -> None:
    server.behaviour = bad.html_site  # before: AttributeError, or an empty reply
    expect_error(
        case_of("server-html", face),
        runtime(face),
        ServerError,
        call(make(face, server.base_url), how, []),
        must_say=["HTML page", "base_url"],
    )


@pytest.mark.parametrize("how", ["invoke", "stream", "ainvoke"])
@pytest.mark.parametrize("face", list(MAKERS))
def test_http_500_at_once(face: str, how: str, server: bad.RawServer) -> None:
    server.behaviour = bad.status_500
    error = expect_error(
        case_of("http-500", face),
        runtime(face),
        ServerError,
        call(make(face, server.base_url), how, []),
        must_say=["HTTP 500", "KV cache full"],
    )
    assert isinstance(error, ServerError) and error.status_code == 500


@pytest.mark.parametrize("face", ["Llamafile", "ChatLlamafile", "ChatLlamafile-v1"])
def test_ollama_where_llama_server_is_expected(face: str, server: bad.RawServer) -> None:
    server.behaviour = bad.ollama_like
    expect_error(
        case_of("other-server", face),
        runtime(face),
        ServerError,
        call(make(face, server.base_url), "invoke", []),
        must_say=["404", "base_url", "another kind of server"],
    )


@pytest.mark.parametrize(
    "face", ["LlamafileEmbeddings", "ChatOpenAICompatible", "OpenAICompatible"]
)
def test_server_without_the_endpoints(face: str, server: bad.RawServer) -> None:
    server.behaviour = bad.not_found_everywhere  # a Go server answering 404 for every path
    expect_error(
        case_of("other-server", face),
        runtime(face),
        ServerError,
        call(make(face, server.base_url), "invoke", []),
        must_say=["404", "base_url"],
    )


# --------------------------------------------------------------------------------------------
# A reply cut half-way: dropped, ended early, an error event; never passed off as whole
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("face", GENERATORS)
def test_connection_dropped_mid_reply(face: str, how: str, server: bad.RawServer) -> None:
    server.behaviour = bad.llama_like(bad.stream(STREAMS[face](SENT), end="drop"))
    seen: list[Any] = []
    expect_error(
        case_of("dropped-mid-reply", face),
        runtime(face),
        ServerDisconnectedError,
        call(make(face, server.base_url), how, seen),
        must_say=["cut off", "closed the connection"],
    )
    check_cut(seen, how)


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("face", GENERATORS)
def test_stream_ended_before_its_end(face: str, how: str, server: bad.RawServer) -> None:
    # the body ends cleanly (a proxy, a server dying politely) without the final event or
    # finish_reason; before, the /v1 faces returned the half reply as a whole one
    server.behaviour = bad.llama_like(bad.stream(STREAMS[face](SENT), end="end"))
    seen: list[Any] = []
    expect_error(
        case_of("stream-ended-early", face),
        runtime(face),
        ServerDisconnectedError,
        call(make(face, server.base_url), how, seen),
        must_say=["cut off"],
    )
    check_cut(seen, how)


LLAMA_ERROR = {"error": {"code": 500, "message": "llama_decode failed", "type": "server_error"}}


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("face", GENERATORS)
def test_error_event_mid_reply(face: str, how: str, server: bad.RawServer) -> None:
    events = [*STREAMS[face](SENT), LLAMA_ERROR]
    server.behaviour = bad.llama_like(bad.stream(events, end="end"))
    seen: list[Any] = []
    expect_error(
        case_of("error-mid-reply", face),
        runtime(face),
        ServerError,
        call(make(face, server.base_url), how, seen),
        must_say=["mid-reply", "cut off", "llama_decode failed"],
    )
    check_cut(seen, how)


@pytest.mark.parametrize("how", ["invoke", "stream", "astream"])
def test_ollama_cut_mid_reply(how: str, ollama: OllamaTranscriptServer) -> None:
    chat = ChatOllama(model=ollama.model, base_url=ollama.url)
    ollama.reply(OllamaReply(text="Hel lo wor ld", drop_after=2))
    seen: list[Any] = []
    expect_error(
        "dropped-mid-reply",
        "ChatOllama",
        ServerDisconnectedError,
        call(chat, how, seen),
        must_say=["cut off"],
    )
    assert not any(ended(i) for i in seen)
    ollama.reply(OllamaReply(text="Hel lo wor ld", error_after=2))
    expect_error(
        "error-mid-reply",
        "ChatOllama",
        ServerError,
        call(chat, how, []),
        must_say=["mid", "cut off"],
    )


# --------------------------------------------------------------------------------------------
# Broken JSON, broken events, a stream in another format
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
@pytest.mark.parametrize("face", list(MAKERS))
def test_invalid_json(face: str, how: str, server: bad.RawServer) -> None:
    server.behaviour = bad.llama_like(bad.bad_json)
    expect_error(
        case_of("invalid-json", face),
        runtime(face),
        ServerError,
        call(make(face, server.base_url), how, []),
        must_say=["could not read", "log"],
    )


@pytest.mark.parametrize("how", ["stream", "astream"])
@pytest.mark.parametrize("face", GENERATORS)
def test_invalid_event_lines(face: str, how: str, server: bad.RawServer) -> None:
    events = [*STREAMS[face](SENT), "data: {not json", "data: <html>"]
    server.behaviour = bad.llama_like(bad.stream(events, end="end"))
    seen: list[Any] = []
    expect_error(
        case_of("invalid-sse", face),
        runtime(face),
        ServerError,
        call(make(face, server.base_url), how, seen),
        must_say=["unreadable event", "cut off"],
    )
    check_cut(seen, how)


@pytest.mark.parametrize("face", GENERATORS)
def test_ndjson_where_events_are_expected(face: str, server: bad.RawServer) -> None:
    lines = ['{"model": "llama3.1:8b", "response": "Hel", "done": false}']
    server.behaviour = bad.llama_like(bad.stream(lines, end="end"))
    expect_error(
        case_of("not-sse", face),
        runtime(face),
        ServerError,
        call(make(face, server.base_url), "invoke", []),
        must_say=["Server-Sent Events", "base_url"],
    )


@pytest.mark.parametrize("how", ["invoke", "stream", "ainvoke"])
def test_ollama_bad_answers(how: str, server: bad.RawServer) -> None:
    chat = ChatOllama(model="llama3.1:8b", base_url=server.base_url)
    server.behaviour = bad.html_site
    expect_error(
        "server-html", "ChatOllama", ServerError, call(chat, how, []), must_say=["base_url"]
    )
    server.behaviour = bad.llama_like(bad.bad_json)
    expect_error(
        "invalid-json", "ChatOllama", ServerError, call(chat, how, []), must_say=["not Ollama"]
    )
    server.behaviour = bad.status_500
    expect_error("http-500", "ChatOllama", ServerError, call(chat, how, []), must_say=["500"])
    server.behaviour = bad.not_found_everywhere  # before: "has no model ... ollama pull"
    expect_error(
        "other-server",
        "ChatOllama",
        ServerError,
        call(chat, how, []),
        must_say=["404", "base_url", "not be Ollama"],
    )


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
def test_ollama_down(how: str) -> None:
    chat = ChatOllama(model="llama3.1:8b", base_url=f"http://127.0.0.1:{free_port()}")
    expect_error(
        "server-down",
        "ChatOllama",
        ServerUnavailableError,
        call(chat, how, []),
        must_say=["ollama serve", "base_url"],
    )


# --------------------------------------------------------------------------------------------
# A server that hangs: ServerTimeoutError within the timeout, not a hang
# --------------------------------------------------------------------------------------------
TIMEOUT = 0.5
MARGIN = 10.0  # generous: a loaded 2-core CI host


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
@pytest.mark.parametrize("face", list(MAKERS))
def test_server_hangs(face: str, how: str, server: bad.RawServer) -> None:
    server.behaviour = bad.llama_like(bad.hang(server))
    model = make(face, server.base_url, request_timeout=TIMEOUT)
    started = time.monotonic()
    expect_error(
        case_of("server-hangs", face),
        runtime(face),
        ServerTimeoutError,
        call(model, how, []),
        must_say=["request_timeout"],
    )
    assert TIMEOUT * 0.9 <= time.monotonic() - started < TIMEOUT + MARGIN


@pytest.mark.parametrize("how", ["stream", "astream"])
@pytest.mark.parametrize("face", GENERATORS)
def test_stream_stalls(face: str, how: str, server: bad.RawServer) -> None:
    server.behaviour = bad.llama_like(bad.stream(STREAMS[face](SENT), end="hang"))
    model = make(face, server.base_url, request_timeout=TIMEOUT)
    seen: list[Any] = []
    started = time.monotonic()
    expect_error(
        case_of("stream-stalls", face),
        runtime(face),
        ServerTimeoutError,
        call(model, how, seen),
        must_say=["request_timeout", "cut off"],
    )
    assert time.monotonic() - started < TIMEOUT + MARGIN
    check_cut(seen, how)


@pytest.mark.parametrize("how", ["invoke", "astream"])
def test_ollama_hangs(how: str, server: bad.RawServer) -> None:
    server.behaviour = bad.hang(server)
    chat = ChatOllama(model="m", base_url=server.base_url, client_kwargs={"timeout": TIMEOUT})
    started = time.monotonic()
    expect_error(
        "server-hangs", "ChatOllama", ServerTimeoutError, call(chat, how, []), must_say=["timeout"]
    )
    assert time.monotonic() - started < TIMEOUT + MARGIN


# --------------------------------------------------------------------------------------------
# The model: not on the server, not pulled, a prompt longer than the context
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flavor", ["vllm", "lmstudio"])
@pytest.mark.parametrize("face", ["ChatOpenAICompatible", "OpenAICompatible"])
def test_model_not_on_the_server(face: str, flavor: str) -> None:
    with OpenAICompatServer(flavor) as s:
        model = make(face, s.base_url, model="no-such-model")
        case = "model-not-found" if flavor == "vllm" else f"model-not-found-{flavor}"
        for how in ("invoke", "ainvoke"):
            expect_error(
                case, runtime(face), ServerError, call(model, how, []), must_say=["no-such-model"]
            )


@pytest.mark.parametrize("how", ["invoke", "stream", "ainvoke", "astream"])
def test_ollama_model_not_pulled(how: str, ollama: OllamaTranscriptServer) -> None:
    chat = ChatOllama(model="no-such-model:1b", base_url=ollama.url)
    expect_error(
        "model-not-pulled",
        "ChatOllama",
        ModelNotPulledError,
        call(chat, how, []),
        must_say=["ollama pull no-such-model:1b", "pull=True"],
    )


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
def test_ollama_prompt_over_num_ctx_warns(how: str, ollama: OllamaTranscriptServer) -> None:
    # Ollama cuts a prompt over num_ctx without an error; the only trace is prompt_eval_count
    # reaching num_ctx, and the face says so
    long_prompt = "word " * 200

    def ask(chat: ChatOllama) -> Any:
        if how == "invoke":
            return chat.invoke(long_prompt)
        return asyncio.run(chat.ainvoke(long_prompt))

    with pytest.warns(PromptTruncatedWarning, match="num_ctx=64"):
        reply = ask(ChatOllama(model=ollama.model, base_url=ollama.url, num_ctx=64))
    assert reply.usage_metadata["input_tokens"] == 64
    with warnings.catch_warnings():
        warnings.simplefilter("error", PromptTruncatedWarning)
        ask(ChatOllama(model=ollama.model, base_url=ollama.url, num_ctx=4096))


@pytest.mark.parametrize("how", ["invoke", "stream", "ainvoke"])
@pytest.mark.parametrize("face", GENERATORS)
def test_prompt_over_llama_server_context(face: str, how: str, tiny_server: LlamaServer) -> None:
    model = make(face, tiny_server.base_url, max_tokens=4)
    prompt = " ".join(f"word{i}" for i in range(3000))  # > 2048 tokens
    run = {
        "invoke": lambda: model.invoke(prompt),
        "stream": lambda: list(model.stream(prompt)),
        "ainvoke": lambda: asyncio.run(model.ainvoke(prompt)),
    }[how]
    error = expect_error(
        case_of("context-overflow", face),
        runtime(face),
        ContextOverflowError,
        run,
        must_say=["2048", "context"],
    )
    assert isinstance(error, ContextOverflowError) and error.n_ctx == 2048


@pytest.mark.parametrize("face", ["ChatOpenAICompatible", "OpenAICompatible"])
def test_prompt_over_vllm_context(face: str) -> None:
    with OpenAICompatServer("vllm", max_model_len=64) as s:
        model = make(face, s.base_url)
        prompt = "word " * 200
        expect_error(
            "context-overflow-vllm",
            runtime(face),
            ContextOverflowError,
            lambda: model.invoke(prompt),
            must_say=["64", "--max-model-len"],
        )
