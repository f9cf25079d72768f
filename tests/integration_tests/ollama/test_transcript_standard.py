"""The langchain-tests standard integration suites against the transcript server.

The real `ollama` client and langchain-ollama's code talk to `OllamaTranscriptServer` over a
loopback socket, so every standard test that checks the integration itself (requests, stream
handling, usage metadata on invoke and stream, stop sequences, structured output through
Ollama's `format`, message histories with tool results, async, batch, events) runs here.

What the server cannot honestly stand in for is a model's decision: the tests that need the
model to choose to call a tool are xfailed with that reason. Tool calls on the wire are tested
with scripted transcripts in tests/unit_tests/ollama, and the live suite
(test_live_standard.py) runs these tests on a real Ollama.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests

from langchain_localkit.chat_models.ollama import ChatOllama
from langchain_localkit.embeddings.ollama import OllamaEmbeddings
from langchain_localkit.testing.ollama_server import OllamaTranscriptServer
from tests.integration_tests._standard import TOOL_CALLING, KnownFailures, xfail

_server: OllamaTranscriptServer | None = None

MODEL_DECIDES = (
    "the transcript server replays scripted answers and never decides to call a tool "
    "by itself; tool calls on the wire are tested with scripted replies in "
    "tests/unit_tests/ollama, and by this test on a live Ollama (test_live_standard.py)"
)


@pytest.fixture(autouse=True, scope="module")
def transcript_server() -> Iterator[OllamaTranscriptServer]:
    global _server
    with OllamaTranscriptServer() as server:
        _server = server
        yield server
    _server = None


def _url() -> str:
    assert _server is not None, "the transcript_server fixture starts the server"
    return _server.url


class TestChatOllamaTranscript(KnownFailures, ChatModelIntegrationTests):
    chat_model_class = ChatOllama
    has_tool_choice = False
    xfails = xfail(
        MODEL_DECIDES,
        *TOOL_CALLING,
        "test_bind_runnables_as_tools",
        "test_tool_calling_with_no_arguments",
        "test_agent_loop",
        "test_unicode_tool_call_integration",
        strict=True,
    )

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "llama3.1:8b", "base_url": _url(), "temperature": 0}


class TestOllamaEmbeddingsTranscript(EmbeddingsIntegrationTests):
    embeddings_class = OllamaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "nomic-embed-text", "base_url": _url()}
