"""What langchain-community's own `Llamafile` / `LlamafileEmbeddings` tests check, on a real
llama.cpp server (our tests; theirs mock `requests.post`)."""

from __future__ import annotations

import inspect

import pytest
import requests

from langchain_localkit.embeddings import LlamafileEmbeddings
from langchain_localkit.llms import Llamafile
from langchain_localkit.testing.llama_server import LlamaServer, free_port
from tests.integration_tests.llamafile import _servers

COMMUNITY_OPTIONS = {
    "temperature": 0.8,
    "seed": 0,
    "top_k": 40,
    "top_p": 0.95,
    "min_p": 0.05,
    "n_predict": 8,
    "n_keep": 0,
    "tfs_z": 1.0,
    "typical_p": 1.0,
    "repeat_penalty": 1.1,
    "repeat_last_n": 64,
    "penalize_nl": True,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "mirostat": 0,
    "mirostat_tau": 5.0,
    "mirostat_eta": 0.1,
}
"""Community `Llamafile`'s generation parameters (its unit tests' `default_generation_params`)."""


def test_llamafile_call(tiny_server: LlamaServer) -> None:
    output = Llamafile(base_url=tiny_server.base_url, max_tokens=8).invoke("Say foo:")
    assert isinstance(output, str) and output


def test_llamafile_streaming(tiny_server: LlamaServer) -> None:
    llm = Llamafile(base_url=tiny_server.base_url, streaming=True, max_tokens=8)
    generator = llm.stream("Tell me about Roman dodecahedrons.")
    assert inspect.isgenerator(generator)
    tokens = list(generator)
    assert tokens and all(isinstance(t, str) for t in tokens)


def test_every_community_parameter_in_the_constructor_and_the_call(
    tiny_server: LlamaServer,
) -> None:
    llm = Llamafile(base_url=tiny_server.base_url, **COMMUNITY_OPTIONS)
    first = llm.invoke("Test prompt")
    assert first == llm.invoke("Test prompt")  # seed=0 fixes the sampling
    assert Llamafile(base_url=tiny_server.base_url).invoke("Test prompt", **COMMUNITY_OPTIONS) == (
        first
    )


def test_missing_server_raises_requests_connection_error() -> None:
    llm = Llamafile(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(requests.exceptions.ConnectionError):
        llm.invoke("Test prompt")


def test_llamafile_embeddings_documents_and_query() -> None:
    server = _servers.server("embeddings")
    embeddings = LlamafileEmbeddings(base_url=server.base_url)
    documents = embeddings.embed_documents(["Test text", "Test text"])
    query = embeddings.embed_query("Test text")
    assert len(documents) == 2 and len(documents[0]) == len(query) > 0
    assert documents[0] == pytest.approx(query, abs=1e-5)
