"""The HTTP engine against a mock transport: SSE, final events, errors, waiting, legacy servers."""

from __future__ import annotations

import json

import httpx
import pytest

from langchain_localkit._core.errors import (
    ContextOverflowError,
    ServerError,
    ServerUnavailableError,
)
from langchain_localkit._core.generation import GenerationInfo
from langchain_localkit.engines.http.sse import SSEParser
from langchain_localkit.engines.llamafile import (
    LlamafileEngine,
    ServerDisconnectedError,
    ServerInfo,
    display_model_name,
    generation_from_final,
)
from tests.unit_tests.llamafile._fakes import (
    LEGACY_PROPS,
    FakeServer,
    completion_stream,
    final_event,
    sse,
)


def engine_for(fake: FakeServer, **kwargs: object) -> LlamafileEngine:
    return LlamafileEngine("http://fake", client_kwargs={"transport": fake.transport}, **kwargs)  # type: ignore[arg-type]


# --- SSE
def test_sse_parser_dialects() -> None:
    parser = SSEParser()
    lines = [": ping", "", 'data: {"a": 1}', "", 'data:{"b":', "data: 2}", "", "event: x", ""]
    events = [e for e in (parser.feed(line) for line in lines) if e is not None]
    assert events == [("data", '{"a": 1}'), ("data", '{"b":\n2}')]
    assert parser.feed('error: {"content": "slot unavailable"}') == (
        "error",
        '{"content": "slot unavailable"}',
    )


def test_stream_completion_text_then_info() -> None:
    fake = FakeServer()
    fake.stream(
        "POST", "/completion", completion_stream(["Hel", "lo"], stop_type="eos", predicted=3)
    )
    items = list(engine_for(fake).stream_completion({"prompt": "x", "n_predict": 8}))
    assert items[:2] == ["Hel", "lo"]
    info = items[-1]
    assert isinstance(info, GenerationInfo)
    assert (info.finish_reason, info.stop_reason) == ("stop", "eos")
    # the server counts the end-of-generation token; the user saw two tokens
    assert (info.prompt_tokens, info.completion_tokens) == (5, 2)
    assert info.timings.eval_tokens == 2
    assert info.timings.cached_tokens == 1
    assert info.timings.ttft_ms is not None
    assert info.model_name == "tiny-llama.gguf"
    assert info.extra["stop_type"] == "eos"
    body = fake.bodies("/completion")[0]
    assert body["stream"] is True
    assert fake.requests[0].headers.get("connection") != "close"  # as any client sends it


def test_stop_word_and_legacy_final_fields() -> None:
    word = generation_from_final(
        {"stop_type": "word", "stopping_word": "\n", "tokens_predicted": 4}, model_name="m"
    )
    assert (word.finish_reason, word.stop_reason, word.completion_tokens) == ("stop", "\n", 4)
    legacy = generation_from_final(
        {"stopped_eos": True, "tokens_predicted": 3, "tokens_evaluated": 2}, model_name=""
    )
    assert (legacy.finish_reason, legacy.stop_reason, legacy.completion_tokens) == (
        "stop",
        "eos",
        2,
    )
    assert generation_from_final({"stopped_limit": True}, model_name="m").finish_reason == "length"


def test_stream_without_final_event_is_a_disconnect() -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", sse({"content": "a", "stop": False}))
    with pytest.raises(ServerDisconnectedError, match="ended before its final event"):
        list(engine_for(fake).stream_completion({"prompt": "x"}))


@pytest.mark.parametrize(
    "payload",
    [
        b'data: {"error": {"code": 500, "message": "decode failed", "type": "server_error"}}\n\n',
        b'error: {"content": "decode failed"}\n\n',
    ],
)
def test_error_event_mid_stream(payload: bytes) -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", sse({"content": "a", "stop": False}) + payload)
    stream = engine_for(fake).stream_completion({"prompt": "x"})
    assert next(stream) == "a"
    with pytest.raises(ServerError, match="decode failed"):
        next(stream)


def test_chat_stream_stops_at_done() -> None:
    fake = FakeServer()
    chunk = {"choices": [{"delta": {"content": "hi"}, "finish_reason": None}]}
    fake.stream("POST", "/v1/chat/completions", sse(chunk, [chunk], done=True))
    assert len(list(engine_for(fake).stream_chat({"messages": []}))) == 2


