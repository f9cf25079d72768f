"""`profile` on real runtimes: llama-server (what a llamafile runs), llama.cpp and gpt4all.

The profile a face builds without loading or asking must agree with what the runtime then
does: the context llama.cpp loads with, the `n_ctx` llama-server reports.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_localkit import ChatGPT4All, ChatLlamaCpp, ChatLlamafile, ChatOpenAICompatible
from langchain_localkit._faces.profile import clear_profile_cache
from langchain_localkit.engines.http.server import display_model_name
from langchain_localkit.testing.llama_server import LlamaServer


@pytest.fixture(autouse=True)
def _fresh_profiles() -> Iterator[None]:
    clear_profile_cache()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "Unrecognized keys in model profile")
        yield
    clear_profile_cache()


# --- llama-server ---------------------------------------------------------------------------------
def test_llamafile_profile_after_first_use(tiny_server: LlamaServer) -> None:
    chat = ChatLlamafile(base_url=tiny_server.base_url, max_tokens=4, temperature=0)
    assert "max_input_tokens" not in (chat.profile or {})
    chat.invoke("Hi")
    assert chat.profile is not None
    assert chat.profile["max_input_tokens"] == 2048  # the server's -c 2048, one slot
    assert chat.profile["name"] == chat.engine.info().model_name
    assert chat.profile["reasoning_output"] is False  # the tiny ChatML template
    assert chat.profile["tool_calling"] and chat.profile["tool_choice"]


def test_llamafile_resolve_profile_on_request(tiny_server: LlamaServer) -> None:
    chat = ChatLlamafile(base_url=tiny_server.base_url, endpoint="chat")
    profile = chat.resolve_profile()
    assert profile is chat.profile and profile["max_input_tokens"] == 2048
    assert profile.get("image_inputs") in (False, None)  # no projector loaded
    again = ChatLlamafile(base_url=tiny_server.base_url, endpoint="chat")
    assert again.profile == profile  # cached for this process


async def test_llamafile_aresolve_profile(tiny_server: LlamaServer) -> None:
    chat = ChatLlamafile(base_url=tiny_server.base_url)
    assert (await chat.aresolve_profile())["max_input_tokens"] == 2048


def test_openai_compatible_on_llama_server(tiny_server: LlamaServer) -> None:
    chat = ChatOpenAICompatible(base_url=tiny_server.base_url + "/v1", max_tokens=4)
    chat.invoke("Hi")
    assert chat.profile is not None
    assert chat.profile["max_input_tokens"] == 2048  # /props wins over n_ctx_train
    assert chat.profile["name"] == display_model_name(chat.server_facts().models[0])
    assert chat.profile["reasoning_output"] is False


# --- in process -----------------------------------------------------------------------------------
@pytest.mark.parametrize("n_ctx", [None, 0, 1024])
def test_llamacpp_profile_is_the_context_it_loads(smollm2_path: Path, n_ctx: int | None) -> None:
    chat = ChatLlamaCpp(
        model_path=str(smollm2_path), n_ctx=n_ctx, n_batch=64, max_tokens=4, temperature=0
    )
    before = chat.profile
    assert before is not None and not chat.engine.is_loaded
    chat.invoke("Hi")
    assert chat.profile is before  # nothing more to learn
    assert before["max_input_tokens"] == chat.engine.n_ctx()
    chat.unload()


def test_gpt4all_profile(tiny_gguf_path: Path) -> None:
    pytest.importorskip("gpt4all")
    chat = ChatGPT4All(model=str(tiny_gguf_path), n_ctx=512, max_tokens=4, temp=0)
    assert chat.profile is not None and chat.profile["max_input_tokens"] == 512
    assert chat.invoke("Hi").content
    assert chat.profile["tool_calling"] and chat.profile["structured_output"] is False
    chat.unload()


async def test_llamafile_chat_endpoint_first_use(tiny_server: LlamaServer) -> None:
    chat = ChatLlamafile(base_url=tiny_server.base_url, endpoint="chat", max_tokens=4)
    chat.invoke("Hi")
    assert chat.profile is not None and chat.profile["max_input_tokens"] == 2048
    clear_profile_cache()
    other = ChatLlamafile(base_url=tiny_server.base_url, endpoint="chat", max_tokens=4)
    await other.ainvoke("Hi")
    assert other.profile == chat.profile
