"""Server presets and detection: the pure tables, then `server_facts()` over loopback sockets.

Detection runs against the vLLM / LM Studio stand-in in both flavours and against a tiny
generic server written here (an `owned_by` nobody claims, optional probe endpoints and
`Server` header), so each step of `_facts_flow` is seen on the wire.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from langchain_localkit._openai_compat import put
from langchain_localkit.chat_models.openai_compat import ChatOpenAICompatible
from langchain_localkit.engines.http.servers import (
    ALIASES,
    PRESETS,
    PROBES,
    ServerPreset,
    classify,
    context_length,
    model_ids,
    preset,
)
from langchain_localkit.engines.openai_compat import OpenAICompatEngine, split_base_url
from langchain_localkit.testing.openai_server import OpenAICompatServer

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module", params=["vllm", "lmstudio"])
def standin(request: pytest.FixtureRequest) -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer(request.param, models=["first-model", "second-model"]) as running:
        yield running


@pytest.fixture
def server(standin: OpenAICompatServer) -> OpenAICompatServer:
    """The module's stand-in with no recorded requests (no test here queues replies)."""
    return standin.reset()


class TinyServer:
    """A generic OpenAI-compatible server: fixed JSON answers per GET path, 404 elsewhere."""

    def __init__(self, routes: Mapping[str, Any], server_header: str = "TinyHTTP") -> None:
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = server_header
            sys_version = ""

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                outer.paths.append(self.path)
                found = self.path in routes
                payload = json.dumps(routes[self.path] if found else {"error": "nope"}).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,))

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> TinyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._thread.join()
        self._httpd.server_close()


UNCLAIMED = {"object": "list", "data": [{"id": "mystery-7b", "owned_by": "someone"}]}


# --- the tables ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("LM-Studio", "lmstudio"),
        (" lm_studio ", "lmstudio"),
        ("llama-server", "llama.cpp"),
        ("LLAMACPP", "llama.cpp"),
        ("kobold", "koboldcpp"),
        ("mlx-lm", "mlx"),
        ("openai", "generic"),
        ("vllm", "vllm"),
    ],
)
def test_preset_names_and_aliases(name: str, expected: str) -> None:
    assert preset(name) is PRESETS[expected]


def test_every_alias_points_to_a_preset() -> None:
    for alias, name in ALIASES.items():
        assert preset(alias).name == name


def test_unknown_preset_lists_them_and_suggests_the_closest() -> None:
    with pytest.raises(ValueError, match="Unknown server 'vlm'") as info:
        preset("vlm")
    assert "Did you mean 'vllm'?" in str(info.value)
    assert "'lmstudio'" in str(info.value)  # the presets are listed
    with pytest.raises(ValueError, match="Unknown server") as info:
        preset("zzzzzzzz")
    assert "Did you mean" not in str(info.value)


def test_replace_changes_fields_and_rejects_unknown_options() -> None:
    changed = PRESETS["lmstudio"].replace(tools=False, reasoning_fields=["thinking"])
    assert changed.tools is False and changed.reasoning_fields == ("thinking",)
    assert PRESETS["lmstudio"].tools is True  # the table is untouched
    with pytest.raises(ValueError, match=r"Unknown server option\(s\) \['tool'\]") as info:
        PRESETS["vllm"].replace(tool=False)
    assert "'tools'" in str(info.value)
    assert "'name'" not in str(info.value)  # the name is not an option


def test_unknown_server_option_fails_at_construction() -> None:
    with pytest.raises(ValidationError, match="Unknown server option"):
        ChatOpenAICompatible(base_url="http://127.0.0.1:9", server_options={"tool": False})
    with pytest.raises(ValidationError, match="Unknown server option"):
        ChatOpenAICompatible(base_url="http://127.0.0.1:9", server="vllm", server_options={"x": 1})
    with pytest.raises(ValueError, match="Unknown server option"):
        OpenAICompatEngine("http://127.0.0.1:9", server="vllm", server_options={"x": 1})
    with pytest.raises(ValidationError, match="Did you mean 'lmstudio'"):
        ChatOpenAICompatible(server="lmstudo")


@pytest.mark.parametrize("name", [p.name for p in PRESETS.values() if p.owned_by])
def test_classify_names_each_preset_by_owned_by(name: str) -> None:
    for owner in PRESETS[name].owned_by:
        models = {"data": [{"id": "m", "owned_by": owner.upper()}]}
        assert classify(models) == name


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("llama.cpp", "llama.cpp"),
        ("KoboldCpp/1.80", "koboldcpp"),
        ("LocalAI", "localai"),
        ("uvicorn", None),
    ],
)
def test_classify_by_the_server_header(header: str, expected: str | None) -> None:
    assert classify(UNCLAIMED, {"server": header}) == expected


