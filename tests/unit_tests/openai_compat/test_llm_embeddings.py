"""`OpenAICompatible` (`/v1/completions`) and `OpenAICompatibleEmbeddings` over loopback sockets."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from langchain_localkit._core.errors import ServerError
from langchain_localkit.embeddings.openai_compat import OpenAICompatibleEmbeddings
from langchain_localkit.llms.openai_compat import OpenAICompatible
from langchain_localkit.testing.openai_server import DEFAULT_ANSWER, OpenAICompatServer, Reply

COMPLETIONS = "/v1/completions"
EMBEDDINGS = "/v1/embeddings"


@pytest.fixture(scope="module", params=["vllm", "lmstudio"])
def standin(request: pytest.FixtureRequest) -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer(request.param, models=["qwen3-4b", "nomic-embed-text"]) as running:
        yield running


@pytest.fixture
def server(standin: OpenAICompatServer) -> OpenAICompatServer:
    """The module's stand-in with no recorded requests and no queued replies."""
    return standin.reset()


def llm_on(server: OpenAICompatServer, /, **kwargs: Any) -> OpenAICompatible:
    """A completion model on the stand-in (plain HTTP: no CA bundle to load per client)."""
    return OpenAICompatible(base_url=server.base_url, **kwargs)


def embeddings_on(server: OpenAICompatServer, /, **kwargs: Any) -> OpenAICompatibleEmbeddings:
    """Embeddings on the stand-in."""
    return OpenAICompatibleEmbeddings(base_url=server.base_url, **kwargs)


# --- OpenAICompatible ---------------------------------------------------------------------------
def test_invoke_sends_the_raw_prompt_to_completions(server: OpenAICompatServer) -> None:
    llm = llm_on(server)
    assert llm.invoke("Once upon a time") == DEFAULT_ANSWER
    body = server.last(COMPLETIONS).body
    assert body["prompt"] == "Once upon a time"  # no chat template, no messages
    assert "messages" not in body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "qwen3-4b"
    assert set(body) == {"prompt", "stream", "stream_options", "model", "max_tokens"}
    assert server.requests_to("/v1/chat/completions") == []


def test_stream_yields_each_piece(server: OpenAICompatServer) -> None:
    server.reply("red green blue")
    pieces = list(llm_on(server).stream("Colours:"))
    assert pieces == ["red", " green", " blue", ""]  # the last carries the generation info


def test_usage_and_timings_in_generation_info(server: OpenAICompatServer) -> None:
    server.reply("a b c d")
    result = llm_on(server).generate(["one two three"])
    generation = result.generations[0][0]
    assert generation.text == "a b c d"
    info = generation.generation_info
    assert info is not None
    assert info["usage"] == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
    assert info["finish_reason"] == "stop"
    assert info["model_name"] == "qwen3-4b"
    assert info["timings"]["source"] == "measured"
    assert info["timings"]["total_ms"] >= info["timings"]["ttft_ms"] > 0


def test_options_are_sent_and_length_reported(server: OpenAICompatServer) -> None:
    llm = llm_on(server, temperature=0.3, seed=5, max_tokens=3)
    result = llm.generate(["Hi"], stop=["never"], repeat_penalty=1.1)
    body = server.last(COMPLETIONS).body
    assert (body["temperature"], body["seed"], body["max_tokens"]) == (0.3, 5, 3)
    assert body["stop"] == ["never"]
    assert body["repetition_penalty" if server.flavor == "vllm" else "repeat_penalty"] == 1.1
    assert "top_p" not in body
    generation = result.generations[0][0]
    assert generation.text == "The first man"
    assert generation.generation_info is not None
    assert generation.generation_info["finish_reason"] == "length"


def test_model_named_and_unknown(server: OpenAICompatServer) -> None:
    llm_on(server, model="nomic-embed-text").invoke("Hi")
    assert server.last(COMPLETIONS).body["model"] == "nomic-embed-text"
    with pytest.raises(ServerError, match="missing-model"):
        llm_on(server, model="missing-model").invoke("Hi")


def test_unknown_call_option(server: OpenAICompatServer) -> None:
    with pytest.raises(TypeError, match="n_predict_tokens"):
        llm_on(server).invoke("Hi", n_predict_tokens=3)
    assert server.requests_to(COMPLETIONS) == []


async def test_ainvoke_and_astream(server: OpenAICompatServer) -> None:
    llm = llm_on(server)
    server.reply("async text")
    assert await llm.ainvoke("Hi") == "async text"
    server.reply("one two")
    assert [piece async for piece in llm.astream("Hi")] == ["one", " two", ""]


async def test_abatch_sends_the_prompts_at_once(server: OpenAICompatServer) -> None:
    server.reply(*(Reply(text="x y z", delay=0.05) for _ in range(3)))
    llm = llm_on(server)
    started = time.perf_counter()
    out = await llm.abatch(["first", "second", "third"])
    elapsed = time.perf_counter() - started
    assert out == ["x y z"] * 3
    assert sorted(r.body["prompt"] for r in server.requests_to(COMPLETIONS)) == [
        "first",
        "second",
        "third",
    ]
    # each reply takes 6 delays (3 words, finish, usage, [DONE]): ~0.3 s; in turn ~0.9 s
    assert elapsed < 0.7


