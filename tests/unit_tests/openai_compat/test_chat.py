"""`ChatOpenAICompatible` over real sockets against the vLLM / LM Studio stand-in.

Text, reasoning, usage and timings; the request fields each option becomes on each server;
tools by the server, by a checked prompt and by a grammar; structured output; typed errors.
Every assertion reads either what the model returned or what the stand-in recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, SystemMessage
from pydantic import BaseModel, ValidationError

from langchain_localkit._core.errors import (
    ContextOverflowError,
    ServerDisconnectedError,
    ServerError,
    ServerUnavailableError,
)
from langchain_localkit.chat_models.openai_compat import ChatOpenAICompatible
from langchain_localkit.testing.loopback import free_port
from langchain_localkit.testing.openai_server import DEFAULT_ANSWER, OpenAICompatServer, Reply
from langchain_localkit.testing.openai_transcript import LMSTUDIO_JSON_OBJECT

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def standins() -> Iterator[dict[str, OpenAICompatServer]]:
    with OpenAICompatServer("vllm") as vllm, OpenAICompatServer("lmstudio") as lmstudio:
        yield {"vllm": vllm, "lmstudio": lmstudio}


def fresh(server: OpenAICompatServer) -> OpenAICompatServer:
    """The shared stand-in with no recorded requests and no queued replies."""
    return server.reset()


@pytest.fixture(params=["vllm", "lmstudio"])
def server(
    request: pytest.FixtureRequest, standins: dict[str, OpenAICompatServer]
) -> OpenAICompatServer:
    return fresh(standins[request.param])


@pytest.fixture
def vllm(standins: dict[str, OpenAICompatServer]) -> OpenAICompatServer:
    return fresh(standins["vllm"])


@pytest.fixture
def lmstudio(standins: dict[str, OpenAICompatServer]) -> OpenAICompatServer:
    return fresh(standins["lmstudio"])


def chat_on(server: OpenAICompatServer, /, **kwargs: Any) -> ChatOpenAICompatible:
    """A chat model on the stand-in."""
    return ChatOpenAICompatible(base_url=server.base_url, **kwargs)


def get_weather(city: str) -> str:
    """Weather in a city."""
    return f"Sunny in {city}"


def get_time(zone: str) -> str:
    """The time in a time zone."""
    return "noon"


class City(BaseModel):
    """A city."""

    name: str
    country: str


def call(tool: str, /, **args: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": args}


def tool_text(name: str, args: Any) -> str:
    return f'<tool_call>{{"name": "{name}", "arguments": {json.dumps(args)}}}</tool_call>'


def joined(chunks: list[Any]) -> AIMessageChunk:
    """The chunks of a stream merged, as `invoke` would (a bound model's are typed AIMessage)."""
    out: AIMessageChunk = chunks[0]
    for chunk in chunks[1:]:
        out += chunk
    return out


def read_into(seen: list[str], chunks: Iterator[AIMessageChunk]) -> None:
    for chunk in chunks:
        seen.append(str(chunk.content))


# --- text ---------------------------------------------------------------------------------------
def test_invoke_and_stream_text(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    message = chat.invoke("Who was first on the moon?")
    assert isinstance(message, AIMessage)
    assert message.content == DEFAULT_ANSWER
    server.reply("one two three four")
    chunks = list(chat.stream("Count"))
    texts = [c.content for c in chunks if c.content]
    assert texts == ["one", " two", " three", " four"]  # one chunk per streamed token
    assert chunks[-1].chunk_position == "last" and chunks[-1].usage_metadata is not None
    assert all(c.usage_metadata is None for c in chunks[:-1])


async def test_ainvoke_and_astream_text(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply("async answer here")
    message = await chat.ainvoke("Hi")
    assert message.content == "async answer here"
    server.reply("streamed async words")
    chunks = [c async for c in chat.astream("Hi")]
    assert [c.content for c in chunks if c.content] == ["streamed", " async", " words"]
    assert joined(chunks).usage_metadata == {
        "input_tokens": 1,
        "output_tokens": 3,
        "total_tokens": 4,
    }


def test_reasoning_is_kept_apart_from_the_answer(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply(Reply(text="It is 4.", reasoning="Two plus two is four."))
    message = chat.invoke("2+2?")
    assert message.content == "It is 4."
    assert message.additional_kwargs["reasoning_content"] == "Two plus two is four."
    assert "plus" not in message.content

    server.reply(Reply(text="It is 4.", reasoning="Two plus two is four."))
    chunks = list(chat.stream("2+2?"))
    thoughts = [c for c in chunks if c.additional_kwargs.get("reasoning_content")]
    assert [c.additional_kwargs["reasoning_content"] for c in thoughts] == [
        "Two",
        " plus",
        " two",
        " is",
        " four.",
    ]
    assert all(c.content == "" for c in thoughts)  # separate chunks, never in the text
    texts = [c for c in chunks if c.content]
    assert all("reasoning_content" not in c.additional_kwargs for c in texts)
    assert chunks.index(thoughts[-1]) < chunks.index(texts[0])  # reasoning comes first


async def test_reasoning_async(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply(Reply(text="Done.", reasoning="Thinking hard."))
    message = await chat.ainvoke("Go")
    assert message.content == "Done."
    assert message.additional_kwargs["reasoning_content"] == "Thinking hard."


@pytest.mark.parametrize(
    ("flavor", "field"), [("vllm", "reasoning_content"), ("lmstudio", "reasoning")]
)
def test_reasoning_in_the_other_field_is_read_too(flavor: str, field: str) -> None:
    # older vLLM sent `reasoning_content`; LM Studio sends `reasoning` for gpt-oss
    with OpenAICompatServer(flavor, reasoning_field=field) as other:  # type: ignore[arg-type]
        other.reply(Reply(text="Yes.", reasoning="Hmm."))
        message = chat_on(other).invoke("Q")
    assert message.additional_kwargs["reasoning_content"] == "Hmm."
    assert message.content == "Yes."


def test_reasoning_fields_option_decides_what_is_read(server: OpenAICompatServer) -> None:
    chat = chat_on(server, server_options={"reasoning_fields": ["thinking"]})
    server.reply(Reply(text="Yes.", reasoning="Hmm."))
    message = chat.invoke("Q")
    assert message.content == "Yes."
    assert "reasoning_content" not in message.additional_kwargs


def test_usage_metadata_comes_from_the_last_chunk(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply(Reply(text="a b c", reasoning="x y"))
    message = chat.invoke("one two three")
    # prompt tokens only the server can know: the usage chunk was read
    assert message.usage_metadata == {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8}
    body = server.last(CHAT).body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_without_stream_usage_no_stream_options_and_counted_deltas(
    server: OpenAICompatServer,
) -> None:
    chat = chat_on(server, server_options={"stream_usage": False})
    server.reply("a b c")
    message = chat.invoke("one two three")
    assert "stream_options" not in server.last(CHAT).body
    assert message.usage_metadata == {"input_tokens": 0, "output_tokens": 3, "total_tokens": 3}


def test_response_metadata_measured_timings(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply(Reply(text="a b c", delay=0.02))
    message = chat.invoke("Hi")
    meta = message.response_metadata
    assert meta["model_provider"] == "openai_compatible"
    assert meta["model_name"] == server.model
    assert meta["finish_reason"] == "stop"
    timings = meta["timings"]
    assert timings["source"] == "measured"
    assert timings["ttft_ms"] >= 15  # the first token waited one delay at least
    assert timings["total_ms"] - timings["ttft_ms"] >= 30  # two more delays after it
    assert timings["eval_tokens"] == 3 and timings["prompt_tokens"] == 1


def test_length_finish_reason(server: OpenAICompatServer) -> None:
    message = chat_on(server, max_tokens=3).invoke("Hi")
    assert message.content == "The first man"
    assert message.response_metadata["finish_reason"] == "length"


# --- request fields -----------------------------------------------------------------------------
def test_unset_sampling_fields_are_not_sent(server: OpenAICompatServer) -> None:
    chat_on(server).invoke("Hi")
    body = server.last(CHAT).body
    assert set(body) == {"model", "messages", "stream", "stream_options", "max_tokens"}
    assert body["max_tokens"] == 256
    assert body["messages"] == [{"role": "user", "content": "Hi"}]
    chat_on(server, max_tokens=None, seed=-1).invoke("Hi")
    assert "max_tokens" not in server.last(CHAT).body
    assert "seed" not in server.last(CHAT).body


def test_sampling_fields_and_stop_are_sent(server: OpenAICompatServer) -> None:
    chat = chat_on(
        server,
        temperature=0.2,
        top_p=0.9,
        seed=7,
        max_tokens=40,
        stop=["moon"],
    )
    message = chat.invoke("Hi", stop=["Armstrong"])
    body = server.last(CHAT).body
    assert body["temperature"] == 0.2 and body["top_p"] == 0.9
    assert body["seed"] == 7 and body["max_tokens"] == 40
    assert sorted(body["stop"]) == ["Armstrong", "moon"]
    assert message.content == "The first man on the "  # cut at the first stop string

    chat.invoke("Hi", temperature=0.0, seed=3, max_tokens=5, top_k=20, min_p=0.05)
    body = server.last(CHAT).body
    assert (body["temperature"], body["seed"], body["max_tokens"]) == (0.0, 3, 5)
    assert (body["top_k"], body["min_p"]) == (20, 0.05)
    chat.invoke("Hi", max_completion_tokens=9)
    assert server.last(CHAT).body["max_tokens"] == 9
    assert "max_completion_tokens" not in server.last(CHAT).body


def test_repeat_penalty_in_the_servers_name(server: OpenAICompatServer) -> None:
    chat = chat_on(server, repeat_penalty=1.2)
    chat.invoke("Hi")
    body = server.last(CHAT).body
    if server.flavor == "vllm":
        assert body["repetition_penalty"] == 1.2 and "repeat_penalty" not in body
    else:
        assert body["repeat_penalty"] == 1.2 and "repetition_penalty" not in body
    chat.invoke("Hi", repeat_penalty=1.5)
    body = server.last(CHAT).body
    assert body["repetition_penalty" if server.flavor == "vllm" else "repeat_penalty"] == 1.5


def test_grammar_on_vllm_is_sent_as_structured_outputs(vllm: OpenAICompatServer) -> None:
    grammar = 'root ::= "yes" | "no"'
    chat_on(vllm, grammar=grammar).invoke("Hi")
    body = vllm.last(CHAT).body
    assert body["structured_outputs"] == {"grammar": grammar}
    assert "grammar" not in body
    chat_on(vllm).invoke("Hi", grammar='root ::= "a"')
    assert vllm.last(CHAT).body["structured_outputs"] == {"grammar": 'root ::= "a"'}


def test_grammar_on_lmstudio_is_refused(lmstudio: OpenAICompatServer) -> None:
    chat = chat_on(lmstudio, grammar='root ::= "a"')
    with pytest.raises(ValueError, match="LM Studio takes no grammar; drop `grammar=`"):
        chat.invoke("Hi")
    assert lmstudio.requests_to(CHAT) == []
    with pytest.raises(ValidationError, match="LM Studio takes no grammar"):
        chat_on(lmstudio, server="lmstudio", grammar='root ::= "a"')


def test_extra_body_is_merged(server: OpenAICompatServer) -> None:
    chat = chat_on(
        server,
        temperature=0.5,
        extra_body={"chat_template_kwargs": {"enable_thinking": False}, "top_k": 10},
    )
    chat.invoke("Hi", extra_body={"top_k": 3, "ttl": 60})
    body = server.last(CHAT).body
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["top_k"] == 3  # the call's extra_body wins over the constructor's
    assert body["ttl"] == 60 and body["temperature"] == 0.5
    assert "extra_body" not in body


def test_model_kwargs_alias_for_extra_body(server: OpenAICompatServer) -> None:
    chat_on(server, model_kwargs={"min_tokens": 2}).invoke("Hi")
    assert server.last(CHAT).body["min_tokens"] == 2


def test_unknown_call_option_is_a_type_error(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    with pytest.raises(TypeError, match="temprature"):
        chat.invoke("Hi", temprature=0.1)
    assert server.requests_to(CHAT) == []


async def test_unknown_call_option_async(server: OpenAICompatServer) -> None:
    with pytest.raises(TypeError, match="bogus_option"):
        await chat_on(server).ainvoke("Hi", bogus_option=1)


# --- tools: the server's own --------------------------------------------------------------------
def test_server_tool_calls(server: OpenAICompatServer) -> None:
    chat = chat_on(server).bind_tools([get_weather])
    server.reply(Reply(tool_calls=[call("get_weather", city="Paris")]))
    message = chat.invoke("Weather in Paris?")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert message.tool_calls[0]["id"]
    assert message.response_metadata["finish_reason"] == "tool_calls"
    body = server.last(CHAT).body
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is False
    # the server parses the calls: the tools are not described in a system message
    assert all(m["role"] != "system" for m in body["messages"])


def test_server_tool_call_chunks_stream(server: OpenAICompatServer) -> None:
    chat = chat_on(server).bind_tools([get_weather])
    server.reply(Reply(tool_calls=[call("get_weather", city="New York City")]))
    chunks: list[Any] = list(chat.stream("Weather?"))
    pieces = [c.tool_call_chunks[0] for c in chunks if c.tool_call_chunks]
    assert len(pieces) > 2  # the head, then argument pieces as they came
    assert pieces[0]["name"] == "get_weather" and pieces[0]["id"]
    assert all(p["name"] is None for p in pieces[1:])
    whole = joined(chunks)
    assert whole.tool_calls[0]["args"] == {"city": "New York City"}
    assert whole.response_metadata["finish_reason"] == "tool_calls"


async def test_server_tool_calls_async(server: OpenAICompatServer) -> None:
    chat = chat_on(server).bind_tools([get_weather])
    server.reply(Reply(tool_calls=[call("get_weather", city="Rome")]))
    chunks = [c async for c in chat.astream("Weather?")]
    assert joined(chunks).tool_calls[0]["args"] == {"city": "Rome"}
    server.reply(Reply(tool_calls=[call("get_weather", city="Oslo")]))
    message = await chat.ainvoke("Weather?")
    assert message.tool_calls[0]["args"] == {"city": "Oslo"}


def test_tool_choice_any_and_named(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    message = chat.bind_tools([get_weather, get_time], tool_choice="any").invoke("Go")
    assert server.last(CHAT).body["tool_choice"] == "required"
    assert message.tool_calls[0]["name"] == "get_weather"  # the stand-in calls the first tool

    message = chat.bind_tools([get_weather, get_time], tool_choice="get_time").invoke("Go")
    named = {"type": "function", "function": {"name": "get_time"}}
    assert server.last(CHAT).body["tool_choice"] == named
    assert [c["name"] for c in message.tool_calls] == ["get_time"]
    assert message.response_metadata["finish_reason"] == "tool_calls"

    chat.bind_tools([get_weather], tool_choice="any").invoke("Go")  # one tool: named
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert server.last(CHAT).body["tool_choice"] == named


def test_parallel_tool_calls(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    bound = chat.bind_tools([get_weather, get_time], parallel_tool_calls=True)
    server.reply(
        Reply(tool_calls=[call("get_weather", city="Paris"), call("get_time", zone="CET")])
    )
    message = bound.invoke("Weather and time?")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"zone": "CET"}),
    ]
    assert len({c["id"] for c in message.tool_calls}) == 2
    assert server.last(CHAT).body["parallel_tool_calls"] is True


# --- tools: a checked prompt, a grammar --------------------------------------------------------
@pytest.fixture
def prompted(lmstudio: OpenAICompatServer) -> ChatOpenAICompatible:
    return chat_on(lmstudio, server_options={"tools": False})


def test_prompt_route_describes_the_tools_and_parses_the_reply(
    lmstudio: OpenAICompatServer, prompted: ChatOpenAICompatible
) -> None:
    lmstudio.reply(tool_text("get_weather", {"city": "Paris"}))
    message = prompted.bind_tools([get_weather]).invoke("Weather in Paris?")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert message.content == ""
    assert message.response_metadata["attempts"] == 1
    assert message.response_metadata["finish_reason"] == "tool_calls"
    body = lmstudio.last(CHAT).body
    assert "tools" not in body and "tool_choice" not in body
    system = body["messages"][0]
    assert system["role"] == "system"
    assert "get_weather" in system["content"] and "<tool_call>" in system["content"]
    assert '"city"' in system["content"]  # the parameters' schema is described


def test_prompt_route_keeps_the_users_system_message(
    lmstudio: OpenAICompatServer, prompted: ChatOpenAICompatible
) -> None:
    prompted.bind_tools([get_weather]).invoke([SystemMessage("Be terse."), ("human", "Hi")])
    messages = lmstudio.last(CHAT).body["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "Be terse." in messages[0]["content"] and "get_weather" in messages[0]["content"]


def test_prompt_route_plain_text_answer(
    lmstudio: OpenAICompatServer, prompted: ChatOpenAICompatible
) -> None:
    lmstudio.reply("No tool needed.")
    message = prompted.bind_tools([get_weather]).invoke("Hello")
    assert message.content == "No tool needed." and message.tool_calls == []
    assert message.response_metadata["attempts"] == 1


def test_prompt_route_retries_an_invalid_call(
    lmstudio: OpenAICompatServer, prompted: ChatOpenAICompatible
) -> None:
    lmstudio.reply(
        tool_text("get_weather", {"city": 3}), tool_text("get_weather", {"city": "Paris"})
    )
    message = prompted.bind_tools([get_weather]).invoke("Weather?")
    assert message.tool_calls[0]["args"] == {"city": "Paris"}
    assert message.response_metadata["attempts"] == 2
    sent = lmstudio.requests_to(CHAT)
    assert len(sent) == 2
    retry = sent[1].body["messages"]
    assert retry[-2]["role"] == "assistant" and '"city": 3' in retry[-2]["content"]
    assert retry[-1]["role"] == "user" and "not valid" in retry[-1]["content"]
    # both attempts' tokens are counted
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] > sum(
        len(m["content"].split()) for m in sent[0].body["messages"]
    )


def test_prompt_route_gives_up_after_max_retries(lmstudio: OpenAICompatServer) -> None:
    chat = chat_on(lmstudio, server_options={"tools": False}, max_retries=1)
    broken = "<tool_call>get_weather(city=Paris)</tool_call>"
    lmstudio.reply(broken, broken, broken)
    message = chat.bind_tools([get_weather]).invoke("Weather?")
    assert message.response_metadata["attempts"] == 2
    assert len(lmstudio.requests_to(CHAT)) == 2 and lmstudio.pending() == 1
    assert message.tool_calls == []
    assert message.invalid_tool_calls[0]["args"] == "get_weather(city=Paris)"


def test_prompt_route_unknown_tool_comes_back_as_that_call(lmstudio: OpenAICompatServer) -> None:
    # as from any OpenAI-compatible server: an agent's tool node tells the model it does not exist
    chat = chat_on(lmstudio, server_options={"tools": False}, max_retries=0)
    lmstudio.reply(tool_text("get_wether", {"city": "Paris"}))
    message = chat.bind_tools([get_weather]).invoke("Weather?")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_wether", {"city": "Paris"})
    ]


def test_prompt_route_arguments_that_are_not_an_object_stay_invalid(
    lmstudio: OpenAICompatServer,
) -> None:
    chat = chat_on(lmstudio, server_options={"tools": False}, max_retries=0)
    lmstudio.reply('<tool_call>{"name": "get_weather", "arguments": ["Paris"]}</tool_call>')
    message = chat.bind_tools([get_weather]).invoke("Weather?")
    assert message.tool_calls == []
    assert message.invalid_tool_calls[0]["name"] == "get_weather"
    assert message.invalid_tool_calls[0]["args"] == '["Paris"]'


def test_prompt_route_forced_choice_rejects_text(lmstudio: OpenAICompatServer) -> None:
    chat = chat_on(lmstudio, server_options={"tool_choice_required": False})
    lmstudio.reply("I will not call it.", tool_text("get_weather", {"city": "Lima"}))
    message = chat.bind_tools([get_weather], tool_choice="any").invoke("Weather?")
    assert message.tool_calls[0]["args"] == {"city": "Lima"}
    assert message.response_metadata["attempts"] == 2
    assert "tools" not in lmstudio.last(CHAT).body


async def test_prompt_route_async(
    lmstudio: OpenAICompatServer, prompted: ChatOpenAICompatible
) -> None:
    lmstudio.reply(tool_text("get_weather", {"city": 1}), tool_text("get_weather", {"city": "Q"}))
    message = await prompted.bind_tools([get_weather]).ainvoke("Weather?")
    assert message.tool_calls[0]["args"] == {"city": "Q"}
    assert message.response_metadata["attempts"] == 2


def test_grammar_route_on_vllm_forced_choice(vllm: OpenAICompatServer) -> None:
    chat = chat_on(vllm, constrain="grammar")
    vllm.reply(tool_text("get_weather", {"city": "Paris"}))
    message = chat.bind_tools([get_weather], tool_choice="get_weather").invoke("Weather?")
    assert message.tool_calls[0]["args"] == {"city": "Paris"}
    body = vllm.last(CHAT).body
    grammar = body["structured_outputs"]["grammar"]
    assert grammar.startswith("root ::=") and "<tool_call>" in grammar
    assert "get_weather" in grammar
    assert "tools" not in body and "grammar" not in body


def test_grammar_route_auto_choice_leaves_the_first_attempt_free(vllm: OpenAICompatServer) -> None:
    chat = chat_on(vllm, constrain="grammar")
    vllm.reply(tool_text("get_weather", {"city": 9}), tool_text("get_weather", {"city": "Oslo"}))
    message = chat.bind_tools([get_weather]).invoke("Weather?")
    assert message.tool_calls[0]["args"] == {"city": "Oslo"}
    first, second = (r.body for r in vllm.requests_to(CHAT))
    assert "structured_outputs" not in first  # the model may answer in text
    assert "<tool_call>" in second["structured_outputs"]["grammar"]  # it chose to call


def test_vllm_without_tool_parsing_takes_the_grammar_route(vllm: OpenAICompatServer) -> None:
    chat = chat_on(vllm, server_options={"tools": False})
    vllm.reply(tool_text("get_weather", {"city": "Paris"}))
    message = chat.bind_tools([get_weather], tool_choice="any").invoke("Weather?")
    assert message.tool_calls[0]["args"] == {"city": "Paris"}
    assert "grammar" in vllm.last(CHAT).body["structured_outputs"]


def test_grammar_route_forced_on_lmstudio_is_refused(lmstudio: OpenAICompatServer) -> None:
    chat = chat_on(lmstudio, constrain="grammar")
    with pytest.raises(ValueError, match="LM Studio takes no grammar; use constrain="):
        chat.bind_tools([get_weather]).invoke("Weather?")


# --- structured output --------------------------------------------------------------------------
def test_structured_output_json_schema(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply('{"name": "Rome", "country": "Italy"}')
    city = chat.with_structured_output(City).invoke("The capital of Italy")
    assert city == City(name="Rome", country="Italy")
    fmt = server.last(CHAT).body["response_format"]
    assert fmt["type"] == "json_schema"
    assert set(fmt["json_schema"]["schema"]["properties"]) == {"name", "country"}
    assert "tools" not in server.last(CHAT).body


async def test_structured_output_async(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply('{"name": "Oslo", "country": "Norway"}')
    assert await chat.with_structured_output(City).ainvoke("Oslo") == City(
        name="Oslo", country="Norway"
    )


def test_structured_output_function_calling(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply(Reply(tool_calls=[call("City", name="Paris", country="France")]))
    city = chat.with_structured_output(City, method="function_calling").invoke("Paris")
    assert city == City(name="Paris", country="France")
    body = server.last(CHAT).body
    assert body["tools"][0]["function"]["name"] == "City"
    assert body["tool_choice"] == {"type": "function", "function": {"name": "City"}}
    assert "response_format" not in body


def test_structured_output_json_mode(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply('{"name": "Lima", "country": "Peru"}')
    city = chat.with_structured_output(City, method="json_mode").invoke("Lima, as JSON")
    assert city == City(name="Lima", country="Peru")
    fmt = server.last(CHAT).body["response_format"]
    if server.flavor == "vllm":
        assert fmt == {"type": "json_object"}
    else:  # LM Studio refuses json_object: any object, as a schema
        assert fmt == {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": {"type": "object"}},
        }


def test_structured_output_include_raw(server: OpenAICompatServer) -> None:
    chat = chat_on(server).with_structured_output(City, include_raw=True)
    server.reply('{"name": "Rome", "country": "Italy"}')
    out = chat.invoke("Rome")
    assert out["parsed"] == City(name="Rome", country="Italy")
    assert out["parsing_error"] is None
    assert isinstance(out["raw"], AIMessage)
    assert json.loads(str(out["raw"].content)) == {"name": "Rome", "country": "Italy"}

    server.reply('{"name": "Rome"}')
    out = chat.invoke("Rome")
    assert out["parsed"] is None and out["parsing_error"] is not None
    assert out["raw"].content == '{"name": "Rome"}'


def test_structured_output_prompt_route_retries(lmstudio: OpenAICompatServer) -> None:
    chat = chat_on(lmstudio, constrain="prompt")
    lmstudio.reply('{"name": "Rome"}', 'Sure: {"name": "Rome", "country": "Italy"}')
    out = chat.with_structured_output(City, include_raw=True).invoke("Rome")
    assert out["parsed"] == City(name="Rome", country="Italy")
    assert out["raw"].response_metadata["attempts"] == 2
    first = lmstudio.requests_to(CHAT)[0].body
    assert "response_format" not in first
    assert first["messages"][0]["role"] == "system" and "country" in first["messages"][0]["content"]


# --- errors -------------------------------------------------------------------------------------
def test_unknown_model_is_a_server_error_with_its_message(server: OpenAICompatServer) -> None:
    chat = chat_on(server, model="no-such-model")
    with pytest.raises(ServerError) as info:
        chat.invoke("Hi")
    text = str(info.value)
    if server.flavor == "vllm":
        assert info.value.status_code == 404
        assert "The model `no-such-model` does not exist." in text
        assert "endpoint" not in text  # the endpoint exists; the model does not
    else:
        assert info.value.status_code == 400
        assert 'Invalid model identifier "no-such-model"' in text
    assert "Check `model=`" in text
    assert ".." not in text


async def test_unknown_model_async(server: OpenAICompatServer) -> None:
    chat = chat_on(server, model="no-such-model")
    with pytest.raises(ServerError, match="no-such-model"):
        await chat.ainvoke("Hi")


def test_vllm_context_overflow() -> None:
    with OpenAICompatServer("vllm", max_model_len=64) as small:
        chat = chat_on(small, max_tokens=8)
        assert chat.server_facts().context_length == 64
        with pytest.raises(ContextOverflowError) as info:
            chat.invoke("word " * 100)
        assert (info.value.n_prompt_tokens, info.value.n_ctx) == (100, 64)
        assert "--max-model-len" in str(info.value)
        with pytest.raises(ServerError, match="Lower `max_tokens`") as refused:
            chat.invoke("word " * 10, max_tokens=60)  # fits alone, not with max_tokens
        assert not isinstance(refused.value, ContextOverflowError)
        assert refused.value.status_code == 400 and "maximum context length is 64" in str(
            refused.value
        )


def test_mid_stream_error_event(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply(Reply(text="a b c d e", error_after=2, error=(500, "the engine died")))
    seen: list[str] = []
    with pytest.raises(ServerError, match="mid-reply: the engine died") as info:
        read_into(seen, chat.stream("Hi"))
    assert info.value.status_code is None
    assert "".join(seen) == "a b"  # what came before the error was streamed
    server.reply(Reply(text="a b c", error_after=1))
    with pytest.raises(ServerError, match="mid-reply"):
        chat.invoke("Hi")


async def test_mid_stream_error_async(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply(Reply(text="a b c d e", error_after=1, error=(500, "async failure")))
    with pytest.raises(ServerError, match="async failure"):
        await chat.ainvoke("Hi")


def test_dropped_connection_mid_stream(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply(Reply(text="a b c d e", drop_after=2))
    seen: list[str] = []
    with pytest.raises(ServerDisconnectedError, match="in the middle of a reply"):
        read_into(seen, chat.stream("Hi"))
    assert "".join(seen) == "a b"


async def test_dropped_connection_async(server: OpenAICompatServer) -> None:
    chat = chat_on(server)
    server.reply(Reply(text="a b c d e", drop_after=3))
    with pytest.raises(ServerDisconnectedError):
        await chat.ainvoke("Hi")


@pytest.mark.parametrize(
    ("server_name", "hint"),
    [
        ("vllm", "start one with `vllm serve <model>"),
        ("lmstudio", "start one with `lms server start"),
        ("auto", "start one (e.g. `llama-server -m model.gguf --jinja`"),
    ],
)
def test_nothing_listening(server_name: str, hint: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    chat = ChatOpenAICompatible(base_url=url, server=server_name, connect_timeout=2)
    with pytest.raises(ServerUnavailableError) as info:
        chat.invoke("Hi")
    assert hint in str(info.value)
    assert url.removesuffix("/v1") in str(info.value)
    assert isinstance(info.value, ConnectionError)


async def test_nothing_listening_async() -> None:
    chat = ChatOpenAICompatible(base_url=f"http://127.0.0.1:{free_port()}", server="vllm")
    with pytest.raises(ServerUnavailableError, match="vllm serve"):
        await chat.ainvoke("Hi")


def test_lmstudio_json_object_refusal_surfaces(lmstudio: OpenAICompatServer) -> None:
    chat = chat_on(lmstudio, server_options={"json_object": True})
    with pytest.raises(ServerError) as info:
        chat.with_structured_output(City, method="json_mode").invoke("Hi")
    assert info.value.status_code == 400
    assert LMSTUDIO_JSON_OBJECT in str(info.value)
    assert lmstudio.last(CHAT).body["response_format"] == {"type": "json_object"}


async def test_refused_response_format_is_asked_again_under_a_grammar(
    vllm: OpenAICompatServer,
) -> None:
    # llama-server's refusal for a vocabulary that cannot spell the generation prompt; any
    # server with a grammar field gets the same fallback
    chat = chat_on(vllm)
    refusal = Reply(error=(400, "Failed to initialize samplers"))
    vllm.reply(
        refusal, '{"name": "Paris", "country": "France"}', '{"name": "Rome", "country": "Italy"}'
    )
    structured = chat.with_structured_output(City)
    assert structured.invoke("Paris") == City(name="Paris", country="France")
    first, second = vllm.requests_to(CHAT)
    assert "response_format" in first.body and "structured_outputs" in second.body
    assert "response_format" not in second.body
    assert await structured.ainvoke("Rome") == City(name="Rome", country="Italy")
    assert "structured_outputs" in vllm.last(CHAT).body  # remembered: no second refusal
    assert len(vllm.requests_to(CHAT)) == 3


def test_other_refusals_are_errors(vllm: OpenAICompatServer) -> None:
    vllm.reply(Reply(error=(400, "bad schema")))
    with pytest.raises(ServerError, match="bad schema"):
        chat_on(vllm).with_structured_output(City).invoke("Paris")
    assert len(vllm.requests_to(CHAT)) == 1


def test_grammar_merges_into_extra_body_nested_fields(vllm: OpenAICompatServer) -> None:
    extra = {"structured_outputs": {"disable_any_whitespace": True}}
    chat = chat_on(vllm, grammar='root ::= "a"', extra_body=extra)
    chat.invoke("Hi")
    chat.invoke("Hi again")
    for request in vllm.requests_to(CHAT):
        assert request.body["structured_outputs"] == {
            "disable_any_whitespace": True,
            "grammar": 'root ::= "a"',
        }
    assert extra == {"structured_outputs": {"disable_any_whitespace": True}}  # not changed
