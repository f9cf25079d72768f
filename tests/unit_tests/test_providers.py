"""`init_local_model`: model strings, errors, real construction, and run-time model choice.

The configurable model runs for real: against the Ollama stand-in on loopback
(`OllamaTranscriptServer`) and the tiny GGUF in llama.cpp.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableBinding, RunnableConfig
from pydantic import BaseModel

from langchain_localkit import ChatLlamaCpp, ChatLlamafile, ChatOllama, init_local_model
from langchain_localkit._configurable import ConfigurableLocalModel
from langchain_localkit.providers import PROVIDERS, ModelSpec, Provider, parse_model
from langchain_localkit.testing.ollama_server import OllamaTranscriptServer, Reply
from tests.docs import run_page
from tests.models import tiny_path

URL = "http://127.0.0.1:8000"

PARSED: list[tuple[str | None, str | None, ModelSpec, dict[str, Any] | None]] = [
    (
        "llamacpp:path/to/model.gguf",
        None,
        ModelSpec("llamacpp", "path/to/model.gguf", None),
        {"model_path": "path/to/model.gguf"},
    ),
    ("path/to/model.gguf", None, ModelSpec("llamacpp", "path/to/model.gguf", None), None),
    (r"C:\models\Qwen.GGUF", None, ModelSpec("llamacpp", r"C:\models\Qwen.GGUF", None), None),
    ("llamafile:", None, ModelSpec("llamafile", None, None), {}),
    (
        "llamafile:@http://host:8080",
        None,
        ModelSpec("llamafile", None, "http://host:8080"),
        {"base_url": "http://host:8080"},
    ),
    (
        "llamafile:qwen@http://host:8080/v1/",
        None,
        ModelSpec("llamafile", "qwen", "http://host:8080"),
        {"model": "qwen", "base_url": "http://host:8080"},
    ),
    (
        "ollama:llama3.1:8b",
        None,
        ModelSpec("ollama", "llama3.1:8b", None),
        {"model": "llama3.1:8b"},
    ),
    (
        "ollama:llama3.1:8b@http://127.0.0.1:11434",
        None,
        ModelSpec("ollama", "llama3.1:8b", "http://127.0.0.1:11434"),
        {"model": "llama3.1:8b", "base_url": "http://127.0.0.1:11434"},
    ),
    (
        "ollama:llama3.1:8b@https://box:11434/v1",
        None,
        ModelSpec("ollama", "llama3.1:8b", "https://box:11434"),
        None,
    ),
    ("gpt4all:m/x.gguf", None, ModelSpec("gpt4all", "m/x.gguf", None), {"model": "m/x.gguf"}),
    (
        "lmstudio:qwen3-4b",
        None,
        ModelSpec("lmstudio", "qwen3-4b", None),
        {"model": "qwen3-4b", "server": "lmstudio"},
    ),
    (
        f"vllm:Qwen/Qwen3-4B@{URL}",
        None,
        ModelSpec("vllm", "Qwen/Qwen3-4B", URL),
        {"model": "Qwen/Qwen3-4B", "server": "vllm", "base_url": URL},
    ),
    (
        f"vllm:Qwen/Qwen3-4B@{URL}/v1",
        None,
        ModelSpec("vllm", "Qwen/Qwen3-4B", f"{URL}/v1"),
        None,
    ),
    ("llama-server:", None, ModelSpec("llama-server", None, None), {"server": "llama.cpp"}),
    ("llamacpp-server:", None, ModelSpec("llamacpp-server", None, None), {"server": "llama.cpp"}),
    ("localai:", None, ModelSpec("localai", None, None), {"server": "localai"}),
    ("koboldcpp:", None, ModelSpec("koboldcpp", None, None), {"server": "koboldcpp"}),
    ("jan:", None, ModelSpec("jan", None, None), {"server": "jan"}),
    ("mlx:", None, ModelSpec("mlx", None, None), {"server": "mlx"}),
    (
        "openai-compatible:my-model@http://127.0.0.1:9000/v1",
        None,
        ModelSpec("openai-compatible", "my-model", "http://127.0.0.1:9000/v1"),
        {"model": "my-model", "server": "auto", "base_url": "http://127.0.0.1:9000/v1"},
    ),
    ("qwen3-4b", "lmstudio", ModelSpec("lmstudio", "qwen3-4b", None), None),
    ("qwen3-4b", "LM_Studio", ModelSpec("lmstudio", "qwen3-4b", None), None),
    ("llama3.1:8b", "ollama", ModelSpec("ollama", "llama3.1:8b", None), None),
    ("ollama:llama3.1:8b", "ollama", ModelSpec("ollama", "llama3.1:8b", None), None),
    ("Llama_Server:", None, ModelSpec("llama-server", None, None), None),
    (f"@{URL}", "vllm", ModelSpec("vllm", None, URL), {"server": "vllm", "base_url": URL}),
    (None, "llamafile", ModelSpec("llamafile", None, None), {}),
]


@pytest.mark.parametrize(("text", "provider", "spec", "kwargs"), PARSED)
def test_parse_model(
    text: str | None, provider: str | None, spec: ModelSpec, kwargs: dict[str, Any] | None
) -> None:
    parsed = parse_model(text, provider)
    assert parsed == spec
    if kwargs is not None:
        assert parsed.kwargs() == kwargs


def test_every_provider_example_parses_to_its_provider() -> None:
    for name, info in PROVIDERS.items():
        assert parse_model(info.example).provider == name, info.example
        assert (info.server is None) == (info.class_name != "ChatOpenAICompatible"), name


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: init_local_model("ollma:llama3.1:8b"), r"'ollma'\. Did you mean 'ollama'\?"),
        (lambda: init_local_model("lmstudoi:qwen3-4b"), r"Did you mean 'lmstudio'\?"),
        (lambda: init_local_model("x", model_provider="olama"), r"Did you mean 'ollama'\?"),
        (lambda: init_local_model("qwen3:4b"), r"write 'ollama:qwen3:4b'.*Known providers: "),
        (lambda: init_local_model("llama3"), r"Cannot tell the provider.*llamacpp, gpt4all, "),
        (lambda: init_local_model("llamacpp:"), r"'llamacpp' needs a model: e\.g\..*\.gguf'\)"),
        (lambda: init_local_model("gpt4all:"), r"'gpt4all' needs a model: e\.g\. init_local"),
        (lambda: init_local_model("ollama:"), r"init_local_model\('ollama:llama3\.1:8b'\)"),
        (lambda: init_local_model(model_provider="ollama"), r"'ollama' needs a model"),
        (lambda: init_local_model("bin/qwen.llamafile"), r"--server --nobrowser.*'llamafile:'"),
        (lambda: init_local_model("llamafile:q.llamafile"), r"llamafile executable"),
        (lambda: init_local_model("llamacpp:a.gguf@http://h:1"), r"'llama-server:@http://h:1'"),
        (
            lambda: init_local_model("ollama:qwen3:4b@http://a:1", base_url="http://b:2"),
            r"base_url='http://b:2' contradicts the model string, which gives 'http://a:1'",
        ),
        (
            lambda: init_local_model("ollama:m", configurable_fields="model"),
            r"'any' or a list of fields.*\['model'\]",
        ),
        (
            lambda: init_local_model(configurable_fields=["temperature"]),
            r"list 'model' in configurable_fields",
        ),
        (
            lambda: init_local_model("olama:x", configurable_fields="any"),
            r"Did you mean 'ollama'",
        ),
    ],
)
def test_errors_say_what_to_write(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_missing_runtime_names_the_extra() -> None:
    missing = Provider(
        "langchain_localkit.no_such_module", "ChatX", "model", False, None, "x:", extra="ollama"
    )
    with pytest.raises(ImportError, match=r"pip install 'langchain-localkit\[ollama\]'"):
        missing.load()


def test_llamacpp_from_string_loads_nothing() -> None:
    path = tiny_path()
    chat = init_local_model(f"llamacpp:{path}", n_ctx=512, temperature=0.1)
    assert type(chat) is ChatLlamaCpp
    assert chat.model_path == str(path)
    assert (chat.n_ctx, chat.temperature) == (512, 0.1)
    assert chat._engine is None
    assert type(init_local_model(str(path))) is ChatLlamaCpp


def test_llamacpp_from_string_does_not_import_llama_cpp() -> None:
    code = (
        "import sys\nfrom langchain_localkit import init_local_model\n"
        f"init_local_model({f'llamacpp:{tiny_path()}'!r})\n"
        "print('llama_cpp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


def test_init_local_model_import_loads_no_langchain_core() -> None:
    code = (
        "import sys\nfrom langchain_localkit import init_local_model\n"
        "print('langchain_core' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


@pytest.fixture
def server() -> Iterator[OllamaTranscriptServer]:
    with OllamaTranscriptServer(models=["llama3.1:8b", "qwen3:4b"]) as server:
        yield server


def test_ollama_from_string_does_no_io(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(f"ollama:llama3.1:8b@{server.url}", temperature=0, pull=True)
    assert type(chat) is ChatOllama
    assert (chat.model, chat.base_url, chat.temperature, chat.pull) == (
        "llama3.1:8b",
        server.url,
        0,
        True,
    )
    assert server.requests == []
    server.reply("Neil Armstrong.")
    assert chat.invoke("Who?").content == "Neil Armstrong."
    # after the first call, the profile: what the model is, the context it was loaded with
    assert [r.path for r in server.requests] == ["/api/chat", "/api/show", "/api/ps"]


def test_ollama_v1_address_becomes_the_root() -> None:
    chat = init_local_model("ollama:llama3.1:8b@http://127.0.0.1:11434/v1")
    assert chat.base_url == "http://127.0.0.1:11434"  # type: ignore[attr-defined]


def test_llamafile_from_string() -> None:
    chat = init_local_model("llamafile:@http://127.0.0.1:8080", temperature=0)
    assert type(chat) is ChatLlamafile
    assert (chat.base_url, chat.model, chat.temperature) == ("http://127.0.0.1:8080", None, 0)
    named = init_local_model("llamafile:qwen")
    assert isinstance(named, ChatLlamafile)
    assert named.model == "qwen"


@pytest.mark.parametrize(
    ("text", "model", "server_preset"),
    [
        ("lmstudio:qwen3-4b", "qwen3-4b", "lmstudio"),
        (f"vllm:Qwen/Qwen3-4B@{URL}", "Qwen/Qwen3-4B", "vllm"),
        ("llama-server:", None, "llama.cpp"),
        ("llamacpp-server:", None, "llama.cpp"),
        ("localai:", None, "localai"),
        ("koboldcpp:", None, "koboldcpp"),
        ("jan:", None, "jan"),
        ("mlx:", None, "mlx"),
        ("openai-compatible:my-model@http://127.0.0.1:9000/v1", "my-model", "auto"),
    ],
)
def test_openai_compatible_from_string(text: str, model: str | None, server_preset: str) -> None:
    chat = init_local_model(text)
    assert type(chat).__name__ == "ChatOpenAICompatible"
    assert chat.model == model  # type: ignore[attr-defined]
    assert chat.server == server_preset  # type: ignore[attr-defined]


def test_openai_compatible_with_provider_keyword() -> None:
    chat = init_local_model("qwen3-4b", model_provider="lmstudio", base_url=URL)
    assert type(chat).__name__ == "ChatOpenAICompatible"
    assert chat.model == "qwen3-4b"  # type: ignore[attr-defined]


def _config(**configurable: Any) -> RunnableConfig:
    return {"configurable": configurable}


def _ollama(
    server: OllamaTranscriptServer, model: str = "llama3.1:8b", **more: Any
) -> RunnableConfig:
    return _config(model=f"ollama:{model}@{server.url}", **more)


def test_no_model_anywhere_is_configurable() -> None:
    chat = init_local_model()
    assert isinstance(chat, ConfigurableLocalModel)
    with pytest.raises(ValueError, match=r"No model for this call.*'configurable'.*'model'"):
        chat.invoke("hi")


def test_configurable_switches_provider_per_call(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(configurable_fields="any")
    server.reply("From Ollama.")
    assert chat.invoke("hi", config=_ollama(server)).content == "From Ollama."
    assert server.last("/api/chat").body["model"] == "llama3.1:8b"

    tiny = _config(model=f"llamacpp:{tiny_path()}", max_tokens=3)
    msg = chat.invoke("hi", config=tiny)
    assert msg.response_metadata["model_provider"] == "llamacpp"
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["output_tokens"] == 3
    assert len(server.requests_to("/api/chat")) == 1


def test_configurable_builds_once_per_config(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(configurable_fields="any")
    first = chat.get_model(_ollama(server))
    assert chat.get_model(_ollama(server)) is first
    hotter = _ollama(server, temperature=0.7)
    other = chat.get_model(hotter)
    assert other is not first
    assert other.temperature == 0.7  # type: ignore[attr-defined]
    blob = _ollama(server, metadata={"b": bytearray()})
    assert chat.get_model(blob) is not chat.get_model(blob)  # no key: built for each call


def test_any_ignores_keys_that_are_no_argument(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(configurable_fields="any")
    # `max_tokens`: a llama.cpp name that ChatOllama does not have
    config = _ollama(server, thread_id="7", max_tokens=5)
    server.reply("Hello.")
    assert chat.invoke("hi", config=config).content == "Hello."


def test_listed_fields_only(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(
        f"ollama:llama3.1:8b@{server.url}", configurable_fields=["temperature"], temperature=0
    )
    assert chat.get_model().temperature == 0  # type: ignore[attr-defined]
    model = chat.get_model(_config(temperature=0.3, model="ollama:qwen3:4b"))
    assert (model.model, model.temperature) == ("llama3.1:8b", 0.3)  # type: ignore[attr-defined]


def test_config_model_naming_its_provider_beats_the_default_provider(
    server: OllamaTranscriptServer,
) -> None:
    chat = init_local_model(model_provider="llamafile", configurable_fields="any")
    assert isinstance(chat.get_model(), ChatLlamafile)
    assert isinstance(chat.get_model(_ollama(server)), ChatOllama)


def test_config_prefix(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(configurable_fields="any", config_prefix="writer")
    with pytest.raises(ValueError, match="'writer_model'"):
        chat.invoke("hi", config=_ollama(server))
    server.reply("Prefixed.")
    config = _config(writer_model=f"ollama:qwen3:4b@{server.url}")
    assert chat.invoke("hi", config=config).content == "Prefixed."
    assert server.last("/api/chat").body["model"] == "qwen3:4b"


def test_config_prefix_without_fields_warns() -> None:
    with pytest.warns(UserWarning, match="config_prefix='x' does nothing"):
        init_local_model("llamafile:", config_prefix="x")


def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return "sunny"


def test_bind_tools_is_replayed_on_each_model(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(configurable_fields="any").bind_tools([get_weather])
    call = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    server.reply(Reply(tool_calls=[call]))
    msg = chat.invoke("Weather in Paris?", config=_ollama(server))
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [("get_weather", {"city": "Paris"})]
    sent = server.last("/api/chat").body["tools"]
    assert [t["function"]["name"] for t in sent] == ["get_weather"]

    bound = chat.get_model(_config(model=f"llamacpp:{tiny_path()}"))
    assert isinstance(bound, RunnableBinding)
    assert isinstance(bound.bound, ChatLlamaCpp)
    assert [t["function"]["name"] for t in bound.kwargs["tools"]] == ["get_weather"]


class Person(BaseModel):
    name: str
    age: int


def test_with_structured_output_is_replayed(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(configurable_fields="any").with_structured_output(Person)
    person = chat.invoke("Ada, 36", config=_ollama(server))
    assert isinstance(person, Person)
    assert server.last("/api/chat").body["format"]["properties"].keys() == {"name", "age"}


def test_with_config_binds_the_model(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(configurable_fields="any").with_config(
        _ollama(server, "qwen3:4b"), tags=["t"]
    )
    assert isinstance(chat, ConfigurableLocalModel)
    server.reply("Bound.")
    assert chat.invoke("hi").content == "Bound."
    assert server.last("/api/chat").body["model"] == "qwen3:4b"
    server.reply("Overridden.")
    assert chat.invoke("hi", config=_ollama(server)).content == "Overridden."
    assert server.last("/api/chat").body["model"] == "llama3.1:8b"


def test_stream_and_batch(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(configurable_fields="any")
    server.reply("One small step.")
    chunks = list(chat.stream("hi", config=_ollama(server)))
    assert len(chunks) > 1
    assert "".join(str(c.content) for c in chunks) == "One small step."

    server.reply("A", "B")
    same = chat.batch(["1", "2"], config=_ollama(server))
    assert sorted(str(m.content) for m in same) == ["A", "B"]

    server.reply("Llama.", model="llama3.1:8b")
    server.reply("Qwen.", model="qwen3:4b")
    mixed = chat.batch(["1", "2"], config=[_ollama(server), _ollama(server, "qwen3:4b")])
    assert [m.content for m in mixed] == ["Llama.", "Qwen."]
    assert chat.batch([]) == []


def test_batch_returns_exceptions_per_input(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(configurable_fields="any")
    server.reply("Fine.")
    results = chat.batch(["1", "2"], config=[_ollama(server), {}], return_exceptions=True)
    assert isinstance(results[0], AIMessage)
    assert results[0].content == "Fine."
    assert isinstance(results[1], ValueError)


async def test_async_paths(server: OllamaTranscriptServer) -> None:
    chat = init_local_model(configurable_fields="any")
    server.reply("Async.")
    assert (await chat.ainvoke("hi", config=_ollama(server))).content == "Async."
    server.reply("Streamed async.")
    text = "".join([str(c.content) async for c in chat.astream("hi", config=_ollama(server))])
    assert text == "Streamed async."
    server.reply("Two events.")
    events = [e["event"] async for e in chat.astream_events("hi", config=_ollama(server))]
    assert events[0] == "on_chat_model_start"
    assert events.count("on_chat_model_stream") >= 2
    server.reply("Llama.", model="llama3.1:8b")
    server.reply("Qwen.", model="qwen3:4b")
    mixed = await chat.abatch(["1", "2"], config=[_ollama(server), _ollama(server, "qwen3:4b")])
    assert [m.content for m in mixed] == ["Llama.", "Qwen."]


def test_providers_page_runs(capsys: pytest.CaptureFixture[str]) -> None:
    run_page("providers.md")
    out = capsys.readouterr().out
    assert "Neil Armstrong.\nllamacpp 4\n" in out
    assert "get_weather {'city': 'Paris'}\nPerson\nOne small step.\n" in out
    assert "['From Llama.', 'From Qwen.']\nChatOllama 0.2\n" in out
    assert "Did you mean 'ollama'?" in out and "write 'ollama:qwen3:4b'" in out


def test_docs_table_lists_every_provider() -> None:
    page = (Path(__file__).parents[2] / "docs" / "providers.md").read_text(encoding="utf-8")
    for name, info in PROVIDERS.items():
        assert f"`{name}`" in page, name
        assert f"`{info.example}`" in page or info.example.startswith("llamacpp-server"), name
