"""The Ollama faces against the transcript server, over real loopback sockets.

The real `ollama` client and langchain-ollama's code run unmodified; only Ollama itself is
replaced by `OllamaTranscriptServer`, which answers with Ollama's documented shapes.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Iterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

from langchain_localkit import (
    ChatOllama,
    ModelNotPulledError,
    OllamaEmbeddings,
    OllamaLLM,
    ServerDisconnectedError,
    ServerError,
    ServerUnavailableError,
    TemplateError,
    Timings,
)
from langchain_localkit.callbacks import TimingCallbackHandler
from langchain_localkit.testing.ollama_server import (
    EVAL_NS_PER_TOKEN,
    LOAD_NS,
    VERSION,
    OllamaTranscriptServer,
    Reply,
    example_of,
    pieces,
)


@pytest.fixture
def server() -> Iterator[OllamaTranscriptServer]:
    with OllamaTranscriptServer() as running:
        yield running


def chat(server: OllamaTranscriptServer, **kwargs: object) -> ChatOllama:
    return ChatOllama(model=server.model, base_url=server.url, **kwargs)


def llm(server: OllamaTranscriptServer, **kwargs: object) -> OllamaLLM:
    return OllamaLLM(model=server.model, base_url=server.url, **kwargs)


# --- text, usage, timings ------------------------------------------------------------------------
def test_chat_invoke_has_usage_and_timings_from_ollama_durations(
    server: OllamaTranscriptServer,
) -> None:
    server.reply("Neil Armstrong walked first.")
    msg = chat(server).invoke("Who was the first man on the moon?")
    assert msg.content == "Neil Armstrong walked first."
    final = server.last("/api/chat").body
    question = {"role": "user", "content": "Who was the first man on the moon?"}
    assert final["messages"][-1] == question
    assert msg.usage_metadata is not None
    t = Timings.from_dict(msg.response_metadata["timings"])
    assert t.source == "ollama"
    assert t.eval_tokens == msg.usage_metadata["output_tokens"] == 4
    assert t.prompt_tokens == msg.usage_metadata["input_tokens"]
    assert t.eval_ms == pytest.approx(4 * EVAL_NS_PER_TOKEN / 1e6)
    assert t.load_ms == pytest.approx(LOAD_NS / 1e6)
    assert t.eval_tokens_per_second == pytest.approx(50.0)
    assert t.ttft_ms is not None and 0 < t.ttft_ms < 5000
    # langchain-ollama's own fields are still there, untouched
    assert msg.response_metadata["eval_count"] == 4
    assert msg.response_metadata["model_name"] == server.model


def test_chat_stream_sends_tokens_then_a_final_chunk_with_timings(
    server: OllamaTranscriptServer,
) -> None:
    server.reply("one two three")
    chunks = list(chat(server).stream("Count"))
    assert "".join(str(c.content) for c in chunks) == "one two three"
    assert [c.content for c in chunks if c.content] == pieces("one two three")
    last = [c for c in chunks if "timings" in c.response_metadata]
    assert len(last) == 1 and last[0].usage_metadata is not None
    assert last[0].usage_metadata["output_tokens"] == 3


def test_chat_async_invoke_and_stream(server: OllamaTranscriptServer) -> None:
    async def go() -> tuple[AIMessage, list[str]]:
        server.reply("async answer", "streamed async answer")
        msg = await chat(server).ainvoke("Hi")
        parts = [str(c.content) async for c in chat(server).astream("Hi")]
        return msg, parts

    msg, parts = asyncio.run(go())
    assert msg.content == "async answer"
    assert msg.response_metadata["timings"]["eval_tokens"] == 2
    assert "".join(parts) == "streamed async answer"


def test_stop_and_num_predict_reach_ollama_options(server: OllamaTranscriptServer) -> None:
    server.reply("alpha beta. gamma delta", "a b c d e f")
    assert chat(server).invoke("x", stop=["."]).content == "alpha beta"
    assert server.last("/api/chat").body["options"]["stop"] == ["."]
    msg = chat(server, num_predict=3).invoke("x")
    assert msg.content == "a b c"
    assert msg.response_metadata["done_reason"] == "length"


def test_llm_invoke_stream_and_generation_info(server: OllamaTranscriptServer) -> None:
    server.reply("was Neil Armstrong.", "was Buzz")
    out = llm(server).generate(["The first man on the moon"])
    gen = out.generations[0][0]
    assert gen.text == "was Neil Armstrong."
    info = gen.generation_info or {}
    assert info["usage"] == {
        "input_tokens": info["prompt_eval_count"],
        "output_tokens": 3,
        "total_tokens": info["prompt_eval_count"] + 3,
    }
    assert info["timings"]["eval_tokens"] == 3 and info["timings"]["source"] == "ollama"
    assert "".join(llm(server).stream("x")) == "was Buzz"
    assert server.last("/api/generate").body["prompt"] == "x"


def test_timing_handler_reads_ollama_runs(server: OllamaTranscriptServer) -> None:
    timing = TimingCallbackHandler()
    server.reply("a b c", "d e")
    chat(server).invoke("x", config={"callbacks": [timing]})
    llm(server).invoke("y", config={"callbacks": [timing]})
    assert [r.timings.eval_tokens for r in timing.runs] == [3, 2]
    assert all(r.timings.source == "ollama" for r in timing.runs)
    assert all(r.timings.ttft_ms is not None for r in timing.runs)
    assert "eval time" in timing.report()


# --- tools and structured output -----------------------------------------------------------------
class GetWeather(BaseModel):
    """Get the weather in a city."""

    city: str


def test_tool_calls_arrive_as_langchain_tool_calls(server: OllamaTranscriptServer) -> None:
    call = {"function": {"name": "GetWeather", "arguments": {"city": "Tokyo"}}}
    server.reply(Reply(tool_calls=[call]))
    msg = chat(server).bind_tools([GetWeather]).invoke("Weather in Tokyo?")
    assert isinstance(msg, AIMessage)
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [("GetWeather", {"city": "Tokyo"})]
    assert msg.tool_calls[0]["id"]
    sent = server.last("/api/chat").body
    assert sent["tools"][0]["function"]["name"] == "GetWeather"
    # the tool result goes back as Ollama's `tool` message
    history = [
        HumanMessage("Weather in Tokyo?"),
        msg,
        ToolMessage("11 degrees", tool_call_id=msg.tool_calls[0]["id"]),
    ]
    server.reply("It is 11 degrees in Tokyo.")
    assert chat(server).bind_tools([GetWeather]).invoke(history).text.startswith("It is")
    roles = [m["role"] for m in server.last("/api/chat").body["messages"]]
    assert roles == ["user", "assistant", "tool"]


def test_structured_output_sends_the_schema_as_format(server: OllamaTranscriptServer) -> None:
    result = chat(server).with_structured_output(GetWeather).invoke("Weather in Paris?")
    assert result == GetWeather(city="text")
    assert server.last("/api/chat").body["format"] == GetWeather.model_json_schema()


def test_example_of_follows_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
            "who": {"$ref": "#/$defs/P"},
        },
        "$defs": {"P": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }
    assert example_of(schema) == {"n": 1, "tags": ["a"], "who": {"name": "text"}}


# --- embeddings, tags, show ----------------------------------------------------------------------
def test_embeddings_sync_and_async(server: OllamaTranscriptServer) -> None:
    emb = OllamaEmbeddings(model="nomic-embed-text", base_url=server.url)
    vectors = emb.embed_documents(["the moon landing", "the moon", "baking bread"])
    assert len(vectors) == 3 and all(len(v) == server.embedding_dim for v in vectors)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
    assert asyncio.run(emb.aembed_query("the moon")) == pytest.approx(vectors[1])
    assert server.last("/api/embed").body["input"] == ["the moon"]


def test_tags_and_show_answer_like_ollama(server: OllamaTranscriptServer) -> None:
    import ollama

    client = ollama.Client(host=server.url)
    assert [m.model for m in client.list().models] == server.models
    shown = client.show(server.model)
    assert shown.modelinfo is not None and shown.modelinfo["general.architecture"] == "llama"
    assert "tools" in (shown.capabilities or [])
    assert client.ps().models == []
    # langchain-ollama's own check of the model on init goes through /api/tags
    ChatOllama(model=server.model, base_url=server.url, validate_model_on_init=True)


# --- errors --------------------------------------------------------------------------------------
def test_model_not_pulled_says_how_to_pull(server: OllamaTranscriptServer) -> None:
    with pytest.raises(ModelNotPulledError, match=r"ollama pull mistral:7b") as info:
        ChatOllama(model="mistral:7b", base_url=server.url).invoke("x")
    assert info.value.model == "mistral:7b"
    with pytest.raises(ModelNotPulledError, match="pull=True"):
        OllamaLLM(model="mistral:7b", base_url=server.url).invoke("x")
    with pytest.raises(ModelNotPulledError):
        OllamaEmbeddings(model="mistral:7b", base_url=server.url).embed_query("x")


def test_pull_true_pulls_with_progress_then_answers(
    server: OllamaTranscriptServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.reply("pulled and answered")
    msg = ChatOllama(model="mistral:7b", base_url=server.url, pull=True).invoke("x")
    assert msg.content == "pulled and answered"
    assert "mistral:7b:latest" not in server.models and "mistral:7b" in server.models
    pulls = [r for r in server.requests if r.path == "/api/pull"]
    assert [r.body["model"] for r in pulls] == ["mistral:7b"]
    err = capsys.readouterr().err
    assert "pulling mistral:7b" in err and "100.0%" in err and "success" in err


def test_pull_of_an_unknown_model_is_a_server_error() -> None:
    with OllamaTranscriptServer(pullable=["mistral:7b"]) as server:
        with pytest.raises(ServerError, match="could not pull 'nosuch:1b'"):
            OllamaLLM(model="nosuch:1b", base_url=server.url, pull=True).invoke("x")
        emb = OllamaEmbeddings(model="mistral:7b", base_url=server.url, pull=True)
        assert len(emb.embed_query("x")) == server.embedding_dim


def test_no_server_is_server_unavailable(server: OllamaTranscriptServer) -> None:
    url = server.url
    server.stop()
    for call in (
        lambda: ChatOllama(model="llama3.1:8b", base_url=url).invoke("x"),
        lambda: list(OllamaLLM(model="llama3.1:8b", base_url=url).stream("x")),
        lambda: OllamaEmbeddings(model="nomic-embed-text", base_url=url).embed_query("x"),
        lambda: asyncio.run(ChatOllama(model="llama3.1:8b", base_url=url).ainvoke("x")),
    ):
        with pytest.raises(ServerUnavailableError, match="ollama serve"):
            call()


def test_an_error_line_mid_stream_is_a_server_error(server: OllamaTranscriptServer) -> None:
    stopped = "model runner has unexpectedly stopped"
    server.reply(Reply(text="a b c d", error_after=2, error=stopped))
    received: list[str] = []

    def read() -> None:
        for chunk in chat(server).stream("x"):
            received.append(str(chunk.content))

    with pytest.raises(ServerError, match="unexpectedly stopped"):
        read()
    assert "".join(received) == "a b"


def test_a_dropped_connection_is_server_disconnected(server: OllamaTranscriptServer) -> None:
    server.reply(Reply(text="a b c d", drop_after=1), Reply(text="x y", drop_after=1))
    with pytest.raises(ServerDisconnectedError, match="closed the connection"):
        chat(server).invoke("x")

    async def go() -> None:
        async for _ in llm(server).astream("x"):
            pass

    with pytest.raises(ServerDisconnectedError):
        asyncio.run(go())


def test_an_http_error_keeps_ollama_s_message(server: OllamaTranscriptServer) -> None:
    with pytest.raises(ServerError, match="400") as info:
        llm(server).invoke("x", raw=True, system="be brief")
    assert info.value.status_code == 400


# --- raw mode with the prompt pack ---------------------------------------------------------------
def test_raw_mode_formats_with_the_family_of_the_tag() -> None:
    with OllamaTranscriptServer(models=["llama3.1:8b", "llama2:13b"]) as server:
        OllamaLLM(model="llama2:13b", base_url=server.url, raw=True).invoke("Hello there")
        body = server.last("/api/generate").body
        assert body["raw"] is True
        assert body["prompt"] == "<s>[INST] Hello there [/INST]"
        assert "[INST]" in body["options"]["stop"]
        assert "context" not in json.dumps(server.requests[-1].body)

        OllamaLLM(model="llama3.1:8b", base_url=server.url, raw=True, stop=["\n\n"]).invoke("Hi")
        body = server.last("/api/generate").body
        assert body["prompt"].startswith("<|begin_of_text|><|start_header_id|>user")
        assert body["options"]["stop"][0] == "\n\n" and "<|eot_id|>" in body["options"]["stop"]

        # a prompt written for the model is sent as it is
        ready = "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]"
        OllamaLLM(model="llama2:13b", base_url=server.url, raw=True).invoke(ready)
        assert server.last("/api/generate").body["prompt"] == ready

        # chat_format overrides detection; without raw the prompt is untouched
        OllamaLLM(model="llama3.1:8b", base_url=server.url, raw=True, chat_format="gemma").invoke(
            "Hi"
        )
        assert server.last("/api/generate").body["prompt"].startswith("<bos><start_of_turn>user")
        OllamaLLM(model="llama2:13b", base_url=server.url).invoke("Hello there")
        body = server.last("/api/generate").body
        assert body["prompt"] == "Hello there" and not body.get("raw")


def test_progress_goes_to_the_given_file(server: OllamaTranscriptServer) -> None:
    import ollama

    from langchain_localkit._ollama import pull_model

    out = io.StringIO()  # not a terminal: one line per status and per tenth of the download
    pull_model(ollama.Client(host=server.url), "qwen2.5:0.5b", host=server.url, file=out)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0] == "pulling qwen2.5:0.5b: pulling manifest"
    assert [line for line in lines if "%" in line][-1].endswith("100.0% of 2019 MB")
    assert lines[-2:] == [
        "pulling qwen2.5:0.5b: removing any unused layers",
        "pulling qwen2.5:0.5b: success",
    ]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Terminal()  # a terminal: one line redrawn in place
    pull_model(ollama.Client(host=server.url), "phi3:mini", host=server.url, file=tty)
    drawn = tty.getvalue().split("\r")
    assert tty.getvalue().count("\n") == 1 and any("50.0%" in d for d in drawn)
    assert drawn[-1].strip() == "pulling phi3:mini: success"


# --- more of the transcript server ---------------------------------------------------------------
def test_replies_can_be_scripted_per_model_and_endpoint() -> None:
    with OllamaTranscriptServer(models=["llama3.1:8b", "gemma3:270m"]) as server:
        server.reply("from gemma", model="gemma3:270m")
        server.reply("from generate", path="/api/generate")
        server.reply("from anything")
        assert server.pending() == 3
        assert chat(server).invoke("x").content == "from anything"
        assert OllamaLLM(model="gemma3:270m", base_url=server.url).invoke("x") == "from gemma"
        assert llm(server).invoke("x") == "from generate"
        assert server.pending() == 0
        assert [r.body["model"] for r in server.requests_to("/api/generate")] == [
            "gemma3:270m",
            server.model,
        ]
        with pytest.raises(ValueError, match="/api/embed"):
            server.reply("x", path="/api/embed")


def test_an_error_before_any_output_is_an_http_status(server: OllamaTranscriptServer) -> None:
    message = "model requires more system memory (9.8 GiB) than is available (4.0 GiB)"
    server.reply(Reply(text="a b", error_after=0, error=message), Reply(error_after=0, status=503))
    with pytest.raises(ServerError, match=r"answered 500: model requires more") as info:
        chat(server).invoke("x")
    assert info.value.status_code == 500
    with pytest.raises(ServerError, match="answered 503") as info:
        list(llm(server).stream("x"))
    assert info.value.status_code == 503


def test_non_streaming_requests_get_ollama_s_single_objects(
    server: OllamaTranscriptServer,
) -> None:
    import ollama

    client = ollama.Client(host=server.url)
    server.reply("a b c", Reply(text="a b", error_after=1, error="boom"))
    whole = client.generate(server.model, "x", stream=False)
    assert whole.response == "a b c" and whole.done and whole.done_reason == "stop"
    assert whole.eval_count == 3 and whole.context
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(server.model, [{"role": "user", "content": "x"}], stream=False)
    assert info.value.status_code == 500 and info.value.error == "boom"
    raw = client.generate(server.model, "[INST] x [/INST]", raw=True, stream=False)
    assert raw.context is None  # "raw mode will not return a context"


def test_load_unload_and_running_models(server: OllamaTranscriptServer) -> None:
    import ollama

    client = ollama.Client(host=server.url)
    assert client.ps().models == []
    loaded = client.generate(server.model, "")
    assert loaded.done and loaded.done_reason == "load" and loaded.response == ""
    assert [m.model for m in client.ps().models] == [server.model]
    assert client.ps().models[0].context_length == 4096
    chat(server, num_ctx=8192).invoke("x")
    assert client.ps().models[0].context_length == 8192
    unloaded = client.chat(server.model, [], keep_alive=0)
    assert unloaded.done_reason == "unload" and unloaded.message.content == ""
    assert client.ps().models == []
    import httpx

    assert httpx.get(f"{server.url}/api/version").json() == {"version": VERSION}
    assert httpx.get(server.url).text == "Ollama is running"


def test_tool_calls_carry_ids_and_indexes_like_ollama(server: OllamaTranscriptServer) -> None:
    import httpx

    calls = [
        {"function": {"name": "a", "arguments": {}}},
        {"function": {"name": "b", "arguments": {"x": 1}}},
    ]
    server.reply(Reply(tool_calls=calls))
    body = {
        "model": server.model,
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": {"name": "a", "parameters": {}}}],
        "stream": False,
    }
    message = httpx.post(f"{server.url}/api/chat", json=body).json()["message"]
    assert [c["function"]["index"] for c in message["tool_calls"]] == [0, 1]
    assert all(re.fullmatch(r"call_[a-z0-9]{8}", c["id"]) for c in message["tool_calls"])
    assert message["tool_calls"][1]["function"]["arguments"] == {"x": 1}
    # without `tools` in the request, a model does not call any
    server.reply(Reply(text="no tools", tool_calls=calls))
    body.pop("tools")
    assert "tool_calls" not in httpx.post(f"{server.url}/api/chat", json=body).json()["message"]


def test_reasoning_arrives_as_reasoning_content(server: OllamaTranscriptServer) -> None:
    server.reply(Reply(text="Armstrong.", thinking="The question is about 1969."))
    msg = chat(server, reasoning=True).invoke("Who?")
    assert msg.content == "Armstrong."
    assert msg.additional_kwargs["reasoning_content"] == "The question is about 1969."
    assert server.last("/api/chat").body["think"] is True
    assert msg.response_metadata["timings"]["ttft_ms"] is not None


def test_ollama_host_is_the_default_host(
    server: OllamaTranscriptServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = server.url.rsplit(":", 1)[1]
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port}")  # the form `ollama serve` accepts
    server.reply("via OLLAMA_HOST")
    assert ChatOllama(model=server.model).invoke("x").content == "via OLLAMA_HOST"
    server.stop()
    with pytest.raises(ServerUnavailableError, match=f"127.0.0.1:{port}.*ollama serve"):
        OllamaLLM(model=server.model).invoke("x")


def test_default_host_is_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    model = ChatOllama(model="llama3.1:8b")
    assert str(model._client._client.base_url).startswith("http://127.0.0.1:11434")


def test_llm_async_generate_and_stream_have_timings(server: OllamaTranscriptServer) -> None:
    async def go() -> tuple[dict[str, object], str]:
        server.reply("async text here", "streamed async")
        result = await llm(server).agenerate(["x"])
        info = result.generations[0][0].generation_info or {}
        text = "".join([piece async for piece in llm(server).astream("x")])
        return info, text

    info, text = asyncio.run(go())
    assert Timings.from_dict(info["timings"]).eval_tokens == 3  # type: ignore[arg-type]
    assert text == "streamed async"


def test_a_drop_before_any_token_is_server_disconnected(server: OllamaTranscriptServer) -> None:
    server.reply(Reply(text="a b", drop_after=0))
    with pytest.raises(ServerDisconnectedError, match="closed the connection"):
        llm(server).invoke("x")


def test_chat_format_must_be_a_known_family() -> None:
    with pytest.raises(ValueError, match="Known families"):
        OllamaLLM(model="llama3.1:8b", chat_format="nosuch")


def test_raw_mode_on_an_unknown_tag_asks_for_chat_format() -> None:
    with OllamaTranscriptServer(models=["my-finetune:latest"]) as server:
        raw = OllamaLLM(model="my-finetune", base_url=server.url, raw=True)
        with pytest.raises(TemplateError, match="chat_format"):
            raw.invoke("Hi")
        assert server.requests_to("/api/generate") == []
        OllamaLLM(model="my-finetune", base_url=server.url, raw=True, chat_format="chatml").invoke(
            "Hi"
        )
        assert server.last("/api/generate").body["prompt"].startswith("<|im_start|>user\nHi")
