"""The timing callback reports Ollama runs with the same fields as llama.cpp runs.

`LlamaCpp` / `ChatLlamaCpp` run the tiny generated GGUF in process; `OllamaLLM` / `ChatOllama`
run against the transcript server over loopback. Each face is invoked, streamed and awaited
under one `TimingCallbackHandler`, and the records must carry the same figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_localkit import ChatLlamaCpp, ChatOllama, LlamaCpp, OllamaLLM
from langchain_localkit.callbacks import RunTimings, TimingCallbackHandler
from langchain_localkit.testing.ollama_server import OllamaTranscriptServer


@pytest.fixture
def server() -> Iterator[OllamaTranscriptServer]:
    with OllamaTranscriptServer() as running:
        yield running


def _runs(model: Any, prompt: str) -> list[RunTimings]:
    handler = TimingCallbackHandler()
    config: Any = {"callbacks": [handler]}
    model.invoke(prompt, config=config)
    assert len(list(model.stream(prompt, config=config))) > 1
    asyncio.run(model.ainvoke(prompt, config=config))
    assert len(handler.runs) == 3 and handler.failed_runs == 0
    return handler.runs


def _reported(run: RunTimings) -> set[str]:
    """The fields with a value (`load_ms` is only there on the run that loaded the model)."""
    return {k for k, v in run.to_dict().items() if v is not None} - {"load_ms"}


@pytest.mark.parametrize("kind", ["llm", "chat"])
def test_ollama_runs_report_the_fields_llamacpp_runs_report(
    kind: str, tiny_gguf_path: Path, server: OllamaTranscriptServer
) -> None:
    local_cls: Any = LlamaCpp if kind == "llm" else ChatLlamaCpp
    local = local_cls(model_path=str(tiny_gguf_path), max_tokens=8, temperature=0)
    ollama_cls: Any = OllamaLLM if kind == "llm" else ChatOllama
    remote = ollama_cls(model=server.model, base_url=server.url)
    server.reply(*["a b c d"] * 3)
    try:
        llamacpp_runs = _runs(local, "the moon")
    finally:
        local.unload()
    ollama_runs = _runs(remote, "the moon")

    fields = _reported(llamacpp_runs[0])
    assert {"prompt_tokens", "eval_tokens", "eval_ms", "ttft_ms", "total_ms"} <= fields
    for run in ollama_runs:
        assert _reported(run) == fields, run.to_dict()
        assert run.timings.source == "ollama" and run.kind == kind
        assert not run.measured  # Ollama's own figures, not the handler's clock
        assert run.timings.load_ms is not None  # Ollama reports load_duration every time
        assert run.usage is not None
        assert run.usage["output_tokens"] == run.timings.eval_tokens == 4
        assert run.usage["input_tokens"] == run.timings.prompt_tokens > 0
    for run in llamacpp_runs:
        assert _reported(run) == fields


def test_reports_have_the_same_lines(tiny_gguf_path: Path, server: OllamaTranscriptServer) -> None:
    def labels(handler: TimingCallbackHandler) -> list[str]:
        lines = [line.split("=")[0].strip() for line in handler.report().splitlines()]
        return [line for line in lines if not line.endswith("load time")]

    local, remote = TimingCallbackHandler(), TimingCallbackHandler()
    model = LlamaCpp(model_path=str(tiny_gguf_path), max_tokens=8, temperature=0)
    try:
        model.invoke("the sea", config={"callbacks": [local]})
    finally:
        model.unload()
    server.reply("one two three")
    OllamaLLM(model=server.model, base_url=server.url).invoke(
        "the sea", config={"callbacks": [remote]}
    )
    assert labels(local) == labels(remote)
    report = remote.report()
    assert "load time =      12.50 ms" in report  # Ollama's load_duration, in ms
    assert "eval time =      60.00 ms /     3 runs" in report
    assert "50.00 tokens per second" in report
