"""Fidelity over HTTP: `ChatLlamafile` (our rendering, `/completion`) answers what llama-server
answers on its own `/v1/chat/completions` (rendered by the server with the GGUF's template,
`--jinja`), and `Llamafile` what `/completion` answers.

On SmolLM2-135M-Instruct, greedy, the package's defaults; `cache_prompt` off on both sides, so
each request is evaluated from an empty cache (llama.cpp is not batch-invariant).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from langchain_localkit import ChatLlamafile, Llamafile
from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests import fidelity

pytestmark = pytest.mark.smollm2

GREEDY = {"temperature": 0, "max_tokens": fidelity.MAX_TOKENS, "cache_prompt": False}
"""Both sides: greedy, each request evaluated from an empty cache."""


def _server_chat(server: LlamaServer, messages: list[dict[str, str]], *, stream: bool) -> str:
    body: dict[str, Any] = {"messages": messages, **GREEDY, "stream": stream}
    url = f"{server.base_url}/v1/chat/completions"
    if not stream:
        response = httpx.post(url, json=body, timeout=120)
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])
    text = ""
    with httpx.stream("POST", url, json=body, timeout=120) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            for choice in json.loads(line[5:]).get("choices", []):
                text += choice.get("delta", {}).get("content") or ""
    return text


@fidelity.by_conversation
def test_chat_equals_the_servers_own_chat_endpoint(
    smollm2_server: LlamaServer, messages: list[dict[str, str]]
) -> None:
    chat = ChatLlamafile(base_url=smollm2_server.base_url, **GREEDY)
    expected = _server_chat(smollm2_server, messages, stream=True)
    assert fidelity.invoked(chat, messages) == expected
    assert fidelity.streamed(chat, messages) == expected


@fidelity.by_conversation
def test_chat_without_streaming_equals_the_servers_reply(
    smollm2_server: LlamaServer, messages: list[dict[str, str]]
) -> None:
    """`streaming=False` sends one plain request and gets the server's non-streamed reply.

    A named difference between the server's two modes: when max_tokens cuts a character in
    half, its streamed reply drops the whole last token, its non-streamed reply only the
    partial character. Each of our modes answers as the server's same mode does.
    """
    chat = ChatLlamafile(base_url=smollm2_server.base_url, streaming=False, **GREEDY)
    assert fidelity.invoked(chat, messages) == _server_chat(smollm2_server, messages, stream=False)


@fidelity.by_prompt
def test_llm_equals_completion(smollm2_server: LlamaServer, prompt: str) -> None:
    llm = Llamafile(base_url=smollm2_server.base_url, **GREEDY)
    response = httpx.post(
        f"{smollm2_server.base_url}/completion",
        json={
            "prompt": prompt,
            "temperature": 0,
            "n_predict": fidelity.MAX_TOKENS,
            "cache_prompt": False,
        },
        timeout=120,
    )
    response.raise_for_status()
    assert llm.invoke(prompt) == response.json()["content"]  # streamed vs not: see above
    plain = llm.model_copy(update={"streaming": False})
    assert plain.invoke(prompt) == response.json()["content"].rstrip("\ufffd")
