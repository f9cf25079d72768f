"""ChatLlamafile on a real llama-server: prompt formats, BOS, tools, structured output, parity
with ChatLlamaCpp, and the OpenAI-compatible endpoint."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Literal

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_localkit.chat_models.llamafile import ChatLlamafile
from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests._chat_checks import assert_cut_replies_are_errors
from tests.models import tiny_path


class SetAlarm(BaseModel):
    """Set an alarm clock."""

    hour: int = Field(ge=0, le=23)
    loud: bool


class Verdict(BaseModel):
    """A verdict."""

    label: Literal["red", "green", "blue"]
    score: int
    note: str = Field(max_length=12)


def tiny(server: LlamaServer, **kwargs: object) -> ChatLlamafile:
    params: dict[str, object] = {"base_url": server.base_url, "temperature": 0.8, "max_tokens": 96}
    return ChatLlamafile(**{**params, **kwargs})  # type: ignore[arg-type]


def test_gemma_gets_its_own_turn_format_and_one_bos(gemma_server: LlamaServer) -> None:
    chat = ChatLlamafile(base_url=gemma_server.base_url, temperature=0, max_tokens=16)
    rendered = chat.render([HumanMessage("Who was the first man on the moon?")])
    # the server reports llama.cpp's ChatML default for this template-less GGUF; ours is Gemma's
    assert rendered.prompt.startswith("<bos><start_of_turn>user\n")
    msg = chat.invoke("Who was the first man on the moon?")
    assert isinstance(msg.content, str) and msg.content.strip()
    # the server counted exactly the rendered prompt's tokens: BOS was not added twice
    tokens = chat.engine.tokenize(rendered.prompt, add_special=False)
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_tokens"] == len(tokens)
    assert msg.response_metadata["stop_reason"] in ("eos", None)


def test_forced_and_named_tool_calls_are_valid(tiny_server: LlamaServer) -> None:
    for choice in ("any", "SetAlarm"):
        for _ in range(3):
            msg = tiny(tiny_server).bind_tools([SetAlarm], tool_choice=choice).invoke("Wake me")
            assert isinstance(msg, AIMessage)
            assert len(msg.tool_calls) == 1, msg
            SetAlarm(**msg.tool_calls[0]["args"])
            assert msg.response_metadata["finish_reason"] == "tool_calls"


def test_auto_tool_choice_on_a_model_that_answers_in_words(tiny_server: LlamaServer) -> None:
    msg = tiny(tiny_server, max_tokens=12).bind_tools([SetAlarm]).invoke("Hello")
    assert msg.tool_calls == []
    assert isinstance(msg.content, str) and msg.content.strip()


def test_parallel_calls_are_each_valid(tiny_server: LlamaServer) -> None:
    chat = tiny(tiny_server, max_tokens=160)
    msg = chat.bind_tools([SetAlarm], tool_choice="any", parallel_tool_calls=True).invoke("x")
    assert len(msg.tool_calls) >= 1
    for call in msg.tool_calls:
        SetAlarm(**call["args"])


def test_structured_output_is_valid_every_time(tiny_server: LlamaServer) -> None:
    structured = tiny(tiny_server).with_structured_output(Verdict)
    results = [structured.invoke("Judge it.") for _ in range(5)]
    assert all(isinstance(r, Verdict) for r in results)
    fc = tiny(tiny_server).with_structured_output(Verdict, method="function_calling")
    assert isinstance(fc.invoke("Judge it."), Verdict)


def test_json_mode_is_json_or_an_explicit_truncation_error(tiny_server: LlamaServer) -> None:
    # free JSON has no length bound, so on random weights a reply may not close in max_tokens
    complete = 0
    for seed in range(10):
        # the seed goes on the model: include_raw's RunnableMap drops invoke's keyword arguments
        chat = tiny(tiny_server, max_tokens=200, seed=seed)
        out = chat.with_structured_output(method="json_mode", include_raw=True).invoke("JSON")
        assert out["raw"].content.lstrip().startswith("{"), out["raw"]
        if out["parsing_error"] is None:
            assert isinstance(out["parsed"], dict)
            complete += 1
        else:
            assert isinstance(out["parsing_error"], OutputParserException)
            assert out["raw"].response_metadata["finish_reason"] == "length"
            assert out["parsed"] is None
    assert complete >= 1


class Joke(TypedDict):
    """Joke to tell user."""

    setup: Annotated[str, ..., "question to set up a joke"]
    punchline: Annotated[str, ..., "answer to resolve the joke"]


def test_gemma_free_text_structured_output_over_ten_seeds(gemma_server: LlamaServer) -> None:
    """The standard suite's Joke on a real model, as a rate over seeds, not one seed's luck.

    Under llama-server's JSON-schema grammar Gemma 3 270M (a base model) loops inside a
    free-text field on about 5 % of seeds (3 of 80 measured with repeat_penalty 1.1, repacking
    on and off), and which
    seeds do depends on the host's CPU kernels. So: 7 of 10 seeds at least, and a run that does
    not complete ends in the explicit truncation error, never in a half-parsed object.
    """
    complete = 0
    for seed in range(10):
        chat = ChatLlamafile(
            base_url=gemma_server.base_url, max_tokens=128, seed=seed, repeat_penalty=1.1
        )
        out = chat.with_structured_output(Joke, include_raw=True).invoke(
            "Tell me a joke about cats."
        )
        if out["parsing_error"] is None:
            assert set(out["parsed"]) == {"setup", "punchline"}
            complete += 1
        else:
            assert out["raw"].response_metadata["finish_reason"] == "length"
            assert out["parsed"] is None
    assert complete >= 7


async def test_async_tools_and_stream(tiny_server: LlamaServer) -> None:
    msg = await tiny(tiny_server).bind_tools([SetAlarm], tool_choice="any").ainvoke("x")
    SetAlarm(**msg.tool_calls[0]["args"])
    chunks = [c async for c in tiny(tiny_server, max_tokens=8).astream("hi")]
    assert chunks[-1].usage_metadata is not None
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    results = await asyncio.gather(*(tiny(tiny_server).ainvoke("hi") for _ in range(3)))
    assert all(r.usage_metadata for r in results)


def test_output_cut_by_max_tokens_is_an_error(tiny_server: LlamaServer) -> None:
    assert_cut_replies_are_errors(
        tiny(tiny_server, temperature=0, max_tokens=3), Verdict, SetAlarm, SetAlarm
    )


def _counts(msg: AIMessage) -> dict[str, object]:
    """`usage_metadata` without `input_token_details` (what a cache held varies)."""
    usage = dict(msg.usage_metadata or {})
    usage.pop("input_token_details", None)
    return usage


def test_metadata_mirrors_chat_llamacpp(tiny_server: LlamaServer) -> None:
    pytest.importorskip("llama_cpp")
    from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp

    local = ChatLlamaCpp(model_path=str(tiny_path()), temperature=0, max_tokens=8, n_ctx=512)
    remote = tiny(tiny_server, temperature=0, max_tokens=8)
    messages = [SystemMessage("Be brief."), HumanMessage("hi")]
    a, b = local.invoke(messages), remote.invoke(messages)
    assert set(a.response_metadata) - {"model_provider"} <= set(b.response_metadata)
    assert _counts(a) == _counts(b)  # cache_read depends on what each had cached
    assert a.response_metadata["finish_reason"] == b.response_metadata["finish_reason"]
    # same prompt, same format: the local and the server-side prompt agree
    assert local.render(messages).prompt == remote.render(messages).prompt
    timings = b.response_metadata["timings"]
    assert timings["source"] == "llama.cpp server"
    assert timings["eval_tokens"] == b.usage_metadata["output_tokens"]  # type: ignore[index]


def test_stop_in_chat(tiny_server: LlamaServer) -> None:
    chat = tiny(tiny_server, temperature=0, max_tokens=32)
    full = chat.invoke("hi").content
    assert isinstance(full, str)
    stop = " " + full.split()[2]
    cut = chat.invoke("hi", stop=[stop])
    assert cut.content == full[: full.index(stop)]
    assert cut.response_metadata["stop_reason"] == stop


def test_openai_endpoint(gemma_server: LlamaServer) -> None:
    chat = ChatLlamafile(
        base_url=gemma_server.base_url, endpoint="chat", temperature=0, max_tokens=12
    )
    msg = chat.invoke("Hello")
    assert isinstance(msg.content, str) and msg.content
    assert msg.usage_metadata is not None and msg.usage_metadata["output_tokens"] > 0
    assert msg.response_metadata["timings"]["eval_tokens"] > 0
    chunks = list(chat.stream("Hello"))
    assert chunks[-1].usage_metadata is not None
    assert json.dumps(msg.response_metadata)


async def test_streaming_false_gives_the_same_reply_without_the_stream(
    tiny_server: LlamaServer,
) -> None:
    streamed = tiny(tiny_server, temperature=0, max_tokens=24)
    plain = tiny(tiny_server, temperature=0, max_tokens=24, streaming=False)
    messages = [SystemMessage("Be brief."), HumanMessage("the moon")]
    a, b = streamed.invoke(messages), plain.invoke(messages)
    assert a.content == b.content and a.content
    assert _counts(a) == _counts(b)  # b reads the prompt from the server's cache
    assert a.response_metadata["finish_reason"] == b.response_metadata["finish_reason"]
    assert (await plain.ainvoke(messages)).content == a.content
    batch = await plain.abatch([messages] * 3)
    assert [m.content for m in batch] == [a.content] * 3
    roomy = tiny(tiny_server, streaming=False)  # a call is spelled about a character a token
    call = roomy.bind_tools([SetAlarm], tool_choice="SetAlarm").invoke("wake me")
    assert len(call.tool_calls) == 1 and call.response_metadata["finish_reason"] == "tool_calls"
    SetAlarm(**call.tool_calls[0]["args"])
    verdict = roomy.with_structured_output(Verdict).invoke("Judge it.")
    assert isinstance(verdict, Verdict)
