"""`profile` of the server faces: declared without I/O, filled on first use or on request.

The servers are real HTTP servers on loopback (Ollama's and vLLM's / LM Studio's recorded
answers) or llama.cpp's answers through httpx's transport; each records every request, which
proves what construction and a call ask.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from langchain_localkit import (
    ChatLlamafile,
    ChatOllama,
    ChatOpenAICompatible,
    ModelNotPulledError,
    ServerUnavailableError,
)
from langchain_localkit.testing.loopback import free_port
from langchain_localkit.testing.ollama_server import OllamaTranscriptServer
from langchain_localkit.testing.openai_server import OpenAICompatServer
from tests.unit_tests.llamafile._fakes import FakeServer, completion_stream


@pytest.fixture
def ollama() -> Iterator[OllamaTranscriptServer]:
    models = ("llama3.1:8b", "gpt-oss:20b", "qwen3:4b", "nomic-embed-text:latest")
    with OllamaTranscriptServer(models) as running:
        yield running


@pytest.fixture(params=["vllm", "lmstudio"])
def standin(request: pytest.FixtureRequest) -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer(request.param, max_model_len=8192) as running:
        yield running


def shows(server: OllamaTranscriptServer) -> int:
    return len(server.requests_to("/api/show"))


# --- Ollama ---------------------------------------------------------------------------------------
def test_ollama_construction_asks_nothing(ollama: OllamaTranscriptServer) -> None:
    chat = ChatOllama(model="gpt-oss:20b", base_url=ollama.url)
    assert ollama.requests == []
    assert chat.profile == {
        "name": "gpt-oss:20b",
        "open_weights": True,
        "text_inputs": True,
        "text_outputs": True,
        "tool_choice": False,
        "structured_output": True,
        "temperature": True,
    }


def test_ollama_first_call_resolves_the_profile(ollama: OllamaTranscriptServer) -> None:
    chat = ChatOllama(model="gpt-oss:20b", base_url=ollama.url)
    chat.invoke("Hi")
    assert [r.path for r in ollama.requests] == ["/api/chat", "/api/show", "/api/ps"]
    assert chat.profile == {
        "name": "gpt-oss:20b",
        "open_weights": True,
        "max_input_tokens": 4096,  # what the server loaded it with (/api/ps)
        "text_inputs": True,
        "image_inputs": False,
        "reasoning_output": True,
        "reasoning_effort_levels": ["low", "medium", "high"],
        "text_outputs": True,
        "tool_calling": True,
        "tool_call_streaming": True,
        "tool_choice": False,
        "structured_output": True,
        "temperature": True,
    }
    chat.invoke("Again")
    assert shows(ollama) == 1  # once
    again = ChatOllama(model="gpt-oss:20b", base_url=ollama.url)
    assert again.profile == chat.profile  # cached: built whole, without a request
    again.invoke("Hi")
    assert shows(ollama) == 1


async def test_ollama_first_async_call(ollama: OllamaTranscriptServer) -> None:
    chat = ChatOllama(model="qwen3:4b", base_url=ollama.url, num_ctx=8192)
    assert chat.profile is not None and chat.profile["max_input_tokens"] == 8192
    chunks = [c async for c in chat.astream("Hi")]
    assert chunks and [r.path for r in ollama.requests] == ["/api/chat", "/api/show", "/api/ps"]
    assert chat.profile["reasoning_output"] is True and chat.profile["tool_calling"] is True
    assert "reasoning_effort_levels" not in chat.profile
    assert chat.profile["max_input_tokens"] == 8192  # the field wins


def test_ollama_modelfile_context(ollama: OllamaTranscriptServer) -> None:
    ollama.shown["llama3.1:8b"] = {"parameters": "num_ctx                        16384"}
    profile = ChatOllama(model="llama3.1:8b", base_url=ollama.url).resolve_profile()
    assert profile["max_input_tokens"] == 16384
    assert [r.path for r in ollama.requests] == ["/api/show"]  # no need to ask /api/ps


def test_ollama_embedding_model(ollama: OllamaTranscriptServer) -> None:
    profile = ChatOllama(model="nomic-embed-text", base_url=ollama.url).resolve_profile()
    assert profile["text_outputs"] is False and profile["tool_calling"] is False


def test_ollama_profile_you_pass_is_kept(ollama: OllamaTranscriptServer) -> None:
    mine = {"max_input_tokens": 1000}
    chat = ChatOllama(model="llama3.1:8b", base_url=ollama.url, profile=mine)
    chat.invoke("Hi")
    assert chat.profile == mine
    assert chat.resolve_profile()["tool_calling"] is True and chat.profile == mine


async def test_ollama_aresolve_profile(ollama: OllamaTranscriptServer) -> None:
    chat = ChatOllama(model="llama3.1:8b", base_url=ollama.url)
    profile = await chat.aresolve_profile()
    assert profile is chat.profile and profile["tool_calling"] is True


def test_ollama_resolve_errors(ollama: OllamaTranscriptServer) -> None:
    with pytest.raises(ModelNotPulledError, match="ollama pull mistral"):
        ChatOllama(model="mistral", base_url=ollama.url).resolve_profile()
    down = ChatOllama(model="llama3.1:8b", base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ServerUnavailableError, match="ollama serve"):
        down.resolve_profile()


def test_ollama_a_failed_lookup_never_breaks_the_call(
    ollama: OllamaTranscriptServer, caplog: pytest.LogCaptureFixture
) -> None:
    ollama.shown["llama3.1:8b"] = {"model_info": "not an object"}  # the client refuses it
    chat = ChatOllama(model="llama3.1:8b", base_url=ollama.url)
    declared = chat.profile
    with caplog.at_level(logging.DEBUG, logger="langchain_localkit.profile"):
        assert chat.invoke("Hi").content
    assert chat.profile is declared
    assert "Could not resolve the profile of ChatOllama" in caplog.text


# --- OpenAI-compatible servers -------------------------------------------------------------------
def test_openai_compatible_construction_asks_nothing(standin: OpenAICompatServer) -> None:
    chat = ChatOpenAICompatible(base_url=standin.base_url)
    assert standin.requests == []
    assert chat.profile == {
        "text_inputs": True,
        "text_outputs": True,
        "tool_calling": True,
        "tool_call_streaming": True,
        "tool_choice": True,
        "structured_output": False,
        "temperature": True,
    }


def test_openai_compatible_first_call(standin: OpenAICompatServer) -> None:
    chat = ChatOpenAICompatible(base_url=standin.base_url)
    chat.invoke("Hi")
    assert [r.path for r in standin.requests] == ["/v1/models", "/v1/chat/completions"]
    assert chat.profile is not None and chat.profile["name"] == standin.model
    assert chat.profile["open_weights"] is True
    if standin.flavor == "vllm":
        assert chat.profile["max_input_tokens"] == 8192  # max_model_len
    else:
        assert "max_input_tokens" not in chat.profile  # LM Studio's /v1/models does not say
    again = ChatOpenAICompatible(base_url=standin.base_url)
    assert again.profile == chat.profile and len(standin.requests) == 2


async def test_openai_compatible_first_async_call(standin: OpenAICompatServer) -> None:
    chat = ChatOpenAICompatible(base_url=standin.base_url)
    await chat.ainvoke("Hi")
    assert chat.profile is not None and chat.profile["name"] == standin.model
    assert (await chat.aresolve_profile()) is chat.profile
    assert len(standin.requests_to("/v1/models")) == 2  # on request: asked again


def test_openai_compatible_server_route_only(standin: OpenAICompatServer) -> None:
    chat = ChatOpenAICompatible(base_url=standin.base_url, server="lmstudio", constrain="server")
    assert chat.profile is not None and chat.profile["tool_choice"] is True
    no_tools = ChatOpenAICompatible(
        base_url=standin.base_url,
        server="vllm",
        constrain="server",
        server_options={"tools": False},
    )
    assert no_tools.profile is not None and no_tools.profile["tool_calling"] is False
    assert standin.requests == []


def test_openai_compatible_profile_you_pass_is_kept(standin: OpenAICompatServer) -> None:
    mine = {"max_input_tokens": 10}
    chat = ChatOpenAICompatible(base_url=standin.base_url, profile=mine)
    chat.invoke("Hi")
    assert chat.profile == mine and chat.resolve_profile()["name"] == standin.model


def test_openai_compatible_down() -> None:
    chat = ChatOpenAICompatible(base_url=f"http://127.0.0.1:{free_port()}/v1", server="vllm")
    with pytest.raises(ServerUnavailableError, match="vllm serve"):
        chat.resolve_profile()


# --- llama.cpp server (llamafile) -----------------------------------------------------------------
def test_llamafile_construction_asks_nothing_then_reads_props() -> None:
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream([" Hi"]))
    chat = ChatLlamafile(**fake.kwargs())
    assert fake.requests == []
    assert chat.profile == {
        "open_weights": True,
        "text_inputs": True,
        "image_inputs": False,
        "text_outputs": True,
        "tool_calling": True,
        "tool_call_streaming": True,
        "tool_choice": True,
        "structured_output": False,
        "temperature": True,
    }
    chat.invoke("Hi")
    assert [r.url.path for r in fake.requests] == ["/props", "/completion"]
    assert chat.profile is not None
    assert chat.profile["max_input_tokens"] == 1024
    assert chat.profile["name"] == "tiny-llama.gguf"
    assert chat.profile["reasoning_output"] is False  # ChatML without thought markers


def test_llamafile_resolve_profile_asks_again() -> None:
    fake = FakeServer()
    chat = ChatLlamafile(**fake.kwargs(), endpoint="chat")
    fake.props = {**fake.props, "modalities": {"vision": True}}
    profile = chat.resolve_profile()
    assert profile["image_inputs"] is True  # the chat endpoint sends images on
    assert [r.url.path for r in fake.requests] == ["/props"]


def test_llamafile_down() -> None:
    chat = ChatLlamafile(base_url=f"http://127.0.0.1:{free_port()}", connect_timeout=2)
    with pytest.raises(ServerUnavailableError):
        chat.resolve_profile()