# --- errors
def test_http_error_surfaces_the_servers_message() -> None:
    fake = FakeServer()
    fake.on(
        "POST",
        "/completion",
        lambda r: httpx.Response(
            500, json={"error": {"code": 500, "message": "out of memory", "type": "server_error"}}
        ),
    )
    with pytest.raises(ServerError, match="HTTP 500: out of memory") as caught:
        list(engine_for(fake).stream_completion({"prompt": "x"}))
    assert caught.value.status_code == 500
    assert isinstance(caught.value, RuntimeError)


def test_http_error_with_a_text_body() -> None:
    fake = FakeServer()
    fake.on("POST", "/completion", lambda r: httpx.Response(502, text="Bad gateway upstream"))
    with pytest.raises(ServerError, match="Bad gateway upstream"):
        engine_for(fake).complete({"prompt": "x"})


def test_context_overflow_is_typed() -> None:
    fake = FakeServer()
    fake.on(
        "POST",
        "/completion",
        lambda r: httpx.Response(
            400,
            json={
                "error": {
                    "code": 400,
                    "message": "the request exceeds the available context size",
                    "type": "exceed_context_size_error",
                    "n_prompt_tokens": 3000,
                    "n_ctx": 1024,
                }
            },
        ),
    )
    with pytest.raises(ContextOverflowError) as caught:
        list(engine_for(fake).stream_completion({"prompt": "x"}))
    assert (caught.value.n_prompt_tokens, caught.value.n_ctx) == (3000, 1024)
    assert "--ctx-size" in str(caught.value)


def test_embeddings_not_enabled_hint() -> None:
    fake = FakeServer()
    fake.on(
        "POST",
        "/v1/embeddings",
        lambda r: httpx.Response(
            501, json={"error": {"code": 501, "message": "This server does not support embeddings"}}
        ),
    )
    with pytest.raises(ServerError, match="--embedding"):
        engine_for(fake).embed(["a"])


def test_waits_while_loading_then_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("langchain_localkit.engines.http.transport._POLL_INTERVAL", 0.01)
    loading = httpx.Response(
        503, json={"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
    )
    fake = FakeServer()
    fake.on("GET", "/health", lambda r: loading, lambda r: loading, lambda r: httpx.Response(200))
    fake.on("GET", "/props", lambda r: loading, lambda r: httpx.Response(200, json=fake.props))
    info = engine_for(fake).info()
    assert info.n_ctx == 1024
    assert [r.url.path for r in fake.requests].count("/health") == 3


def test_gives_up_loading_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("langchain_localkit.engines.http.transport._POLL_INTERVAL", 0.01)
    loading = httpx.Response(503, json={"status": "loading model"})
    fake = FakeServer()
    fake.on("GET", "/health", lambda r: loading)
    fake.stream("POST", "/completion", b"")
    fake.on("POST", "/completion", lambda r: loading)
    with pytest.raises(ServerUnavailableError, match="still loading its model"):
        list(engine_for(fake, load_timeout=0.1).stream_completion({"prompt": "x"}))


def test_nothing_listening() -> None:
    from langchain_localkit.testing.llama_server import free_port

    engine = LlamafileEngine(f"http://127.0.0.1:{free_port()}", connect_timeout=2)
    with pytest.raises(ServerUnavailableError, match="--server --nobrowser") as caught:
        engine.health()
    assert isinstance(caught.value, ConnectionError)


def test_a_stale_pooled_connection_is_retried() -> None:
    fake = FakeServer()
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"tokens": [5, 6]})

    fake.on("POST", "/tokenize", flaky)
    assert engine_for(fake).tokenize("ab") == [5, 6]
    assert calls["n"] == 2


async def test_async_paths() -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream(["a", "b"]))
    engine = engine_for(fake)
    items = [item async for item in engine.astream_completion({"prompt": "x"})]
    assert items[:2] == ["a", "b"]
    assert isinstance(items[-1], GenerationInfo)
    assert (await engine.ainfo()).chat_template
    assert await engine.atokenize("x") == [1]
    await engine.aclose()