def test_classify_owned_by_wins_over_the_header_and_odd_answers_name_nothing() -> None:
    assert classify({"data": [{"owned_by": "vllm"}]}, {"server": "llama"}) == "vllm"
    assert classify(UNCLAIMED) is None
    assert classify({"data": "oops"}) is None
    assert classify([1, 2]) is None
    assert classify({"data": [{"owned_by": 3}, "x"]}) is None


@pytest.mark.parametrize(
    ("given", "root"),
    [
        ("http://localhost:8000/v1", "http://localhost:8000"),
        ("http://localhost:8000/v1/", "http://localhost:8000"),
        ("http://localhost:8000/", "http://localhost:8000"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://host/proxy/v1", "http://host/proxy"),
        ("http://host/v10", "http://host/v10"),
    ],
)
def test_split_base_url(given: str, root: str) -> None:
    assert split_base_url(given) == root


def test_model_ids_shapes() -> None:
    assert model_ids({"data": [{"id": "a"}, {"id": "b"}]}) == ("a", "b")
    assert model_ids({"models": [{"model": "x:latest"}, {"name": "no id"}]}) == ("x:latest",)
    assert model_ids({"data": [{"id": 3}, "junk", {"id": "ok"}]}) == ("ok",)
    assert model_ids({"object": "list"}) == ()
    assert model_ids("not json") == ()


def test_context_length_shapes() -> None:
    vllm = {"data": [{"id": "a", "max_model_len": 8192}, {"id": "b", "max_model_len": 2048}]}
    assert context_length(vllm) == 8192
    assert context_length(vllm, "b") == 2048
    assert context_length(vllm, "missing") is None
    assert context_length({"data": [{"id": "m", "context_length": 4096}]}) == 4096
    assert context_length({"data": [{"id": "m", "max_context_length": 1024}]}) == 1024
    llama = {"data": [{"id": "m", "meta": {"n_ctx_train": 131072}}]}
    assert context_length(llama) == 131072
    assert context_length({"data": [{"id": "m", "meta": {"n_ctx": 512, "n_ctx_train": 9}}]}) == 512
    assert context_length({"data": [{"id": "m", "max_model_len": 0, "context_length": 7}]}) == 7
    assert context_length({"data": [{"id": "m", "max_model_len": "big"}]}) is None
    assert context_length({"data": [{"id": "m"}]}) is None
    assert context_length(None) is None


def test_put_sets_plain_and_dotted_fields() -> None:
    body: dict[str, Any] = {"structured_outputs": {"json": {"type": "object"}}}
    put(body, "structured_outputs.grammar", "root ::= [a]")
    put(body, "grammar", "g")
    put(body, "a.b.c", 1)
    assert body == {
        "structured_outputs": {"json": {"type": "object"}, "grammar": "root ::= [a]"},
        "grammar": "g",
        "a": {"b": {"c": 1}},
    }


# --- detection over sockets ---------------------------------------------------------------------
def test_detection_names_the_flavour_from_owned_by(server: OpenAICompatServer) -> None:
    chat = ChatOpenAICompatible(base_url=server.base_url)
    facts = chat.server_facts()
    assert facts.preset.name == server.flavor
    assert facts.detected_by == "owned_by"
    assert facts.models == ("first-model", "second-model")
    if server.flavor == "vllm":
        assert facts.context_length == server.max_model_len == 4096
    else:  # LM Studio's /v1/models entries carry no context length
        assert facts.context_length is None
    assert chat.server_facts() is facts  # asked once
    assert [r.path for r in server.requests] == ["/v1/models"]  # no probes after owned_by
    assert chat.server_facts(refresh=True) is not facts
    assert [r.path for r in server.requests] == ["/v1/models", "/v1/models"]


async def test_async_detection(server: OpenAICompatServer) -> None:
    facts = await ChatOpenAICompatible(base_url=server.base_url).aserver_facts()
    assert (facts.preset.name, facts.detected_by) == (server.flavor, "owned_by")
    assert facts.models[0] == "first-model"


def test_explicit_server_skips_classification(server: OpenAICompatServer) -> None:
    other = "lmstudio" if server.flavor == "vllm" else "vllm"
    chat = ChatOpenAICompatible(base_url=server.base_url, server=other, repeat_penalty=1.1)
    facts = chat.server_facts()
    assert facts.preset.name == other and facts.detected_by == "given"
    assert facts.models == ("first-model", "second-model")  # the models are still read
    chat.invoke("Hi")
    body = server.last(CHAT).body
    # the given preset decides the field names, whatever the server says it is
    field = "repetition_penalty" if other == "vllm" else "repeat_penalty"
    unused = "repeat_penalty" if other == "vllm" else "repetition_penalty"
    assert body[field] == 1.1 and unused not in body


def test_server_options_are_applied(server: OpenAICompatServer) -> None:
    chat = ChatOpenAICompatible(
        base_url=server.base_url, server_options={"tools": False, "reasoning_fields": ["x"]}
    )
    facts = chat.server_facts()
    assert facts.preset.name == server.flavor and facts.detected_by == "owned_by"
    assert facts.preset.tools is False
    assert facts.preset.reasoning_fields == ("x",)
    assert PRESETS[server.flavor].tools is True


@pytest.mark.parametrize("suffix", ["/v1", "/v1/", "", "/"])
def test_base_url_with_or_without_v1(server: OpenAICompatServer, suffix: str) -> None:
    chat = ChatOpenAICompatible(base_url=server.url + suffix)
    assert chat.engine.base_url == server.url
    assert chat.invoke("Hi").content
    assert [r.path for r in server.requests] == ["/v1/models", CHAT]


def test_no_model_asks_for_the_servers_first(server: OpenAICompatServer) -> None:
    ChatOpenAICompatible(base_url=server.base_url).invoke("Hi")
    assert server.last(CHAT).body["model"] == "first-model"
    ChatOpenAICompatible(base_url=server.base_url, model="second-model").invoke("Hi")
    assert server.last(CHAT).body["model"] == "second-model"
    ChatOpenAICompatible(base_url=server.base_url).invoke("Hi", model="second-model")
    assert server.last(CHAT).body["model"] == "second-model"


def test_generic_server_falls_through_every_probe() -> None:
    with TinyServer({"/v1/models": UNCLAIMED}) as tiny:
        facts = ChatOpenAICompatible(base_url=tiny.url + "/v1").server_facts()
    assert facts.preset.name == "generic" and facts.detected_by == "default"
    assert facts.models == ("mystery-7b",)
    assert tiny.paths == ["/v1/models", *(path for path, _, _ in PROBES)]


@pytest.mark.parametrize(("path", "key", "name"), PROBES)
def test_a_probe_names_the_server(path: str, key: str, name: str) -> None:
    with TinyServer({"/v1/models": UNCLAIMED, path: {key: "1.0"}}) as tiny:
        facts = ChatOpenAICompatible(base_url=tiny.url).server_facts()
    assert (facts.preset.name, facts.detected_by) == (name, path)
    before = [p for p, _, _ in PROBES[: PROBES.index((path, key, name)) + 1]]
    assert tiny.paths == ["/v1/models", *before]  # probing stops at the first answer


def test_a_probe_answer_without_its_key_is_not_enough() -> None:
    routes = {"/v1/models": UNCLAIMED, "/api/version": {"name": "not ollama"}}
    with TinyServer(routes) as tiny:
        facts = ChatOpenAICompatible(base_url=tiny.url).server_facts()
    assert facts.preset.name == "generic"


def test_the_server_header_names_the_server_over_sockets() -> None:
    with TinyServer({"/v1/models": UNCLAIMED}, server_header="KoboldCpp/1.80") as tiny:
        facts = ChatOpenAICompatible(base_url=tiny.url).server_facts()
    assert (facts.preset.name, facts.detected_by) == ("koboldcpp", "Server header")
    assert tiny.paths == ["/v1/models"]


def test_a_server_without_embeddings_says_so() -> None:
    from langchain_localkit import OpenAICompatibleEmbeddings

    with TinyServer({"/v1/models": UNCLAIMED}) as tiny:
        emb = OpenAICompatibleEmbeddings(base_url=tiny.url, server="mlx")
        with pytest.raises(ValueError, match=r"mlx_lm\.server has no /v1/embeddings"):
            emb.embed_query("x")
    assert "/v1/embeddings" not in tiny.paths


def test_no_models_endpoint_still_detects_by_probe() -> None:
    with TinyServer({"/api/version": {"version": "0.12.0"}}) as tiny:
        facts = ChatOpenAICompatible(base_url=tiny.url).server_facts()
    assert (facts.preset.name, facts.detected_by, facts.models) == ("ollama", "/api/version", ())


def test_server_preset_instance_is_accepted() -> None:
    custom = ServerPreset("mine", "My server", "http://localhost:9999", "run it", tools=False)
    engine = OpenAICompatEngine("http://localhost:9999/v1", server=custom)
    assert engine.given is custom and engine.base_url == "http://localhost:9999"


def test_put_never_changes_a_nested_dict_it_was_given() -> None:
    mine = {"json": {"type": "object"}}
    body: dict[str, Any] = {"structured_outputs": mine}
    put(body, "structured_outputs.grammar", "root ::= [a]")
    assert body["structured_outputs"] == {"json": {"type": "object"}, "grammar": "root ::= [a]"}
    assert mine == {"json": {"type": "object"}}
