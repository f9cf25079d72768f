"""The vLLM / LM Studio stand-in over real loopback sockets, read by raw httpx and by `openai`.

The real `openai` client parsing the streams (chunks, tool-call deltas, usage) and raising its
typed errors is the evidence that the shapes are the ones OpenAI-compatible clients expect.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from langchain_localkit.testing.openai_server import (
    DEFAULT_ANSWER,
    VLLM_VERSION,
    OpenAICompatServer,
    Reply,
)
from langchain_localkit.testing.openai_transcript import LMSTUDIO_JSON_OBJECT, LMSTUDIO_OVERFLOW

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
ASK = [{"role": "user", "content": "Who was the first man on the moon?"}]


@pytest.fixture(params=["vllm", "lmstudio"])
def server(request: pytest.FixtureRequest) -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer(request.param, max_model_len=64) as running:
        yield running


@pytest.fixture
def vllm() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer("vllm", max_model_len=64) as running:
        yield running


@pytest.fixture
def lmstudio() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer("lmstudio", max_model_len=64) as running:
        yield running


def client(server: OpenAICompatServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=10)


def events(response: httpx.Response) -> list[Any]:
    """The `data:` payloads of an SSE body (JSON objects, and the final `[DONE]`)."""
    out: list[Any] = []
    for block in response.text.split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def post(server: OpenAICompatServer, path: str, **body: Any) -> httpx.Response:
    return httpx.post(server.base_url + path, json={"model": server.model, **body}, timeout=10)


# --- models and service endpoints ----------------------------------------------------------------
def test_vllm_models_health_and_version(vllm: OpenAICompatServer) -> None:
    card = httpx.get(vllm.base_url + "/models").json()["data"][0]
    assert card["owned_by"] == "vllm" and card["root"] == vllm.model
    assert card["max_model_len"] == 64 and card["permission"][0]["object"] == "model_permission"
    health = httpx.get(vllm.url + "/health")
    assert health.status_code == 200 and health.content == b""
    assert httpx.get(vllm.url + "/version").json() == {"version": VLLM_VERSION}
    assert [m.id for m in client(vllm).models.list()] == [vllm.model]


def test_lmstudio_models_and_rest_api(lmstudio: OpenAICompatServer) -> None:
    entry = httpx.get(lmstudio.base_url + "/models").json()["data"][0]
    assert entry == {"id": lmstudio.model, "object": "model", "owned_by": "organization_owner"}
    v0 = httpx.get(lmstudio.url + "/api/v0/models").json()["data"][0]
    assert v0["state"] == "not-loaded" and v0["type"] == "llm"
    assert v0["max_context_length"] == 64
    post(lmstudio, "/chat/completions", messages=ASK)
    assert httpx.get(lmstudio.url + "/api/v0/models").json()["data"][0]["state"] == "loaded"
    assert httpx.get(lmstudio.url + "/health").status_code == 404


# --- chat: non-streamed -------------------------------------------------------------------------
def test_chat_default_answer_usage_and_recorded_request(server: OpenAICompatServer) -> None:
    out = client(server).chat.completions.create(
        model=server.model, messages=ASK, seed=7, extra_headers={"X-Probe": "1"}
    )
    assert out.object == "chat.completion" and out.id.startswith("chatcmpl-")
    assert out.choices[0].message.content == DEFAULT_ANSWER
    assert out.choices[0].finish_reason == "stop"
    assert out.usage is not None
    assert (out.usage.prompt_tokens, out.usage.completion_tokens) == (8, 11)
    request = server.last("/v1/chat/completions")
    assert request.json["seed"] == 7 and request.headers["x-probe"] == "1"
    assert request.headers["authorization"] == "Bearer test"


def test_chat_reasoning_in_the_flavour_field(server: OpenAICompatServer) -> None:
    server.reply(Reply(text="Armstrong.", reasoning="Apollo eleven landed."))
    body = post(server, "/chat/completions", messages=ASK).json()
    message = body["choices"][0]["message"]
    field = "reasoning" if server.flavor == "vllm" else "reasoning_content"
    assert message[field] == "Apollo eleven landed." and message["content"] == "Armstrong."
    assert body["usage"]["completion_tokens"] == 4


def test_max_tokens_and_stop_strings(server: OpenAICompatServer) -> None:
    server.reply("one two three four five", "alpha beta. gamma")
    chat = client(server).chat.completions
    cut = chat.create(model=server.model, messages=ASK, max_tokens=2)
    assert cut.choices[0].message.content == "one two" and cut.choices[0].finish_reason == "length"
    stopped = post(server, "/chat/completions", messages=ASK, stop=["."]).json()["choices"][0]
    assert stopped["message"]["content"] == "alpha beta" and stopped["finish_reason"] == "stop"
    if server.flavor == "vllm":
        assert stopped["stop_reason"] == "."


def test_json_schema_reply_is_an_instance_of_the_schema(server: OpenAICompatServer) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}
    out = client(server).chat.completions.create(
        model=server.model, messages=ASK, response_format=fmt
    )
    assert json.loads(out.choices[0].message.content or "") == {"name": "text", "age": 1}


def test_json_object_vllm_answers_lmstudio_refuses(server: OpenAICompatServer) -> None:
    fmt = {"type": "json_object"}
    if server.flavor == "vllm":
        out = client(server).chat.completions.create(
            model=server.model, messages=ASK, response_format=fmt
        )
        assert isinstance(json.loads(out.choices[0].message.content or ""), dict)
        return
    with pytest.raises(openai.BadRequestError) as caught:
        client(server).chat.completions.create(
            model=server.model, messages=ASK, response_format=fmt
        )
    assert caught.value.body == LMSTUDIO_JSON_OBJECT


# --- tools ---------------------------------------------------------------------------------------
def test_scripted_tool_call_non_streamed(server: OpenAICompatServer) -> None:
    server.reply(Reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}]))
    out = client(server).chat.completions.create(model=server.model, messages=ASK, tools=[WEATHER])
    choice = out.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = (choice.message.tool_calls or [])[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    prefix = "chatcmpl-tool-" if server.flavor == "vllm" else ""
    assert call.id.startswith(prefix) and (prefix or call.id.isdigit())


def test_tool_calls_need_tools_in_the_request(server: OpenAICompatServer) -> None:
    server.reply(Reply(text="No tools here.", tool_calls=[{"name": "get_weather"}]))
    out = client(server).chat.completions.create(model=server.model, messages=ASK)
    assert out.choices[0].message.tool_calls is None
    assert out.choices[0].message.content == "No tools here."


def test_required_and_named_tool_choice_force_a_call(server: OpenAICompatServer) -> None:
    chat = client(server).chat.completions
    required = chat.create(
        model=server.model, messages=ASK, tools=[WEATHER], tool_choice="required"
    )
    call = (required.choices[0].message.tool_calls or [])[0]
    assert json.loads(call.function.arguments) == {"city": "text", "days": 1}
    named = chat.create(
        model=server.model,
        messages=ASK,
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert (named.choices[0].message.tool_calls or [])[0].function.name == "get_weather"
    # vLLM: "stop" for a named tool choice, as OpenAI does
    expected = "stop" if server.flavor == "vllm" else "tool_calls"
    assert named.choices[0].finish_reason == expected
    auto = chat.create(model=server.model, messages=ASK, tools=[WEATHER], tool_choice="none")
    assert auto.choices[0].message.tool_calls is None


# --- chat: streamed ------------------------------------------------------------------------------
def test_stream_chunks_usage_and_done_raw(server: OpenAICompatServer) -> None:
    server.reply("one two three")
    response = post(
        server,
        "/chat/completions",
        messages=ASK,
        stream=True,
        stream_options={"include_usage": True},
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    data = events(response)
    assert data[-1] == "[DONE]"
    chunks = data[:-1]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    if server.flavor == "vllm":
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        chunks = chunks[1:]
    else:
        assert all(c["system_fingerprint"] == server.model for c in chunks)
    words = [c["choices"][0]["delta"].get("content") for c in chunks[:3]]
    assert words == ["one", " two", " three"]
    assert chunks[3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[4]["choices"] == [] and chunks[4]["usage"]["completion_tokens"] == 3


def test_stream_without_include_usage_has_no_usage_chunk(server: OpenAICompatServer) -> None:
    data = events(post(server, "/chat/completions", messages=ASK, stream=True))
    assert all("usage" not in c for c in data[:-1])
    assert data[-2]["choices"][0]["finish_reason"] == "stop"


def test_openai_client_joins_a_stream_with_reasoning_and_tool_calls(
    server: OpenAICompatServer,
) -> None:
    calls = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_weather", "arguments": '{"city": "Rome", "days": 2}'},
    ]
    server.reply(Reply(text="Let me check.", reasoning="Need weather.", tool_calls=calls))
    stream = client(server).chat.completions.create(
        model=server.model,
        messages=ASK,
        tools=[WEATHER],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, reasoning, finish, usage = "", "", None, None
    args: dict[int, str] = {}
    names: dict[int, str] = {}
    field = "reasoning" if server.flavor == "vllm" else "reasoning_content"
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta
            text += delta.content or ""
            reasoning += getattr(delta, field, None) or ""
            for tc in delta.tool_calls or []:
                if tc.function and tc.function.name:
                    names[tc.index] = tc.function.name
                args[tc.index] = args.get(tc.index, "") + (
                    (tc.function and tc.function.arguments) or ""
                )
            finish = choice.finish_reason or finish
    assert (text, reasoning, finish) == ("Let me check.", "Need weather.", "tool_calls")
    assert names == {0: "get_weather", 1: "get_weather"}
    assert [json.loads(args[i]) for i in (0, 1)] == [{"city": "Paris"}, {"city": "Rome", "days": 2}]
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_async_openai_client_streams(server: OpenAICompatServer) -> None:
    server.reply("async words here")

    async def go() -> str:
        aclient = openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        stream = await aclient.chat.completions.create(
            model=server.model, messages=ASK, stream=True
        )
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        await aclient.close()
        return "".join(parts)

    assert asyncio.run(go()) == "async words here"


# --- errors --------------------------------------------------------------------------------------
def test_unknown_model_in_the_flavour_shape(server: OpenAICompatServer) -> None:
    error: type[openai.APIStatusError]
    error = openai.NotFoundError if server.flavor == "vllm" else openai.BadRequestError
    with pytest.raises(error) as caught:
        client(server).chat.completions.create(model="nope", messages=ASK)
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "model"
    if server.flavor == "vllm":
        assert body == {
            "message": "The model `nope` does not exist.",
            "type": "NotFoundError",
            "param": "model",
            "code": 404,
        }
    else:
        assert body["code"] == "model_not_found"
        assert body["message"].startswith('Invalid model identifier "nope"')


def test_context_overflow(server: OpenAICompatServer) -> None:
    long = [{"role": "user", "content": "word " * 80}]
    with pytest.raises(openai.BadRequestError) as caught:
        client(server).chat.completions.create(model=server.model, messages=long)
    message = caught.value.body["message"]  # type: ignore[index]
    if server.flavor == "vllm":
        assert message == (
            "This model's maximum context length is 64 tokens. However, your request has 80 "
            "input tokens. Please reduce the length of the input messages."
        )
        raw = post(server, "/chat/completions", messages=ASK, max_tokens=60)
        assert raw.status_code == 400 and raw.json()["error"]["param"] == "max_tokens"
    else:
        assert message == LMSTUDIO_OVERFLOW


def test_scripted_http_error_before_output(server: OpenAICompatServer) -> None:
    server.reply(Reply(error=(503, "busy")), Reply(error=(429, {"error": "slow down"})))
    with pytest.raises(openai.InternalServerError) as caught:
        client(server).chat.completions.create(model=server.model, messages=ASK)
    assert caught.value.status_code == 503 and caught.value.body["message"] == "busy"  # type: ignore[index]
    raw = post(server, "/chat/completions", messages=ASK)
    assert raw.status_code == 429 and raw.json() == {"error": "slow down"}


def test_mid_stream_error_event(server: OpenAICompatServer) -> None:
    server.reply(Reply(text="a b c d", error_after=2), Reply(text="a b", error_after=1))
    data = events(post(server, "/chat/completions", messages=ASK, stream=True))
    assert data[-1] == "[DONE]" and "error" in data[-2]
    if server.flavor == "vllm":
        assert data[-2] == {
            "error": {
                "message": "Internal server error",
                "type": "InternalServerError",
                "param": None,
                "code": 500,
            }
        }
    stream = client(server).chat.completions.create(model=server.model, messages=ASK, stream=True)
    got: list[str] = []

    def read() -> None:
        for chunk in stream:
            got.extend(c.delta.content or "" for c in chunk.choices)

    with pytest.raises(openai.APIError, match=r"Internal server error|crashed"):
        read()
    assert "".join(got) == "a"


def test_dropped_connection_mid_stream(server: OpenAICompatServer) -> None:
    server.reply(Reply(text="a b c d", drop_after=2), Reply(drop_after=0))
    with (
        httpx.stream(
            "POST",
            server.base_url + "/chat/completions",
            json={"model": server.model, "messages": ASK, "stream": True},
        ) as response,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        list(response.iter_lines())
    with pytest.raises(openai.APIConnectionError):
        client(server).chat.completions.create(model=server.model, messages=ASK)


# --- completions and embeddings ------------------------------------------------------------------
def test_completions_stream_and_not(server: OpenAICompatServer) -> None:
    server.reply("was Neil Armstrong.", "was Buzz Aldrin")
    c = client(server).completions
    out = c.create(model=server.model, prompt="The first man on the moon", max_tokens=2)
    assert out.object == "text_completion" and out.choices[0].text == "was Neil"
    assert out.choices[0].finish_reason == "length" and out.usage is not None
    assert out.usage.prompt_tokens == 6
    stream = c.create(
        model=server.model,
        prompt="Second man?",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(ch.choices[0].text for ch in chunks if ch.choices) == "was Buzz Aldrin"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3


def test_embeddings_are_deterministic(server: OpenAICompatServer) -> None:
    e = client(server).embeddings
    out = e.create(model=server.model, input=["moon landing", "moon landing", "tax law"])
    vectors = [d.embedding for d in out.data]
    assert vectors[0] == vectors[1] != vectors[2] and len(vectors[0]) == 32
    assert [d.index for d in out.data] == [0, 1, 2]
    expected = (0, 0) if server.flavor == "lmstudio" else (6, 6)
    assert (out.usage.prompt_tokens, out.usage.total_tokens) == expected


def test_vllm_refuses_stream_options_without_stream(vllm: OpenAICompatServer) -> None:
    raw = post(vllm, "/chat/completions", messages=ASK, stream_options={"include_usage": True})
    assert raw.status_code == 400
    assert raw.json()["error"]["param"] == "stream_options"


def test_replies_are_scoped_to_model_and_path() -> None:
    with OpenAICompatServer("vllm", models=("a", "b")) as server:
        server.reply("for b", model="b").reply("for completions", path="/v1/completions")
        assert (
            post(server, "/chat/completions", messages=ASK).json()["choices"][0]["message"][
                "content"
            ]
            == DEFAULT_ANSWER
        )
        b = httpx.post(
            server.base_url + "/chat/completions", json={"model": "b", "messages": ASK}
        ).json()
        assert b["choices"][0]["message"]["content"] == "for b"
        assert post(server, "/completions", prompt="x").json()["choices"][0]["text"] == (
            "for completions"
        )
        assert server.pending() == 0
        with pytest.raises(ValueError, match="replies are for"):
            server.reply("x", path="/v1/embeddings")