# --- server facts
def test_server_info_and_legacy_detection() -> None:
    current = ServerInfo.from_props(
        {"build_info": "b1", "chat_template": "x", "model_path": "/m/a.gguf", "total_slots": 2}
    )
    assert not current.legacy
    assert current.model_name == "a.gguf"
    assert current.total_slots == 2
    legacy = ServerInfo.from_props(LEGACY_PROPS)
    assert legacy.legacy
    assert legacy.n_ctx == 512
    assert legacy.model_name is None


def test_display_model_name() -> None:
    assert display_model_name("/zip/weights/mistral-7b.Q4_K_M.gguf") == "mistral-7b.Q4_K_M.gguf"
    assert display_model_name("llama3") == "llama3"
    assert display_model_name(None) == ""


def test_legacy_server_gets_a_grammar_instead_of_json_schema() -> None:
    pytest.importorskip("llama_cpp")
    fake = FakeServer(props=dict(LEGACY_PROPS))
    fake.stream("POST", "/completion", completion_stream(["{}"]))
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    list(engine_for(fake).stream_completion({"prompt": "x", "json_schema": schema}))
    body = fake.bodies("/completion")[0]
    assert "json_schema" not in body
    assert "root ::=" in body["grammar"]


def test_current_server_gets_the_json_schema() -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream(["{}"]))
    schema = {"type": "object"}
    list(engine_for(fake).stream_completion({"prompt": "x", "json_schema": schema}))
    assert fake.bodies("/completion")[0]["json_schema"] == schema


def test_embeddings_prefer_v1_and_fall_back_to_native() -> None:
    fake = FakeServer()
    fake.on(
        "POST",
        "/v1/embeddings",
        lambda r: httpx.Response(
            200,
            json={
                "data": [{"index": 1, "embedding": [0.0, 2.0]}, {"index": 0, "embedding": [1, 0]}]
            },
        ),
    )
    assert engine_for(fake).embed(["a", "b"]) == [[1.0, 0.0], [0.0, 2.0]]
    assert fake.bodies("/v1/embeddings")[0]["input"] == ["a", "b"]

    native = FakeServer()
    native.on(
        "POST",
        "/v1/embeddings",
        lambda r: httpx.Response(
            400,
            json={"error": {"message": "Pooling type 'none' is not OAI compatible. Please use..."}},
        ),
    )
    native.on(
        "POST",
        "/embedding",
        lambda r: httpx.Response(200, json=[{"index": 0, "embedding": [[1.0, 3.0], [3.0, 5.0]]}]),
    )
    assert engine_for(native).embed(["a"]) == [[2.0, 4.0]]
    assert json.loads(native.requests[-1].content)["content"] == "a"
    assert engine_for(FakeServer()).embed([]) == []


def test_construction_does_no_io() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected request {request.url}")

    engine = LlamafileEngine(client_kwargs={"transport": httpx.MockTransport(refuse)})
    assert engine.base_url == "http://localhost:8080"
    engine.close()


def test_final_event_helper_shape() -> None:
    event = final_event(stop_type="word", word="</s>")
    info = generation_from_final(event, model_name="")
    assert info.stop_reason == "</s>"
    assert info.extra["tokens_cached"] == event["tokens_cached"]


# --- async twins: the same flows, driven by asyncio
async def test_async_waits_while_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("langchain_localkit.engines.http.transport._POLL_INTERVAL", 0.01)
    loading = httpx.Response(503, json={"error": {"code": 503, "message": "Loading model"}})
    fake = FakeServer()
    fake.on("GET", "/health", lambda r: loading, lambda r: httpx.Response(200))
    fake.stream("POST", "/completion", completion_stream(["ok"]))
    fake.answers[("POST", "/completion")].insert(0, lambda r: loading)
    engine = engine_for(fake)
    items = [item async for item in engine.astream_completion({"prompt": "x"})]
    assert items[0] == "ok"
    paths = [r.url.path for r in fake.requests]
    assert paths == ["/completion", "/health", "/health", "/completion"]
    await engine.aclose()


async def test_async_gives_up_loading_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("langchain_localkit.engines.http.transport._POLL_INTERVAL", 0.01)
    loading = httpx.Response(503, json={"status": "loading model"})
    fake = FakeServer()
    fake.on("GET", "/health", lambda r: loading)
    fake.on("GET", "/props", lambda r: loading)
    with pytest.raises(ServerUnavailableError, match="still loading its model"):
        await engine_for(fake, load_timeout=0.05).ainfo()


