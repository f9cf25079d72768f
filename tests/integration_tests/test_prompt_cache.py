"""Prompt caches on real models: `cache_read` in process, over llama-server, and across processes.

SmolLM2-135M-Instruct in llama.cpp and in llama-server (`cache_prompt`); a fresh child process
per call for the persistent cache on disk. Times are printed, not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp
from langchain_localkit.chat_models.llamafile import ChatLlamafile
from langchain_localkit.testing.corpus import DOCUMENTS
from langchain_localkit.testing.llama_server import LlamaServer

pytest.importorskip("llama_cpp")

NOTES = [f"[{d.metadata['source']}] {d.page_content}" for d in DOCUMENTS]
SYSTEM_SHORT = "You answer from these notes, in one sentence.\n\n" + "\n\n".join(NOTES[:8])
SYSTEM_LONG = (
    "You answer from these notes, in one sentence, and name the note you used.\n\n"
    + "\n\n".join(NOTES)
    + "\n\nThe first notes again, for reference:\n\n"
    + "\n\n".join(NOTES[:11])
)  # about 1,500 tokens of SmolLM2


def read(msg: Any) -> tuple[int, int]:
    """(input_tokens, cache_read) of a reply."""
    assert isinstance(msg, AIMessage) and msg.usage_metadata is not None
    usage = msg.usage_metadata
    return usage["input_tokens"], usage.get("input_token_details", {}).get("cache_read", 0)


@pytest.mark.timeout(600)
def test_chat_llamacpp_reports_the_prefix_it_reused(smollm2_path: Path) -> None:
    chat = ChatLlamaCpp(model_path=str(smollm2_path), n_ctx=2048, temperature=0, max_tokens=8)
    first = chat.invoke([SystemMessage(SYSTEM_SHORT), HumanMessage("When did Apollo 11 land?")])
    again = chat.invoke([SystemMessage(SYSTEM_SHORT), HumanMessage("When did Apollo 11 land?")])
    other = chat.invoke([SystemMessage(SYSTEM_SHORT), HumanMessage("What is sourdough?")])
    n, cached = read(first)
    assert cached == 0
    assert read(again) == (n, n - 1)  # the whole prompt but its last token, which is re-run
    n_other, cached_other = read(other)
    assert n_other != n  # input_tokens stays the whole prompt
    assert n - 40 < cached_other < n_other
    print(f"\nin process: {n} tokens, then {cached_other} read from the context's cache")


def _llamafile_reads_the_server_cache(server: LlamaServer, endpoint: str) -> None:
    chat = ChatLlamafile(
        base_url=server.base_url, endpoint=endpoint, temperature=0, max_tokens=8, seed=3
    )
    messages = [SystemMessage(SYSTEM_SHORT), HumanMessage(f"What did Apollo 11 do? ({endpoint})")]
    first = chat.invoke(messages)
    second = chat.invoke(messages)
    n, _ = read(first)
    n2, cached = read(second)
    assert n2 == n  # the whole prompt, cached or not
    assert n // 2 < cached < n  # the server's slot kept the prompt (`cache_prompt`)
    timings = second.response_metadata["timings"]
    assert timings["cached_tokens"] == cached
    assert timings["prompt_tokens"] + cached == n


@pytest.mark.timeout(600)
def test_chat_llamafile_reports_the_server_s_cache_on_completion(
    smollm2_server: LlamaServer,
) -> None:
    _llamafile_reads_the_server_cache(smollm2_server, "completion")


@pytest.mark.timeout(600)
def test_chat_llamafile_reports_the_server_s_cache_on_v1(smollm2_server: LlamaServer) -> None:
    _llamafile_reads_the_server_cache(smollm2_server, "chat")


CHILD = textwrap.dedent(
    """
    import json, sys, time
    from langchain_core.messages import HumanMessage, SystemMessage
    from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp

    model, root, system = sys.argv[1:4]
    chat = ChatLlamaCpp(
        model_path=model, n_ctx=2048, temperature=0, max_tokens=16, prompt_cache=root
    )
    chat.engine.llama  # load first: the figures are the call's
    msg = chat.invoke([SystemMessage(system), HumanMessage("When did Apollo 11 land?")])
    print(json.dumps({
        "content": msg.content,
        "usage": msg.usage_metadata,
        "ttft_ms": msg.response_metadata["timings"]["ttft_ms"],
    }))
    """
)


def _child(model: Path, root: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), str(root), SYSTEM_LONG],
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.timeout(1200)
def test_a_new_process_restores_a_long_system_prompt(smollm2_path: Path, tmp_path: Path) -> None:
    cold = _child(smollm2_path, tmp_path)
    warm = _child(smollm2_path, tmp_path)
    assert cold["content"] and warm["content"] == cold["content"]
    n = cold["usage"]["input_tokens"]
    assert n >= 1450
    assert "input_token_details" not in cold["usage"]
    assert warm["usage"]["input_tokens"] == n
    assert warm["usage"]["input_token_details"]["cache_read"] >= 1400
    assert len(list(tmp_path.glob("*/*.session"))) == 1
    print(
        f"\n{n}-token prompt in a new process: TTFT cold {cold['ttft_ms']:.0f} ms, "
        f"warm {warm['ttft_ms']:.0f} ms ({warm['usage']['input_token_details']['cache_read']} "
        "tokens restored from disk)"
    )
