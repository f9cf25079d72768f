"""The `reasoning` switch on the HTTP faces, on a real llama-server (`--jinja`) for real.

The thinking tiny model (`tests.models.thinking_path`) is served with a Qwen3-like template
(`thinking_server`: the model opens `<think>`, `enable_thinking=false` closes it in the prompt)
and a DeepSeek-R1-like one (`thinking_r1_server`: the prompt opens `<think>`). The tiny model
"thinks" under `think_grammar` (sent as llama.cpp's `grammar` field). On `/v1` the server
parses the thoughts itself (`reasoning_content`); on `/completion` and `/v1/completions` the
faces split them out of the text.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk
from pydantic import BaseModel, Field

from langchain_localkit.chat_models.llamafile import ChatLlamafile
from langchain_localkit.chat_models.openai_compat import ChatOpenAICompatible
from langchain_localkit.llms.llamafile import Llamafile
from langchain_localkit.llms.openai_compat import OpenAICompatible
from langchain_localkit.testing.llama_server import LlamaServer
from langchain_localkit.testing.thinking import think_grammar
from tests.integration_tests._sent import Sent

QUESTION = "the moon"
TAGS = ("<think>", "</think>")


class City(BaseModel):
    """A city."""

    name: str = Field(max_length=12)
    country: str = Field(max_length=12)


class GetWeather(BaseModel):
    """Get the weather in a city."""

    city: str = Field(max_length=12)


@pytest.fixture(params=["qwen3", "r1"])
def served(request: pytest.FixtureRequest) -> tuple[str, LlamaServer]:
    """(style, server): the Qwen3-like and the DeepSeek-R1-like thinking servers."""
    name = "thinking_server" if request.param == "qwen3" else "thinking_r1_server"
    return request.param, request.getfixturevalue(name)


def _grammar(style: str) -> str:
    return think_grammar(opened=style == "r1")


def _chat(kind: str, server: LlamaServer, **kwargs: Any) -> Any:
    common = {"temperature": 0, "max_tokens": 48, **kwargs}
    if kind == "openai":
        return ChatOpenAICompatible(base_url=server.base_url, server="llama.cpp", **common)
    return ChatLlamafile(base_url=server.base_url, endpoint=kind, **common)


def _joined(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    out = chunks[0]
    for c in chunks[1:]:
        out = out + c  # type: ignore[assignment]
    return out


def _text(message: Any) -> str:
    return message.content if isinstance(message.content, str) else message.text


KINDS = ("openai", "chat", "completion")


@pytest.mark.parametrize("kind", KINDS)
def test_true_keeps_the_thoughts_apart(kind: str, served: tuple[str, LlamaServer]) -> None:
    style, server = served
    chat = _chat(kind, server, reasoning=True)
    message = chat.invoke(QUESTION, grammar=_grammar(style))
    thought = message.additional_kwargs.get("reasoning_content")
    assert thought and not any(t in thought for t in TAGS)
    assert _text(message).strip() and not any(t in _text(message) for t in TAGS)
    assert message.usage_metadata["output_token_details"]["reasoning"] > 0
    chunks = list(chat.stream(QUESTION, grammar=_grammar(style)))
    streamed = _joined(chunks)
    assert streamed.additional_kwargs["reasoning_content"] == thought
    assert _text(streamed) == _text(message)
    thinking = [c for c in chunks if c.additional_kwargs.get("reasoning_content")]
    answer = [c for c in chunks if c.content]
    assert chunks.index(thinking[-1]) < chunks.index(answer[0])  # the thought streams first


@pytest.mark.parametrize("kind", KINDS)
async def test_true_async(kind: str, served: tuple[str, LlamaServer]) -> None:
    style, server = served
    chat = _chat(kind, server, reasoning=True)
    message = await chat.ainvoke(QUESTION, grammar=_grammar(style))
    assert message.additional_kwargs["reasoning_content"]
    chunks = [c async for c in chat.astream(QUESTION, grammar=_grammar(style))]
    assert (
        _joined(chunks).additional_kwargs["reasoning_content"]
        == (message.additional_kwargs["reasoning_content"])
    )
    assert not any(t in _text(message) for t in TAGS)


@pytest.mark.parametrize("kind", KINDS)
def test_false_strips_the_thoughts_and_switches_thinking_off(
    kind: str, served: tuple[str, LlamaServer]
) -> None:
    style, server = served
    sent = Sent()
    chat = _chat(kind, server, reasoning=False, **sent.hooks())
    # r1 on /completion: the prompt closes the thought, so the model is not made to think
    grammar = None if (style, kind) == ("r1", "completion") else _grammar(style)
    message = chat.invoke(QUESTION, **({"grammar": grammar} if grammar else {}))
    assert "reasoning_content" not in message.additional_kwargs
    assert not any(t in _text(message) for t in TAGS)
    body = sent.bodies[-1]
    if kind == "completion":
        assert body["prompt"].endswith("</think>\n\n")  # the thought closed empty
    else:
        assert body["chat_template_kwargs"] == {"enable_thinking": False}


@pytest.mark.parametrize("kind", KINDS)
def test_none_leaves_the_output_as_it_is(kind: str, served: tuple[str, LlamaServer]) -> None:
    style, server = served
    message = _chat(kind, server).invoke(QUESTION, grammar=_grammar(style))
    if kind == "completion":  # the prompt pack's path: the text as the model wrote it
        assert "</think>" in _text(message)
        assert "reasoning_content" not in message.additional_kwargs
    else:  # the server parses the thoughts itself on /v1
        assert message.additional_kwargs["reasoning_content"]
        assert not any(t in _text(message) for t in TAGS)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reasoning", [True, None])
def test_tool_choice_any_gives_a_valid_call(
    kind: str, reasoning: Any, thinking_server: LlamaServer
) -> None:
    chat = _chat(kind, thinking_server, reasoning=reasoning, max_tokens=96)
    message = chat.bind_tools([GetWeather], tool_choice="any").invoke("Weather in Paris?")
    assert len(message.tool_calls) == 1
    assert message.tool_calls[0]["name"] == "GetWeather"
    GetWeather(**message.tool_calls[0]["args"])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reasoning", [True, False, None])
def test_structured_output_is_valid(
    kind: str, reasoning: Any, served: tuple[str, LlamaServer]
) -> None:
    _, server = served
    chat = _chat(kind, server, reasoning=reasoning, max_tokens=96)
    out = chat.with_structured_output(City, include_raw=True).invoke("Rome")
    assert isinstance(out["parsed"], City), out
    raw = out["raw"]
    if reasoning is False:
        assert "reasoning_content" not in raw.additional_kwargs


def test_earlier_reasoning_is_sent_back(thinking_server: LlamaServer) -> None:
    sent = Sent()
    chat = _chat("openai", thinking_server, reasoning=True, **sent.hooks())
    first = chat.invoke(QUESTION, grammar=think_grammar())
    chat.invoke([("human", QUESTION), first, ("human", "and the sun")], grammar=think_grammar())
    history = sent.bodies[-1]["messages"]
    assert history[1]["reasoning_content"] == first.additional_kwargs["reasoning_content"]


@pytest.mark.parametrize("face", ["llamafile", "openai"])
@pytest.mark.parametrize("reasoning", [True, False, None])
def test_llms_split_the_thoughts(
    face: str, reasoning: Any, served: tuple[str, LlamaServer]
) -> None:
    style, server = served
    kwargs = {"temperature": 0, "max_tokens": 48, "reasoning": reasoning}
    llm: Any = (
        Llamafile(base_url=server.base_url, **kwargs)
        if face == "llamafile"
        else OpenAICompatible(base_url=server.base_url, server="llama.cpp", **kwargs)
    )
    prompt = "<|im_start|>user\nthe moon<|im_end|>\n<|im_start|>assistant\n"
    prompt += "<think>\n" if style == "r1" else ""
    grammar = think_grammar(opened=style == "r1" and reasoning is not False)
    if reasoning is False and style == "r1":
        grammar = 'root ::= " " [a-z]{1,8} " " [a-z]{1,8}'  # the prompt closed the thought
    result = llm.generate([prompt], grammar=grammar).generations[0][0]
    info = result.generation_info or {}
    if reasoning is None:
        assert "</think>" in result.text and "reasoning_content" not in info
        return
    assert not any(t in result.text for t in TAGS) and result.text.strip()
    if reasoning:
        assert info["reasoning_content"] and info["usage"]
    else:
        assert "reasoning_content" not in info
    pieces = list(llm.stream(prompt, grammar=grammar))
    assert "".join(pieces) == result.text


async def test_llms_async(thinking_server: LlamaServer) -> None:
    prompt = "<|im_start|>user\nthe moon<|im_end|>\n<|im_start|>assistant\n"
    for llm in (
        Llamafile(base_url=thinking_server.base_url, temperature=0, reasoning=True),
        OpenAICompatible(base_url=thinking_server.base_url, temperature=0, reasoning=True),
    ):
        result = await llm.agenerate([prompt], grammar=think_grammar())
        generation = result.generations[0][0]
        assert generation.generation_info["reasoning_content"]
        assert "</think>" not in generation.text
        pieces = [p async for p in llm.astream(prompt, grammar=think_grammar())]
        assert "".join(pieces) == generation.text