async def test_async_stale_pooled_connections_are_retried_a_bounded_number_of_times() -> None:
    from langchain_localkit.engines.http.transport import _STALE_RETRIES

    fake = FakeServer()
    calls = {"n": 0}
    failing = {1, 3, 4}  # one stale connection, then two in a row

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] in failing or calls["n"] > 5:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"tokens": [{"id": 7, "piece": "a"}]})

    fake.on("POST", "/tokenize", flaky)
    engine = engine_for(fake)
    assert await engine.atokenize("a") == [7]
    assert await engine.atokenize("a") == [7]
    assert calls["n"] == 5
    with pytest.raises(ServerDisconnectedError, match="without answering"):
        await engine.atokenize("a")  # a server that always drops it: not retried forever
    assert calls["n"] == 5 + _STALE_RETRIES + 1
    await engine.aclose()


async def test_async_http_error_on_a_stream_is_typed() -> None:
    fake = FakeServer()
    fake.on(
        "POST",
        "/completion",
        lambda r: httpx.Response(500, json={"error": {"code": 500, "message": "KV cache full"}}),
    )
    with pytest.raises(ServerError, match="HTTP 500: KV cache full") as caught:
        [item async for item in engine_for(fake).astream_completion({"prompt": "x"})]
    assert caught.value.status_code == 500


async def test_async_complete_chat_and_embeddings() -> None:
    fake = FakeServer()
    final = final_event(stop_type="limit", predicted=2)
    fake.on(
        "POST", "/completion", lambda r: httpx.Response(200, json={**final, "content": "ab\ufffd"})
    )
    chunk = {"choices": [{"delta": {"content": "hi"}, "finish_reason": None}]}
    fake.stream("POST", "/v1/chat/completions", sse(chunk, [chunk, chunk], done=True))
    fake.on("POST", "/v1/embeddings", lambda r: httpx.Response(404, json={"error": "nope"}))
    fake.on("POST", "/embedding", lambda r: httpx.Response(200, json={"embedding": [1, 2]}))
    engine = engine_for(fake)
    text, info = await engine.acomplete({"prompt": "x"}, model_name="mine")
    assert (text, info.finish_reason, info.model_name) == ("ab", "length", "mine")
    assert fake.bodies("/completion")[0]["stream"] is False
    assert len([c async for c in engine.astream_chat({"messages": []})]) == 3
    assert await engine.aembed(["a", "b"]) == [[1.0, 2.0], [1.0, 2.0]]
    assert await engine.aembed([]) == []
    await engine.aclose()


async def test_bos_token_id_is_looked_up_once() -> None:
    fake = FakeServer()
    engine = engine_for(fake)
    assert engine.bos_token_id() == 1
    assert await engine.abos_token_id() == 1
    assert [r.url.path for r in fake.requests] == ["/props", "/tokenize"]
    assert fake.bodies("/tokenize")[0] == {
        "content": "<s>",
        "add_special": False,
        "parse_special": True,
    }
    legacy = engine_for(FakeServer(props=dict(LEGACY_PROPS)))
    assert await legacy.abos_token_id() is None
    await engine.aclose()


def test_health_and_refresh() -> None:
    fake = FakeServer()
    engine = engine_for(fake)
    assert engine.health() == {"status": "ok"}
    assert engine.info() is engine.info()
    fake.props = {**fake.props, "total_slots": 4}
    assert engine.info(refresh=True).total_slots == 4


def test_clients_share_one_tls_context_unless_verify_is_given() -> None:
    # loading the CA bundle costs 30-50 ms per client; async calls make a client per loop
    import ssl

    from langchain_localkit.engines.http.transport import HttpTransport, ServerKind

    kind = ServerKind("test server", "start one")
    one = HttpTransport("http://127.0.0.1:9", kind)._client_args({})
    two = HttpTransport("http://127.0.0.1:9", kind)._client_args({})
    assert isinstance(one["verify"], ssl.SSLContext) and one["verify"] is two["verify"]
    mine = HttpTransport("http://127.0.0.1:9", kind)._client_args({"verify": False})
    assert mine["verify"] is False
