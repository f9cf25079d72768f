"""Llamafile, ChatLlamafile and LlamafileEmbeddings against a mock transport (no server)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any, Literal

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from langchain_localkit._llamafile_script import MORE_CALLS_GRAMMAR
from langchain_localkit.chat_models.llamafile import ChatLlamafile
from langchain_localkit.embeddings.llamafile import LlamafileEmbeddings
from langchain_localkit.llms.llamafile import Llamafile
from tests.unit_tests.llamafile._fakes import (
    LEGACY_PROPS,
    FakeServer,
    completion_stream,
    final_event,
    sse,
)


def refusing() -> dict[str, Any]:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"construction must not talk to the server ({request.url})")

    return {"client_kwargs": {"transport": httpx.MockTransport(refuse)}}


# --- Llamafile
def test_defaults_match_the_seed_call() -> None:
    llm = Llamafile(**refusing())
    assert llm.base_url == "http://localhost:8080"
    assert llm._llm_type == "llamafile"
    params = llm._get_ls_params()
    assert params["ls_provider"] == "llamafile"
    assert params["ls_model_type"] == "llm"


def test_community_names_are_accepted() -> None:
    llm = Llamafile(n_predict=7, request_timeout=30, timeout=None, seed=3, repeat_last_n=32)
    assert llm.max_tokens == 7
    assert llm.request_timeout == 30
    body = llm._body(None, {})
    assert body["n_predict"] == 7
    assert body["seed"] == 3
    assert body["repeat_last_n"] == 32
    assert body["cache_prompt"] is True
    assert "tfs_z" not in body and "penalize_nl" not in body
    assert Llamafile(timeout=12).request_timeout == 12


def test_body_merges_call_options() -> None:
    llm = Llamafile(stop=["\n"], max_tokens=None, model_kwargs={"dry_multiplier": 0.5})
    body = llm._body(["END"], {"temperature": 0.0, "n_predict": 5, "grammar": "root ::= [a]"})
    assert body["stop"] == ["\n", "END"]
    assert body["n_predict"] == 5
    assert body["temperature"] == 0.0
    assert body["dry_multiplier"] == 0.5
    assert body["grammar"] == "root ::= [a]"
    assert "seed" not in body
    assert Llamafile(max_tokens=None)._body(None, {})["n_predict"] == -1


def test_unknown_call_option_is_refused() -> None:
    with pytest.raises(TypeError, match=r"`temprature` is unknown \(did you mean `temperature`"):
        Llamafile()._body(None, {"temprature": 0.1})


def test_construction_errors() -> None:
    with pytest.raises(ValueError, match="either `grammar` or `json_schema`"):
        Llamafile(grammar="root ::= [a]", json_schema={"type": "object"})
    with pytest.raises(ValueError, match="http://"):
        Llamafile(base_url="localhost:8080")


def test_callback_manager_is_mapped() -> None:
    from langchain_core.callbacks import CallbackManager, StdOutCallbackHandler

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        llm = Llamafile(callback_manager=CallbackManager([StdOutCallbackHandler()]))
    assert llm.callbacks is not None
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def test_invoke_stream_and_generation_info() -> None:
    fake = FakeServer()
    fake.stream(
        "POST", "/completion", completion_stream([" one", " two"], stop_type="eos", predicted=3)
    )
    handler = Tokens()
    llm = Llamafile(**fake.kwargs(), callbacks=[handler])
    result = llm.generate(["Count:"])
    gen = result.generations[0][0]
    assert gen.text == " one two"
    info = gen.generation_info or {}
    assert info["finish_reason"] == "stop"
    assert info["stop_reason"] == "eos"
    assert info["usage"] == {
        "input_tokens": 5,
        "output_tokens": 2,
        "total_tokens": 7,
        "input_token_details": {"cache_read": 1},  # the server's `timings.cache_n`
    }
    assert info["timings"]["source"] == "llama.cpp server"
    assert info["stop_type"] == "eos"
    assert info["model_name"] == "tiny-llama.gguf"
    assert handler.tokens == [" one", " two"]
    assert result.llm_output == {
        "token_usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
        "model_name": "tiny-llama.gguf",
    }
    body = fake.bodies("/completion")[0]
    assert body["prompt"] == "Count:"


def test_non_streaming_mode() -> None:
    fake = FakeServer()
    answer = {"content": "done", "stop": True, "stop_type": "limit", "tokens_predicted": 1}
    fake.on("POST", "/completion", lambda r: httpx.Response(200, json=answer))
    llm = Llamafile(**fake.kwargs(), streaming=False)
    assert llm.invoke("x") == "done"
    assert fake.bodies("/completion")[0]["stream"] is False


async def test_async_invoke_and_stream() -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream(["a", "b"]))
    llm = Llamafile(**fake.kwargs())
    assert await llm.ainvoke("x") == "ab"
    chunks = [c async for c in llm.astream("x")]
    assert "".join(chunks) == "ab"


def test_verbose_prints_the_timing_report(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream(["a"]))
    Llamafile(**fake.kwargs(), verbose=True).invoke("x")
    assert "eval time" in capsys.readouterr().err


# --- ChatLlamafile: rendering and plans
def test_chat_construction_no_io_and_ls_params() -> None:
    chat = ChatLlamafile(**refusing(), model="my-model", temperature=0)
    params = chat._get_ls_params()
    assert params["ls_model_name"] == "my-model"
    assert params["ls_model_type"] == "chat"
    chat.bind_tools([{"type": "function", "function": {"name": "f", "parameters": {}}}])
    chat.with_structured_output({"title": "T", "type": "object", "properties": {}})


def test_chat_renders_with_the_servers_template() -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream([" hi"], stop_type="eos"))
    chat = ChatLlamafile(**fake.kwargs())
    msg = chat.invoke([SystemMessage("Be brief."), HumanMessage("Hello")])
    assert msg.content == " hi"
    body = fake.bodies("/completion")[0]
    assert body["prompt"] == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert "<|im_end|>" in body["stop"]
    assert msg.usage_metadata == {
        "input_tokens": 5,
        "output_tokens": 1,
        "total_tokens": 6,
        "input_token_details": {"cache_read": 1},
    }
    assert msg.response_metadata["model_provider"] == "llamafile"
    assert msg.response_metadata["stop_reason"] == "eos"


def test_chat_format_override_and_bos_token_id() -> None:
    fake = FakeServer(props={**FakeServer().props, "bos_token": "<bos>"})
    fake.on("POST", "/tokenize", lambda r: httpx.Response(200, json={"tokens": [2]}))
    fake.stream("POST", "/completion", completion_stream(["ok"]))
    chat = ChatLlamafile(**fake.kwargs(), chat_format="gemma")
    chat.invoke("Hi")
    prompt = fake.bodies("/completion")[0]["prompt"]
    # the BOS text becomes its id, so the server does not add a second BOS
    assert prompt[0] == 2
    assert prompt[1].startswith("<start_of_turn>user\nHi")
    assert json.loads(fake.requests[1].content)["content"] == "<bos>"


def test_servers_chatml_default_loses_to_the_model_name() -> None:
    from langchain_localkit.chat_models.llamafile import LLAMA_CPP_DEFAULT_TEMPLATE
    from langchain_localkit.engines.llamafile import ServerInfo

    props = {
        **FakeServer().props,
        "model_path": "/zip/gemma-3-270m-it.gguf",
        "model_alias": "",
        "chat_template": LLAMA_CPP_DEFAULT_TEMPLATE,
    }
    chat = ChatLlamafile()
    assert chat.prompt_target(ServerInfo.from_props(props)).family.name == "gemma"
    # a real ChatML template in the GGUF wins over the name
    real = {**props, "chat_template": FakeServer().props["chat_template"]}
    assert chat.prompt_target(ServerInfo.from_props(real)).family.name == "chatml"


class Alarm(BaseModel):
    """Set an alarm."""

    hour: int
    loud: bool


def test_forced_tool_call_is_constrained_by_the_call_schema() -> None:
    fake = FakeServer()
    call = '{"name": "Alarm", "arguments": {"hour": 7, "loud": true}}'
    fake.stream("POST", "/completion", completion_stream([call], stop_type="eos"))
    chat = ChatLlamafile(**fake.kwargs()).bind_tools([Alarm], tool_choice="any")
    msg = chat.invoke("Wake me at 7")
    assert isinstance(msg, AIMessage)
    assert msg.tool_calls[0]["name"] == "Alarm"
    assert msg.tool_calls[0]["args"] == {"hour": 7, "loud": True}
    assert msg.response_metadata["finish_reason"] == "tool_calls"
    body = fake.bodies("/completion")[0]
    assert body["prompt"].endswith("<|im_start|>assistant\n<tool_call>")
    assert body["json_schema"]["properties"]["name"] == {"const": "Alarm"}
    assert "stop" not in body
    assert "You must call" in body["prompt"]


def test_auto_tool_choice_stops_at_the_tag_then_continues() -> None:
    fake = FakeServer()
    fake.stream(
        "POST",
        "/completion",
        completion_stream(["Let me check."], stop_type="word", word="<tool_call>", predicted=4),
        completion_stream(['{"name": "Alarm", "arguments": {"hour": 6, "loud": false}}']),
    )
    msg = ChatLlamafile(**fake.kwargs(), max_tokens=100).bind_tools([Alarm]).invoke("Wake me")
    assert msg.content == "Let me check."
    assert msg.tool_calls[0]["args"] == {"hour": 6, "loud": False}
    first, second = fake.bodies("/completion")
    assert "<tool_call>" in first["stop"]
    assert "json_schema" not in first
    assert second["prompt"].endswith("Let me check.<tool_call>")
    assert second["n_predict"] == 96  # the budget left after the text step
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_tokens"] == 5
    assert msg.usage_metadata["output_tokens"] == 6


def test_auto_without_a_call_is_plain_text() -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream(["No tool needed."], stop_type="eos"))
    msg = ChatLlamafile(**fake.kwargs()).bind_tools([Alarm]).invoke("Hi")
    assert msg.content == "No tool needed."
    assert msg.tool_calls == []
    assert len(fake.bodies("/completion")) == 1


def test_parallel_calls_ask_the_model_whether_to_go_on() -> None:
    fake = FakeServer()
    call = '{"name": "Alarm", "arguments": {"hour": 7, "loud": true}}'
    fake.stream(
        "POST",
        "/completion",
        completion_stream([call], stop_type="eos"),
        completion_stream(["\n<tool_call>"]),
        completion_stream([call.replace("7", "8")], stop_type="eos"),
        completion_stream([], stop_type="eos", predicted=1),
    )
    chat = ChatLlamafile(**fake.kwargs(), max_tokens=200)
    msg = chat.bind_tools([Alarm], tool_choice="any", parallel_tool_calls=True).invoke("x")
    assert [c["args"]["hour"] for c in msg.tool_calls] == [7, 8]
    bodies = fake.bodies("/completion")
    assert bodies[1]["grammar"] == MORE_CALLS_GRAMMAR
    assert bodies[2]["prompt"].endswith("</tool_call>\n<tool_call>")
    assert len(bodies) == 4


def test_a_call_cut_off_by_max_tokens_is_dropped() -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream(['{"name": "Alarm", "argu'], predicted=16))
    msg = ChatLlamafile(**fake.kwargs(), max_tokens=16).bind_tools([Alarm], tool_choice="any")
    result = msg.invoke("x")
    assert result.tool_calls == []
    assert result.response_metadata["dropped_tool_calls"] == 1


def test_structured_output_sends_the_schema() -> None:
    class Colour(BaseModel):
        label: Literal["red", "blue"]

    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream(['{"label": "red"}'], stop_type="eos"))
    out = ChatLlamafile(**fake.kwargs()).with_structured_output(Colour).invoke("Pick")
    assert out == Colour(label="red")
    body = fake.bodies("/completion")[0]
    assert body["json_schema"]["properties"]["label"]["enum"] == ["red", "blue"]
    assert "matching this schema" in body["prompt"]


def test_json_mode_and_bad_method() -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream(['{"a": 1}'], stop_type="eos"))
    chat = ChatLlamafile(**fake.kwargs())
    assert chat.with_structured_output(method="json_mode").invoke("x") == {"a": 1}
    assert fake.bodies("/completion")[0]["json_schema"] == {"type": "object"}
    with pytest.raises(ValueError, match="Unknown method"):
        chat.with_structured_output(Alarm, method="xml")  # type: ignore[arg-type]


def test_stream_ends_with_usage_on_the_last_chunk() -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream(["a", "b"]))
    chunks = list(ChatLlamafile(**fake.kwargs()).stream("x"))
    assert [c.content for c in chunks[:2]] == ["a", "b"]
    assert chunks[-1].chunk_position == "last"
    assert chunks[-1].usage_metadata is not None
    assert sum(1 for c in chunks if c.usage_metadata) == 1


def _json_final(content: str, **final: Any) -> Callable[[httpx.Request], httpx.Response]:
    answer = {**final_event(**final), "content": content}
    return lambda r: httpx.Response(200, json=answer)


def test_chat_streaming_false_sends_one_plain_request() -> None:
    fake = FakeServer()
    fake.on("POST", "/completion", _json_final("all at once", stop_type="eos"))
    handler = Tokens()
    chat = ChatLlamafile(**fake.kwargs(), streaming=False, callbacks=[handler])
    msg = chat.invoke("x")
    assert msg.content == "all at once"
    assert fake.bodies("/completion")[0]["stream"] is False
    assert handler.tokens == []  # nothing streamed, so no tokens to report
    streamed = FakeServer()
    streamed.stream("POST", "/completion", completion_stream(["all at once"], stop_type="eos"))
    same = ChatLlamafile(**streamed.kwargs()).invoke("x")
    assert msg.usage_metadata == same.usage_metadata
    assert msg.response_metadata["finish_reason"] == same.response_metadata["finish_reason"]
    assert set(msg.response_metadata) == set(same.response_metadata)


def test_chat_streaming_false_still_runs_a_constrained_tool_call() -> None:
    fake = FakeServer()
    call = '{"name": "Alarm", "arguments": {"hour": 7, "loud": true}}'
    fake.on("POST", "/completion", _json_final(call, stop_type="eos"))
    chat = ChatLlamafile(**fake.kwargs(), streaming=False).bind_tools([Alarm], tool_choice="any")
    msg = chat.invoke("Wake me at 7")
    assert msg.tool_calls[0]["args"] == {"hour": 7, "loud": True}
    body = fake.bodies("/completion")[0]
    assert body["stream"] is False and body["json_schema"]["properties"]["name"]


async def test_chat_streaming_false_async() -> None:
    fake = FakeServer()
    fake.on("POST", "/completion", _json_final("async, at once"))
    msg = await ChatLlamafile(**fake.kwargs(), streaming=False).ainvoke("x")
    assert msg.content == "async, at once"
    assert msg.response_metadata["finish_reason"] == "length"
    assert fake.bodies("/completion")[0]["stream"] is False


def test_chat_streams_on_invoke_by_default() -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream(["a", "b"]))
    handler = Tokens()
    assert ChatLlamafile(**fake.kwargs(), callbacks=[handler]).invoke("x").content == "ab"
    assert handler.tokens == ["a", "b"]
    assert fake.bodies("/completion")[0]["stream"] is True


# --- ChatLlamafile: the OpenAI-compatible endpoint ------------------------------------------------
def openai_stream(*texts: str, usage: dict[str, int] | None = None) -> bytes:
    chunks: list[Any] = [
        {"choices": [{"delta": {"content": t}, "finish_reason": None}], "model": "/m/x.gguf"}
        for t in texts
    ]
    chunks.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    chunks.append(
        {
            "choices": [],
            "usage": usage or {"prompt_tokens": 9, "completion_tokens": len(texts)},
            "timings": {
                "prompt_n": 9,
                "prompt_ms": 3.0,
                "predicted_n": len(texts),
                "predicted_ms": 5.0,
            },
        }
    )
    return sse(*chunks, done=True)


def test_chat_endpoint() -> None:
    fake = FakeServer()
    fake.stream("POST", "/v1/chat/completions", openai_stream("Hel", "lo"))
    chat = ChatLlamafile(**fake.kwargs(), endpoint="chat", max_tokens=20, model="x")
    msg = chat.invoke([HumanMessage("Hi")])
    assert msg.content == "Hello"
    assert msg.usage_metadata == {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11}
    assert msg.response_metadata["timings"]["eval_tokens"] == 2
    assert msg.response_metadata["finish_reason"] == "stop"
    body = fake.bodies("/v1/chat/completions")[0]
    assert body["messages"] == [{"role": "user", "content": "Hi"}]
    assert body["max_tokens"] == 20 and "n_predict" not in body  # `/v1`'s name only
    assert body["stream_options"] == {"include_usage": True}
    assert body["model"] == "x"


def test_chat_endpoint_tool_calls_and_response_format() -> None:
    fake = FakeServer()
    call_chunks = [
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "c1",
                                "function": {"name": "Alarm", "arguments": '{"hour": 7,'},
                            }
                        ]
                    }
                }
            ]
        },
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [{"index": 0, "function": {"arguments": ' "loud": true}'}}]
                    },
                    "finish_reason": "tool_calls",
                }
            ]
        },
    ]
    fake.stream("POST", "/v1/chat/completions", sse(*call_chunks, done=True))
    chat = ChatLlamafile(**fake.kwargs(), endpoint="chat")
    msg = chat.bind_tools([Alarm], tool_choice="Alarm").invoke("x")
    assert msg.tool_calls[0]["args"] == {"hour": 7, "loud": True}
    body = fake.bodies("/v1/chat/completions")[0]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Alarm"}}
    assert body["parallel_tool_calls"] is False

    fake.stream("POST", "/v1/chat/completions", openai_stream('{"hour": 1, "loud": false}'))
    assert chat.with_structured_output(Alarm).invoke("x") == Alarm(hour=1, loud=False)
    body = fake.bodies("/v1/chat/completions")[-1]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["title"] == "Alarm"


def test_legacy_server_falls_back_to_completion_for_tools() -> None:
    fake = FakeServer(props=dict(LEGACY_PROPS))
    call = '{"name": "Alarm", "arguments": {"hour": 7, "loud": true}}'
    fake.stream("POST", "/completion", completion_stream([call]))
    chat = ChatLlamafile(**fake.kwargs(), endpoint="chat", chat_format="chatml")
    msg = chat.bind_tools([Alarm], tool_choice="any").invoke("x")
    assert msg.tool_calls[0]["args"]["hour"] == 7
    assert not fake.bodies("/v1/chat/completions")


# --- embeddings
def test_embeddings_batches_and_normalises() -> None:
    fake = FakeServer()

    def answer(request: httpx.Request) -> httpx.Response:
        inputs = json.loads(request.content)["input"]
        data = [{"index": i, "embedding": [3.0, 4.0]} for i in range(len(inputs))]
        return httpx.Response(200, json={"data": data})

    fake.on("POST", "/v1/embeddings", answer)
    emb = LlamafileEmbeddings(**fake.kwargs(), batch_size=2)
    vectors = emb.embed_documents(["a", "b", "c"])
    assert vectors == [[0.6, 0.8]] * 3
    assert [len(b["input"]) for b in fake.bodies("/v1/embeddings")] == [2, 1]
    assert LlamafileEmbeddings(**fake.kwargs(), normalize=False).embed_query("a") == [3.0, 4.0]