def test_batch(server: OpenAICompatServer) -> None:
    server.reply("A", "B")
    out = llm_on(server).batch(["p1", "p2"])
    assert sorted(out) == ["A", "B"]


def test_a_preset_without_completions_is_refused(server: OpenAICompatServer) -> None:
    llm = llm_on(server, server="llamafile")
    with pytest.raises(ValueError, match=r"llamafile \(older server\) has no /v1/completions"):
        llm.invoke("Hi")
    assert server.requests_to(COMPLETIONS) == []
    detected = llm_on(server, server_options={"completions": False})
    title = "vLLM" if server.flavor == "vllm" else "LM Studio"
    with pytest.raises(ValueError, match=f"{title} has no /v1/completions; use"):
        detected.invoke("Hi")
    assert server.requests_to(COMPLETIONS) == []


async def test_a_preset_without_completions_is_refused_async(server: OpenAICompatServer) -> None:
    llm = llm_on(server, server="llamafile")
    with pytest.raises(ValueError, match="has no /v1/completions"):
        await llm.ainvoke("Hi")


# --- OpenAICompatibleEmbeddings -----------------------------------------------------------------
TEXTS = ["Paris is in France.", "The Moon orbits Earth.", "Cats sleep.", "Rain falls.", "Hi"]


def test_vectors_are_the_servers_in_order(server: OpenAICompatServer) -> None:
    emb = embeddings_on(server)
    vectors = emb.embed_documents(TEXTS)
    assert len(vectors) == len(TEXTS)
    for text, vector in zip(TEXTS, vectors, strict=True):
        assert vector == pytest.approx(server.embed(text))
        assert math.fsum(x * x for x in vector) == pytest.approx(1.0)
    assert emb.embed_query("Cats sleep.") == pytest.approx(vectors[2])
    assert len(server.requests_to(EMBEDDINGS)) == 2  # one request per call with batch_size 32


def test_batch_size_splits_requests(server: OpenAICompatServer) -> None:
    emb = embeddings_on(server, batch_size=2)
    vectors = emb.embed_documents(TEXTS)
    inputs = [r.body["input"] for r in server.requests_to(EMBEDDINGS)]
    assert inputs == [TEXTS[0:2], TEXTS[2:4], TEXTS[4:5]]
    assert vectors == [pytest.approx(server.embed(t)) for t in TEXTS]
    assert emb.embed_documents([]) == []
    assert len(server.requests_to(EMBEDDINGS)) == 3


def test_model_is_sent(server: OpenAICompatServer) -> None:
    embeddings_on(server).embed_query("Hi")
    assert server.last(EMBEDDINGS).body["model"] == "qwen3-4b"  # the server's first
    embeddings_on(server, model="nomic-embed-text").embed_query("x")
    assert server.last(EMBEDDINGS).body["model"] == "nomic-embed-text"
    with pytest.raises(ServerError, match="nope-embed"):
        embeddings_on(server, model="nope-embed").embed_query("x")


async def test_async_embeddings(server: OpenAICompatServer) -> None:
    emb = embeddings_on(server, batch_size=3)
    vectors = await emb.aembed_documents(TEXTS)
    assert vectors == [pytest.approx(server.embed(t)) for t in TEXTS]
    assert await emb.aembed_query("Rain falls.") == pytest.approx(server.embed("Rain falls."))
    assert [len(r.body["input"]) for r in server.requests_to(EMBEDDINGS)] == [3, 2, 1]


class RawVectors:
    """A server whose `/v1/embeddings` answers fixed, unnormalised vectors, last index first."""

    def __init__(self) -> None:
        outer = self
        self.bodies: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _json(self, status: int, data: Any) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                if self.path == "/v1/models":
                    self._json(200, {"data": [{"id": "raw", "owned_by": "vllm"}]})
                else:
                    self._json(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                outer.bodies.append(body)
                data = [
                    {"index": i, "object": "embedding", "embedding": [3.0 * (i + 1), 4.0 * (i + 1)]}
                    for i in range(len(body["input"]))
                ]
                self._json(200, {"object": "list", "data": data[::-1]})

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,))
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host!s}:{port}/v1"

    def __enter__(self) -> RawVectors:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._thread.join()
        self._httpd.server_close()


def test_vectors_are_scaled_to_unit_length_and_put_in_input_order() -> None:
    with RawVectors() as raw:
        unit = OpenAICompatibleEmbeddings(base_url=raw.url).embed_documents(["a", "b"])
        plain = OpenAICompatibleEmbeddings(base_url=raw.url, normalize=False).embed_documents(
            ["a", "b"]
        )
    assert unit == [pytest.approx([0.6, 0.8]), pytest.approx([0.6, 0.8])]
    assert plain == [[3.0, 4.0], [6.0, 8.0]]  # index order, though the server sent 1 first
    assert raw.bodies[0]["input"] == ["a", "b"] and raw.bodies[0]["model"] == "raw"
