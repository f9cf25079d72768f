"""The `reasoning` switch on the OpenAI-compatible faces, against the vLLM / LM Studio stand-in.

What each server is sent (its thinking switch, its effort field, earlier reasoning in its
message field), what comes back (the server's reasoning field kept apart, `<think>` blocks a
server leaves in the text split out here, everything thought dropped with `reasoning=False`),
the reasoning token counts, and the grammar route's thought before a checked reply.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from pydantic import BaseModel

from langchain_localkit._core.reasoning import THINK
from langchain_localkit._openai_thinking import openai_messages, split_reply
from langchain_localkit.chat_models.openai_compat import ChatOpenAICompatible
from langchain_localkit.engines.http.servers import PRESETS, preset, thinking_fields
from langchain_localkit.llms.openai_compat import OpenAICompatible
from langchain_localkit.testing.openai_server import OpenAICompatServer, Reply

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def standins() -> Iterator[dict[str, OpenAICompatServer]]:
    with OpenAICompatServer("vllm") as vllm, OpenAICompatServer("lmstudio") as lmstudio:
        yield {"vllm": vllm, "lmstudio": lmstudio}


@pytest.fixture(params=["vllm", "lmstudio"])
def server(
    request: pytest.FixtureRequest, standins: dict[str, OpenAICompatServer]
) -> OpenAICompatServer:
    return standins[request.param].reset()


@pytest.fixture
def vllm(standins: dict[str, OpenAICompatServer]) -> OpenAICompatServer:
    return standins["vllm"].reset()


@pytest.fixture
def lmstudio(standins: dict[str, OpenAICompatServer]) -> OpenAICompatServer:
    return standins["lmstudio"].reset()


def chat_on(server: OpenAICompatServer, /, **kwargs: Any) -> ChatOpenAICompatible:
    return ChatOpenAICompatible(base_url=server.base_url, **kwargs)


def joined(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    out = chunks[0]
    for c in chunks[1:]:
        out = out + c  # type: ignore[assignment]
    return out


class City(BaseModel):
    """A city."""

    name: str
    country: str


# ---- the presets -------------------------------------------------------------------------


def test_thinking_fields_per_preset() -> None:
    llama = preset("llama.cpp")
    assert thinking_fields(llama, None) == {}
    assert thinking_fields(llama, True) == {"chat_template_kwargs.enable_thinking": True}
    assert thinking_fields(llama, False) == {"chat_template_kwargs.enable_thinking": False}
    assert thinking_fields(llama, "low") == {
        "chat_template_kwargs.enable_thinking": True,
        "reasoning_effort": "low",
    }
    assert thinking_fields(preset("vllm"), "high")["reasoning_effort"] == "high"
    assert thinking_fields(preset("ollama"), False) == {"reasoning_effort": "none"}
    assert thinking_fields(preset("ollama"), True) == {}
    assert thinking_fields(preset("lmstudio"), False) == {}  # stripped client-side only
    assert thinking_fields(preset("koboldcpp"), "medium") == {}


def test_every_preset_names_where_reasoning_goes_back() -> None:
    assert PRESETS["llama.cpp"].history_reasoning_field == "reasoning_content"
    assert PRESETS["vllm"].history_reasoning_field == "reasoning"
    assert PRESETS["ollama"].history_reasoning_field == "reasoning"
    changed = PRESETS["vllm"].replace(thinking_switch=None, history_reasoning_field=None)
    assert changed.thinking_switch is None and changed.history_reasoning_field is None
    with pytest.raises(ValueError, match="Unknown server option"):
        PRESETS["vllm"].replace(thinking_field="x")


# ---- what the server is sent ---------------------------------------------------------------


@pytest.mark.parametrize("reasoning", [True, False, "high"])
def test_vllm_gets_the_template_switch_and_the_effort(
    vllm: OpenAICompatServer, reasoning: Any
) -> None:
    chat_on(vllm, reasoning=reasoning).invoke("Hi")
    body = vllm.last(CHAT).body
    assert body["chat_template_kwargs"] == {"enable_thinking": reasoning is not False}
    assert body.get("reasoning_effort") == (reasoning if isinstance(reasoning, str) else None)
    assert "reasoning" not in body  # the switch itself is never sent as a field


def test_the_call_option_overrides_the_field(vllm: OpenAICompatServer) -> None:
    chat = chat_on(vllm, reasoning=True)
    chat.invoke("Hi", reasoning=False)
    assert vllm.last(CHAT).body["chat_template_kwargs"] == {"enable_thinking": False}
    chat.invoke("Hi")
    assert vllm.last(CHAT).body["chat_template_kwargs"] == {"enable_thinking": True}


def test_none_sends_nothing(server: OpenAICompatServer) -> None:
    chat_on(server).invoke("Hi")
    body = server.last(CHAT).body
    assert "chat_template_kwargs" not in body and "reasoning_effort" not in body


def test_lmstudio_takes_the_effort_only(lmstudio: OpenAICompatServer) -> None:
    chat_on(lmstudio, reasoning="low").invoke("Hi")
    body = lmstudio.last(CHAT).body
    assert body["reasoning_effort"] == "low" and "chat_template_kwargs" not in body


def test_ollama_is_switched_off_by_effort_none(vllm: OpenAICompatServer) -> None:
    chat = ChatOpenAICompatible(base_url=vllm.base_url, server="ollama", reasoning=False)
    chat.invoke("Hi")
    body = vllm.last(CHAT).body
    assert body["reasoning_effort"] == "none" and "chat_template_kwargs" not in body


def test_a_field_the_caller_sets_wins(vllm: OpenAICompatServer) -> None:
    kwargs = {"enable_thinking": True, "other": 1}
    chat = chat_on(vllm, reasoning=False, extra_body={"chat_template_kwargs": kwargs})
    chat.invoke("Hi", reasoning_effort="low")
    body = vllm.last(CHAT).body
    assert body["chat_template_kwargs"] == {"enable_thinking": True, "other": 1}
    assert body["reasoning_effort"] == "low"
    assert kwargs == {"enable_thinking": True, "other": 1}  # the caller's dict is untouched


def test_server_options_name_other_fields(vllm: OpenAICompatServer) -> None:
    options = {"thinking_switch": "thinking.enabled", "effort_field": None}
    chat_on(vllm, server_options=options, reasoning="high").invoke("Hi")
    body = vllm.last(CHAT).body
    assert body["thinking"] == {"enabled": True} and "reasoning_effort" not in body


def test_earlier_reasoning_goes_back_in_the_servers_field(server: OpenAICompatServer) -> None:
    history = [
        HumanMessage("2+2?"),
        AIMessage("4", additional_kwargs={"reasoning_content": "Two and two."}),
        HumanMessage("3+3?"),
        AIMessage(
            content=[
                {"type": "reasoning", "reasoning": "Three and three."},
                {"type": "text", "text": "6"},
            ]
        ),
        HumanMessage("And 4+4?"),
    ]
    chat_on(server).invoke(history)
    messages = server.last(CHAT).body["messages"]
    field = "reasoning" if server.flavor == "vllm" else "reasoning_content"
    assert messages[1] == {"role": "assistant", "content": "4", field: "Two and two."}
    assert messages[3] == {"role": "assistant", "content": "6", field: "Three and three."}
    assert all("reasoning" not in m and "reasoning_content" not in m for m in messages[::2])


def test_no_history_field_sends_no_reasoning() -> None:
    message = AIMessage("4", additional_kwargs={"reasoning_content": "hm"})
    assert openai_messages([message], None) == [{"role": "assistant", "content": "4"}]


# ---- what comes back -----------------------------------------------------------------------


def test_vllm_reasoning_streams_apart_with_reasoning_true(vllm: OpenAICompatServer) -> None:
    vllm.reply(Reply(text="It is 4.", reasoning="Two plus two is four."))
    chunks = list(chat_on(vllm, reasoning=True).stream("2+2?"))
    thoughts = [c.additional_kwargs["reasoning_content"] for c in chunks if c.additional_kwargs]
    assert "".join(thoughts) == "Two plus two is four."
    assert len(thoughts) == 5  # one chunk per token, as the server streamed them
    message = joined(chunks)
    assert message.content == "It is 4."
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_token_details"] == {"reasoning": 5}
    assert message.usage_metadata["output_tokens"] == 8


def test_false_drops_the_servers_reasoning(server: OpenAICompatServer) -> None:
    server.reply(Reply(text="It is 4.", reasoning="Two plus two is four."))
    message = chat_on(server, reasoning=False).invoke("2+2?")
    assert message.content == "It is 4."
    assert "reasoning_content" not in message.additional_kwargs
    assert message.usage_metadata is not None  # the thoughts were generated all the same
    assert message.usage_metadata["output_token_details"] == {"reasoning": 5}


def test_none_keeps_what_the_server_separated_and_counts_only_what_it_says(
    server: OpenAICompatServer,
) -> None:
    server.reply(Reply(text="It is 4.", reasoning="Two plus two."))
    message = chat_on(server).invoke("2+2?")
    assert message.additional_kwargs["reasoning_content"] == "Two plus two."
    assert message.usage_metadata is not None
    assert "output_token_details" not in message.usage_metadata
    server.reply(Reply(text="It is 4.", reasoning="Two plus two.", reasoning_tokens=True))
    message = chat_on(server).invoke("2+2?")
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_token_details"] == {"reasoning": 3}


def test_the_servers_own_count_wins(vllm: OpenAICompatServer) -> None:
    vllm.reply(Reply(text="ok", reasoning="a b c d", reasoning_tokens=True))
    message = chat_on(vllm, reasoning=True).invoke("Hi")
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_token_details"] == {"reasoning": 4}


THOUGHT_IN_TEXT = "<think> Two plus two. </think> It is 4."


@pytest.mark.parametrize(
    ("reasoning", "content", "thought"),
    [
        (True, "It is 4.", "Two plus two."),
        ("medium", "It is 4.", "Two plus two."),
        (False, "It is 4.", None),
        (None, THOUGHT_IN_TEXT, None),
    ],
)
def test_think_tags_left_in_the_text_are_split_out(
    server: OpenAICompatServer, reasoning: Any, content: str, thought: str | None
) -> None:
    server.reply(Reply(text=THOUGHT_IN_TEXT))
    chunks = list(chat_on(server, reasoning=reasoning).stream("2+2?"))
    message = joined(chunks)
    assert message.content == content
    assert message.additional_kwargs.get("reasoning_content") == thought
    assert all("<think>" not in str(c.content) for c in chunks) or reasoning is None
    if reasoning is not None:  # one reasoning token per streamed piece that was thought
        assert message.usage_metadata is not None
        assert message.usage_metadata["output_token_details"]["reasoning"] >= 3


async def test_async_split_and_switch(vllm: OpenAICompatServer) -> None:
    vllm.reply(Reply(text=THOUGHT_IN_TEXT))
    chunks = [c async for c in chat_on(vllm, reasoning=True).astream("2+2?")]
    message = joined(chunks)
    assert message.content == "It is 4."
    assert message.additional_kwargs["reasoning_content"] == "Two plus two."
    vllm.reply(Reply(text="Yes.", reasoning="Hmm."))
    message2 = await chat_on(vllm, reasoning=False).ainvoke("Sure?")
    assert message2.content == "Yes." and "reasoning_content" not in message2.additional_kwargs
    assert vllm.last(CHAT).body["chat_template_kwargs"] == {"enable_thinking": False}


def test_v1_output_has_reasoning_blocks(vllm: OpenAICompatServer) -> None:
    vllm.reply(Reply(text="It is 4.", reasoning="Two plus two."))
    message = chat_on(vllm, reasoning=True, output_version="v1").invoke("2+2?")
    kinds = [b["type"] for b in message.content_blocks]
    assert kinds[0] == "reasoning" and "text" in kinds


# ---- the grammar and prompt routes ---------------------------------------------------------


def test_grammar_route_lets_a_thought_come_first_and_parses_the_answer(
    vllm: OpenAICompatServer,
) -> None:
    answer = json.dumps({"name": "Rome", "country": "Italy"})
    vllm.reply(Reply(text=f"<think> Italy capital. </think> {answer}"))
    chat = chat_on(vllm, constrain="grammar", reasoning=True)
    out = chat.with_structured_output(City, include_raw=True).invoke("Capital of Italy")
    assert out["parsed"] == City(name="Rome", country="Italy")
    assert out["raw"].additional_kwargs["reasoning_content"] == "Italy capital."
    grammar = vllm.last(CHAT).body["structured_outputs"]["grammar"]
    assert grammar.startswith("root ::= thought? answer-root")


def test_grammar_route_without_reasoning_forbids_the_thought(vllm: OpenAICompatServer) -> None:
    vllm.reply(Reply(text=json.dumps({"name": "Rome", "country": "Italy"})))
    chat = chat_on(vllm, constrain="grammar")
    assert chat.with_structured_output(City).invoke("Capital of Italy") == City(
        name="Rome", country="Italy"
    )
    assert "thought" not in vllm.last(CHAT).body["structured_outputs"]["grammar"]


def test_prompt_route_keeps_the_servers_thoughts_and_splits_tags(
    lmstudio: OpenAICompatServer,
) -> None:
    answer = json.dumps({"name": "Rome", "country": "Italy"})
    lmstudio.reply(Reply(text=f"<think> Hmm. </think> {answer}", reasoning="First."))
    chat = chat_on(lmstudio, constrain="prompt", reasoning=True)
    out = chat.with_structured_output(City, include_raw=True).invoke("Capital of Italy")
    assert out["parsed"] == City(name="Rome", country="Italy")
    assert out["raw"].additional_kwargs["reasoning_content"] == "First.Hmm."
    assert out["raw"].usage_metadata["output_token_details"]["reasoning"] >= 2


def test_split_reply_with_an_opened_thought() -> None:
    parts = [" a b", " </think>", "\n\nanswer"]
    events, pieces = split_reply(parts, THINK, opened=True, keep=True)
    assert events[-1] == "answer" and pieces == 2
    events, pieces = split_reply(["answer only"], THINK, opened=True, keep=True)
    assert events == ["answer only"] and pieces == 0  # the server took the thought out


# ---- text completion -----------------------------------------------------------------------


@pytest.mark.parametrize("reasoning", [True, False, None])
def test_llm_splits_thoughts_out_of_the_text(vllm: OpenAICompatServer, reasoning: Any) -> None:
    llm = OpenAICompatible(base_url=vllm.base_url, reasoning=reasoning)
    vllm.reply(Reply(text=THOUGHT_IN_TEXT), path="/v1/completions")
    result = llm.generate(["2+2?"]).generations[0][0]
    info = result.generation_info or {}
    if reasoning is None:
        assert result.text == THOUGHT_IN_TEXT and "reasoning_content" not in info
    else:
        assert result.text == "It is 4."
        assert info.get("reasoning_content") == ("Two plus two." if reasoning else None)
    assert "reasoning" not in vllm.last("/v1/completions").body


async def test_llm_async_stream_keeps_thoughts_apart(vllm: OpenAICompatServer) -> None:
    llm = OpenAICompatible(base_url=vllm.base_url)
    vllm.reply(Reply(text=THOUGHT_IN_TEXT), path="/v1/completions")
    pieces = [p async for p in llm.astream("2+2?", reasoning=True)]
    assert "".join(pieces) == "It is 4."
    vllm.reply(Reply(text=THOUGHT_IN_TEXT), path="/v1/completions")
    result = await llm.agenerate(["2+2?"], reasoning=True)
    assert result.generations[0][0].generation_info["reasoning_content"] == "Two plus two."
