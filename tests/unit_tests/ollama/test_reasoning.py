"""The `reasoning` switch on the Ollama faces, against the transcript server over real sockets.

langchain-ollama (>= 1.1) already sends `think` and keeps `message.thinking` apart; these tests
hold what the faces add on top: effort levels on `OllamaLLM`, checked values, the thought-token
count in usage, thoughts never in text, `reasoning` blocks sent back as Ollama's `thinking`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from pydantic import ValidationError

from langchain_localkit import ChatOllama, OllamaLLM, Timings
from langchain_localkit.testing.ollama_server import OllamaTranscriptServer, Reply, pieces

THOUGHT = "The question is about the 1969 landing."
ANSWER = "Neil Armstrong."
THOUGHT_TOKENS = len(pieces(THOUGHT))  # 7: the stand-in streams one word per object
ANSWER_TOKENS = len(pieces(ANSWER))  # 2


@pytest.fixture
def server() -> Iterator[OllamaTranscriptServer]:
    with OllamaTranscriptServer(models=["qwen3:8b", "gpt-oss:20b"]) as running:
        yield running


def thinking(server: OllamaTranscriptServer, times: int = 1) -> OllamaTranscriptServer:
    return server.reply(*[Reply(text=ANSWER, thinking=THOUGHT)] * times)


def chat(server: OllamaTranscriptServer, **kwargs: Any) -> ChatOllama:
    return ChatOllama(model=server.model, base_url=server.url, **kwargs)


def llm(server: OllamaTranscriptServer, **kwargs: Any) -> OllamaLLM:
    return OllamaLLM(model=server.model, base_url=server.url, **kwargs)


def joined(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return total


def assert_kept_apart(chunks: list[AIMessageChunk]) -> None:
    """Thoughts only in `reasoning_content`, never in a chunk that carries text."""
    for chunk in chunks:
        if chunk.additional_kwargs.get("reasoning_content"):
            assert chunk.text == ""
    assert "".join(c.text for c in chunks) == ANSWER
    thoughts = [c.additional_kwargs.get("reasoning_content") for c in chunks]
    assert "".join(t for t in thoughts if t) == THOUGHT
    assert sum(1 for t in thoughts if t) == THOUGHT_TOKENS


def assert_usage(message: BaseMessage) -> None:
    assert isinstance(message, AIMessage) and message.usage_metadata is not None
    usage = message.usage_metadata
    assert usage["output_tokens"] == THOUGHT_TOKENS + ANSWER_TOKENS  # Ollama's eval_count
    assert usage.get("output_token_details") == {"reasoning": THOUGHT_TOKENS}
    t = Timings.from_dict(message.response_metadata["timings"])
    assert t.source == "ollama" and t.eval_tokens == usage["output_tokens"]
    assert t.ttft_ms is not None and t.ttft_ms > 0


# --- ChatOllama: True keeps the thoughts apart ----------------------------------------------------
def test_chat_invoke_keeps_thoughts_apart_and_counts_them(server: OllamaTranscriptServer) -> None:
    msg = chat(thinking(server), reasoning=True).invoke("Who walked first on the moon?")
    assert msg.content == ANSWER
    assert msg.additional_kwargs["reasoning_content"] == THOUGHT
    assert server.last("/api/chat").body["think"] is True
    assert_usage(msg)
    assert msg.response_metadata["usage"]["output_token_details"] == {"reasoning": 7}


def test_chat_ainvoke_keeps_thoughts_apart_and_counts_them(server: OllamaTranscriptServer) -> None:
    msg = asyncio.run(chat(thinking(server), reasoning=True).ainvoke("Who?"))
    assert msg.content == ANSWER
    assert msg.additional_kwargs["reasoning_content"] == THOUGHT
    assert_usage(msg)


def test_chat_stream_never_mixes_thoughts_into_text(server: OllamaTranscriptServer) -> None:
    chunks = list(chat(thinking(server), reasoning=True).stream("Who?"))
    assert_kept_apart(chunks)
    final = [c for c in chunks if c.usage_metadata]
    assert len(final) == 1 and "timings" in final[0].response_metadata
    assert_usage(joined(chunks))


def test_chat_astream_never_mixes_thoughts_into_text(server: OllamaTranscriptServer) -> None:
    async def go() -> list[AIMessageChunk]:
        return [c async for c in chat(thinking(server), reasoning=True).astream("Who?")]

    chunks = asyncio.run(go())
    assert_kept_apart(chunks)
    assert_usage(joined(chunks))


def test_token_callbacks_get_the_answer_only(server: OllamaTranscriptServer) -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    handler = Tokens()
    list(chat(thinking(server), reasoning=True).stream("Who?", config={"callbacks": [handler]}))
    assert "".join(handler.tokens) == ANSWER


# --- the call option and the values --------------------------------------------------------------
def test_call_option_sets_think_per_call(server: OllamaTranscriptServer) -> None:
    model = chat(thinking(server, 4))  # reasoning=None on the face
    msg = model.invoke("Who?", reasoning="high")
    assert server.last("/api/chat").body["think"] == "high"
    assert msg.additional_kwargs["reasoning_content"] == THOUGHT and msg.content == ANSWER
    msg = model.invoke("Who?", reasoning=True)
    assert server.last("/api/chat").body["think"] is True
    assert msg.additional_kwargs["reasoning_content"] == THOUGHT
    msg = model.invoke("Who?", reasoning=False)
    assert server.last("/api/chat").body["think"] is False
    assert "reasoning_content" not in msg.additional_kwargs and msg.content == ANSWER
    assert msg.usage_metadata is not None and "output_token_details" not in msg.usage_metadata
    # the next call without the option is the face's again: no `think` sent
    msg = model.invoke("Who?")
    assert "think" not in server.last("/api/chat").body
    assert msg.content == ANSWER and "reasoning_content" not in msg.additional_kwargs


def test_field_false_sends_think_false_and_the_call_option_overrides_it(
    server: OllamaTranscriptServer,
) -> None:
    model = chat(thinking(server, 2), reasoning=False)
    assert model.invoke("Who?").content == ANSWER
    assert server.last("/api/chat").body["think"] is False
    chunks = list(model.stream("Who?", reasoning="low"))
    assert server.last("/api/chat").body["think"] == "low"
    assert_kept_apart(chunks)


def test_none_leaves_the_output_as_ollama_gives_it(server: OllamaTranscriptServer) -> None:
    # a thinking model thinks by default; langchain-ollama keeps the thoughts out of the text
    msg = chat(thinking(server)).invoke("Who?")
    assert msg.content == ANSWER and "reasoning_content" not in msg.additional_kwargs
    assert_usage(msg)  # the thoughts were generated: they are counted all the same


def test_effort_levels_on_both_faces(server: OllamaTranscriptServer) -> None:
    assert chat(server, reasoning="HIGH").reasoning == "high"
    assert llm(server, reasoning="medium").reasoning == "medium"  # langchain-ollama: bool only
    with pytest.raises(ValidationError, match="effort level"):
        chat(server, reasoning="max")
    with pytest.raises(ValidationError, match="effort level"):
        llm(server, reasoning="max")


def test_a_bad_call_option_is_refused_before_any_request(server: OllamaTranscriptServer) -> None:
    with pytest.raises(ValueError, match="effort level"):
        chat(server).invoke("Who?", reasoning="max")
    with pytest.raises(ValueError, match="effort level"):
        llm(server).invoke("Who?", reasoning=2)
    assert server.requests_to("/api/chat") == [] and server.requests_to("/api/generate") == []


def test_call_option_level_is_normalised(server: OllamaTranscriptServer) -> None:
    chat(thinking(server)).invoke("Who?", reasoning="High")
    assert server.last("/api/chat").body["think"] == "high"


def test_gpt_oss_thinks_even_with_think_false(server: OllamaTranscriptServer) -> None:
    model = ChatOllama(model="gpt-oss:20b", base_url=server.url, reasoning=False)
    thinking(server)
    msg = model.invoke("Who?")
    # the stand-in, like Ollama, ignores `think: false` for gpt-oss; the face strips them
    assert server.last("/api/chat").body["think"] is False
    assert msg.content == ANSWER and "reasoning_content" not in msg.additional_kwargs
    assert_usage(msg)


# --- output_version="v1" -------------------------------------------------------------------------
def test_v1_output_has_reasoning_blocks(server: OllamaTranscriptServer) -> None:
    msg = chat(thinking(server), reasoning=True, output_version="v1").invoke("Who?")
    blocks = msg.content_blocks
    assert [b["type"] for b in blocks] == ["reasoning", "text"]
    assert blocks[0].get("reasoning") == THOUGHT and blocks[1].get("text") == ANSWER
    assert msg.text == ANSWER
    assert_usage(msg)


def test_v1_stream_has_reasoning_blocks_apart_from_text(server: OllamaTranscriptServer) -> None:
    chunks = list(chat(thinking(server), reasoning=True, output_version="v1").stream("Who?"))
    for chunk in chunks:
        kinds = {b["type"] for b in chunk.content_blocks}
        assert not {"reasoning", "text"} <= kinds
    total = joined(chunks)
    reasoning = [b for b in total.content_blocks if b["type"] == "reasoning"]
    assert [b.get("reasoning") for b in reasoning] == [THOUGHT]
    assert total.text == ANSWER
    assert_usage(total)


# --- multi-turn: earlier thoughts go back as `thinking` ------------------------------------------
def sent_back(server: OllamaTranscriptServer) -> dict[str, Any]:
    messages = server.last("/api/chat").body["messages"]
    assistant = [m for m in messages if m["role"] == "assistant"]
    assert len(assistant) == 1
    return dict(assistant[0])


def test_reasoning_content_is_sent_back_as_thinking(server: OllamaTranscriptServer) -> None:
    model = chat(thinking(server, 2), reasoning=True)
    first = model.invoke("Who?")
    model.invoke([HumanMessage("Who?"), first, HumanMessage("Sure?")])
    back = sent_back(server)
    assert back["thinking"] == THOUGHT and back["content"] == ANSWER


def test_v1_reply_is_sent_back_with_thinking_and_plain_text(server: OllamaTranscriptServer) -> None:
    model = chat(thinking(server, 2), reasoning=True, output_version="v1")
    first = model.invoke("Who?")
    model.invoke([HumanMessage("Who?"), first, HumanMessage("Sure?")])
    back = sent_back(server)
    assert back["thinking"] == THOUGHT
    assert back["content"] == ANSWER  # langchain-ollama alone sends "\nNeil Armstrong."


def test_reasoning_blocks_alone_are_sent_back_as_thinking(server: OllamaTranscriptServer) -> None:
    # a turn restored from v1 content (no `reasoning_content`), or written by hand
    for metadata in ({}, {"output_version": "v1", "model_provider": "ollama"}):
        turn = AIMessage(
            content=[
                {"type": "reasoning", "reasoning": THOUGHT},
                {"type": "text", "text": ANSWER},
            ],
            response_metadata=metadata,
        )
        server.reply("Yes.")
        assert chat(server).invoke([HumanMessage("Who?"), turn, HumanMessage("Sure?")]).content
        back = sent_back(server)
        assert back["thinking"] == THOUGHT and back["content"] == ANSWER


def test_a_turn_without_thoughts_sends_none(server: OllamaTranscriptServer) -> None:
    server.reply("Yes.")
    chat(server).invoke([HumanMessage("Who?"), AIMessage(ANSWER), HumanMessage("Sure?")])
    back = sent_back(server)
    assert "thinking" not in back and back["content"] == ANSWER


# --- OllamaLLM -----------------------------------------------------------------------------------
def test_llm_invoke_keeps_thoughts_out_of_the_text(server: OllamaTranscriptServer) -> None:
    result = llm(thinking(server), reasoning="high").generate(["Who?"])
    generation = result.generations[0][0]
    assert generation.text == ANSWER
    assert server.last("/api/generate").body["think"] == "high"
    info = generation.generation_info or {}
    assert info["reasoning_content"] == THOUGHT
    assert info["thinking"] == THOUGHT  # langchain-ollama's own key stays
    assert info["usage"]["output_token_details"] == {"reasoning": THOUGHT_TOKENS}
    assert info["usage"]["output_tokens"] == THOUGHT_TOKENS + ANSWER_TOKENS
    assert Timings.from_dict(info["timings"]).eval_tokens == THOUGHT_TOKENS + ANSWER_TOKENS


def test_llm_async_generate_keeps_thoughts(server: OllamaTranscriptServer) -> None:
    result = asyncio.run(llm(thinking(server)).agenerate(["Who?"], reasoning=True))
    info = result.generations[0][0].generation_info or {}
    assert result.generations[0][0].text == ANSWER
    assert info["reasoning_content"] == THOUGHT
    assert server.last("/api/generate").body["think"] is True


def test_llm_stream_and_astream_are_the_answer_only(server: OllamaTranscriptServer) -> None:
    model = llm(thinking(server, 2))
    assert "".join(model.stream("Who?", reasoning=True)) == ANSWER
    assert server.last("/api/generate").body["think"] is True

    async def go() -> str:
        return "".join([p async for p in model.astream("Who?", reasoning="low")])

    assert asyncio.run(go()) == ANSWER
    assert server.last("/api/generate").body["think"] == "low"


def test_llm_false_sends_think_false_and_keeps_nothing(server: OllamaTranscriptServer) -> None:
    result = llm(thinking(server), reasoning=False).generate(["Who?"])
    info = result.generations[0][0].generation_info or {}
    assert result.generations[0][0].text == ANSWER
    assert server.last("/api/generate").body["think"] is False
    assert "reasoning_content" not in info and "output_token_details" not in info["usage"]


def test_llm_none_does_not_add_reasoning_content(server: OllamaTranscriptServer) -> None:
    info = llm(thinking(server)).generate(["Who?"]).generations[0][0].generation_info or {}
    assert "think" not in server.last("/api/generate").body
    assert "reasoning_content" not in info and info["thinking"] == THOUGHT


# --- the stand-in itself -------------------------------------------------------------------------
def test_stand_in_streams_thoughts_one_token_per_object(server: OllamaTranscriptServer) -> None:
    body = {"model": server.model, "messages": [{"role": "user", "content": "Who?"}]}
    for think in (True, "high", None):
        thinking(server)
        request = body | ({"think": think} if think is not None else {})
        with httpx.stream("POST", f"{server.url}/api/chat", json=request) as response:
            lines = [httpx.Response(200, content=line).json() for line in response.iter_lines()]
        thoughts = [m["message"]["thinking"] for m in lines if m["message"].get("thinking")]
        assert thoughts == pieces(THOUGHT)
        assert all(m["message"]["content"] == "" for m in lines if m["message"].get("thinking"))
        assert lines[-1]["eval_count"] == THOUGHT_TOKENS + ANSWER_TOKENS
        assert server.last("/api/chat").body.get("think") == think


def test_stand_in_think_false_and_whole_answers(server: OllamaTranscriptServer) -> None:
    body: dict[str, Any] = {"model": server.model, "prompt": "Who?", "stream": False}
    thinking(server, 2)
    whole = httpx.post(f"{server.url}/api/generate", json=body | {"think": True}).json()
    assert whole["thinking"] == THOUGHT and whole["response"] == ANSWER
    off = httpx.post(f"{server.url}/api/generate", json=body | {"think": False}).json()
    assert "thinking" not in off and off["eval_count"] == ANSWER_TOKENS


def test_stand_in_counts_thoughts_against_num_predict(server: OllamaTranscriptServer) -> None:
    thinking(server)
    msg = chat(server, reasoning=True, num_predict=3).invoke("Who?")
    assert msg.content == "" and msg.additional_kwargs["reasoning_content"] == "The question is"
    assert msg.response_metadata["done_reason"] == "length"
    assert msg.usage_metadata is not None
    assert msg.usage_metadata.get("output_token_details") == {"reasoning": 3}
