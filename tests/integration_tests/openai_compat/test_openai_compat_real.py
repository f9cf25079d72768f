"""The OpenAI-compatible faces on a real llama-server: what they report and send is what the
server says and does.

No mocks: every check is against the shared llama-server processes (`llamafile/_servers.py`),
most against the raw answer of the same server to the same request, read with httpx. The
requests the faces send are read with an httpx event hook, to show which route a call took.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field

from langchain_localkit._core.errors import ContextOverflowError
from langchain_localkit.chat_models.llamafile import ChatLlamafile
from langchain_localkit.chat_models.openai_compat import ChatOpenAICompatible
from langchain_localkit.llms.openai_compat import OpenAICompatible
from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests._sent import Sent
from tests.integration_tests.llamafile import _servers

PROMPT = "Write one sentence about the sea."


class GetWeather(BaseModel):
    """Get the current weather in a city."""

    city: str = Field(max_length=24)
    unit: Literal["celsius", "fahrenheit"]


class Verdict(BaseModel):
    """A verdict."""

    label: Literal["red", "green", "blue"]
    score: int
    ok: bool


def chat(server: LlamaServer, **kwargs: Any) -> ChatOpenAICompatible:
    params: dict[str, Any] = {"base_url": server.base_url, "temperature": 0, "seed": 7}
    return ChatOpenAICompatible(**{**params, "max_tokens": 32, **kwargs})


def raw_chat(server: LlamaServer, content: str, **fields: Any) -> dict[str, Any]:
    body = {"messages": [{"role": "user", "content": content}], **fields}
    answer = httpx.post(f"{server.base_url}/v1/chat/completions", json=body, timeout=120)
    answer.raise_for_status()
    return answer.json()


@pytest.fixture(params=["tiny", "smollm2"])
def any_server(request: pytest.FixtureRequest) -> LlamaServer:
    return request.getfixturevalue(f"{request.param}_server")


# --- what the server is --------------------------------------------------------------------------


def test_detects_llama_server_from_its_models(tiny_server: LlamaServer) -> None:
    facts = chat(tiny_server).server_facts()
    models = httpx.get(f"{tiny_server.base_url}/v1/models").json()
    props = httpx.get(f"{tiny_server.base_url}/props").json()
    assert facts.preset.name == "llama.cpp"
    assert facts.detected_by == "owned_by"
    assert facts.models == tuple(m["id"] for m in models["data"])
    assert facts.context_length == props["default_generation_settings"]["n_ctx"] == 2048
    assert facts.props is not None and facts.props.n_ctx == 2048


def test_a_template_without_tool_format_routes_tools_through_a_grammar(
    smollm2_server: LlamaServer,
) -> None:
    props = httpx.get(f"{smollm2_server.base_url}/props").json()
    assert props["chat_template_caps"]["supports_tool_calls"] is False
    facts = chat(smollm2_server).server_facts()
    assert facts.preset.tools is False  # llama-server would ignore `tools` on this template
    assert facts.preset.grammar_field == "grammar"


# --- the same tokens as the runtime --------------------------------------------------------------


def test_greedy_reply_usage_and_timings_are_the_servers(any_server: LlamaServer) -> None:
    msg = chat(any_server).invoke(PROMPT)
    raw = raw_chat(any_server, PROMPT, temperature=0, seed=7, max_tokens=32)
    assert isinstance(msg, AIMessage) and msg.content
    assert msg.content == raw["choices"][0]["message"]["content"]
    usage = raw["usage"]
    assert msg.usage_metadata is not None
    counts = {k: v for k, v in msg.usage_metadata.items() if k != "input_token_details"}
    assert counts == {  # cache_read depends on what the server's slot held
        "input_tokens": usage["prompt_tokens"],
        "output_tokens": usage["completion_tokens"],
        "total_tokens": usage["total_tokens"],
    }
    assert msg.response_metadata["finish_reason"] == raw["choices"][0]["finish_reason"]
    timings = msg.response_metadata["timings"]
    assert timings["source"] == "llama.cpp server"
    assert timings["eval_tokens"] == raw["timings"]["predicted_n"] == usage["completion_tokens"]
    assert timings["eval_tokens_per_second"] > 0


def test_stream_joins_to_the_invoked_reply(smollm2_server: LlamaServer) -> None:
    model = chat(smollm2_server)
    chunks = list(model.stream(PROMPT))
    assert len(chunks) > 2
    assert "".join(str(c.content) for c in chunks) == model.invoke(PROMPT).content
    assert chunks[-1].usage_metadata is not None


def test_stop_strings_end_the_reply_before_them(tiny_server: LlamaServer) -> None:
    model = chat(tiny_server)
    text = str(model.invoke(PROMPT).content)
    stop = " " + text.split()[4]
    cut = model.invoke(PROMPT, stop=[stop])
    assert cut.content == text[: text.index(stop)]
    assert cut.response_metadata["finish_reason"] == "stop"
    assert chat(tiny_server, stop=[stop]).invoke(PROMPT).content == cut.content


def test_chat_llamafile_on_the_chat_endpoint_gives_the_same_reply(
    smollm2_server: LlamaServer,
) -> None:
    ours = chat(smollm2_server).invoke(PROMPT)
    llamafile = ChatLlamafile(
        base_url=smollm2_server.base_url, endpoint="chat", temperature=0, seed=7, max_tokens=32
    ).invoke(PROMPT)
    assert llamafile.content == ours.content
    assert llamafile.usage_metadata and ours.usage_metadata
    for key in ("input_tokens", "output_tokens"):  # cache_read: the second call hits the slot
        assert llamafile.usage_metadata[key] == ours.usage_metadata[key]  # type: ignore[literal-required]


# --- tools, structured output, grammar, extra fields ---------------------------------------------


def test_forced_tool_call_on_the_grammar_route_matches_the_schema(
    smollm2_server: LlamaServer,
) -> None:
    sent = Sent()
    model = chat(smollm2_server, max_tokens=96, **sent.hooks())
    msg = model.bind_tools([GetWeather], tool_choice="any").invoke("What's the weather in Paris?")
    assert "grammar" in sent.last and "tools" not in sent.last
    assert len(msg.tool_calls) == 1, msg
    call = msg.tool_calls[0]
    assert call["name"] == "GetWeather"
    GetWeather(**call["args"])
    assert msg.response_metadata["finish_reason"] == "tool_calls"


def test_json_schema_on_the_server_route_is_valid(smollm2_server: LlamaServer) -> None:
    sent = Sent()
    model = chat(smollm2_server, max_tokens=96, constrain="server", **sent.hooks())
    result = model.with_structured_output(Verdict, method="json_schema").invoke("Rate the sky.")
    assert isinstance(result, Verdict)
    fmt = sent.last["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"]["required"] == ["label", "score", "ok"]
    assert "grammar" not in sent.last


def test_json_schema_on_the_grammar_route_is_valid(tiny_server: LlamaServer) -> None:
    sent = Sent()
    model = chat(tiny_server, max_tokens=64, constrain="grammar", **sent.hooks())
    structured = model.with_structured_output(Verdict, method="json_schema")
    for seed in range(3):
        assert isinstance(structured.invoke("Rate the sky.", seed=seed), Verdict)
    assert "grammar" in sent.last and "response_format" not in sent.last


def test_a_refused_response_format_falls_back_to_a_grammar(tiny_server: LlamaServer) -> None:
    # llama-server cannot start its response_format grammar on the tiny vocabulary (HTTP 400
    # "Failed to initialize samplers"); the schema as our grammar works, and is kept for later
    sent = Sent()
    model = chat(tiny_server, max_tokens=64, **sent.hooks())
    structured = model.with_structured_output(Verdict, method="json_schema")
    assert isinstance(structured.invoke("Rate the sky.", seed=1), Verdict)
    chats = [b for b in sent.bodies if "messages" in b]
    assert "response_format" in chats[0] and "grammar" in chats[1]
    assert model.engine.no_format
    assert isinstance(structured.invoke("Rate the sea.", seed=2), Verdict)
    assert "grammar" in sent.last and "response_format" not in sent.last


def test_grammar_field_is_passed_through(tiny_server: LlamaServer) -> None:
    sent = Sent()
    model = chat(tiny_server, temperature=1.0, grammar='root ::= "yes" | "no"', **sent.hooks())
    answers = {str(model.invoke(f"Question {i}?", seed=i).content) for i in range(4)}
    assert answers <= {"yes", "no"} and answers
    assert sent.last["grammar"] == 'root ::= "yes" | "no"'


def test_extra_body_fields_are_sent_and_accepted(tiny_server: LlamaServer) -> None:
    sent = Sent()
    probed = chat(tiny_server, extra_body={"n_probs": 2}, **sent.hooks()).invoke(PROMPT)
    assert sent.last["n_probs"] == 2
    assert probed.content == chat(tiny_server).invoke(PROMPT).content


# --- async, batches --------------------------------------------------------------------------


async def test_async_gives_the_sync_reply(smollm2_server: LlamaServer) -> None:
    model = chat(smollm2_server)
    msg = await model.ainvoke(PROMPT)
    assert msg.content == model.invoke(PROMPT).content
    joined = "".join([str(c.content) async for c in model.astream(PROMPT)])
    assert joined == msg.content


async def test_abatch_of_four_prompts_on_two_slots() -> None:
    server = _servers.server("tiny-parallel")
    model = chat(server, max_tokens=24)
    prompts: list[Any] = [f"Tell me about {what}." for what in ("cats", "dogs", "the sea", "Paris")]
    together = await model.abatch(prompts)
    one_by_one = [model.invoke(p) for p in prompts]
    assert [m.content for m in together] == [m.content for m in one_by_one]
    assert all(m.usage_metadata and m.usage_metadata["output_tokens"] > 0 for m in together)


# --- the text-completion face and the tokenizer -------------------------------------------------


def test_completions_greedy_text_is_the_servers(tiny_server: LlamaServer) -> None:
    llm = OpenAICompatible(base_url=tiny_server.base_url, temperature=0, seed=7, max_tokens=24)
    result = llm.generate(["The sky is"]).generations[0][0]
    body = {"prompt": "The sky is", "temperature": 0, "seed": 7, "max_tokens": 24}
    raw = httpx.post(f"{tiny_server.base_url}/v1/completions", json=body, timeout=120).json()
    assert result.text == raw["choices"][0]["text"] and result.text
    info = result.generation_info or {}
    assert info["usage"]["output_tokens"] == raw["usage"]["completion_tokens"]
    assert info["usage"]["input_tokens"] == raw["usage"]["prompt_tokens"]
    assert info["timings"]["source"] == "llama.cpp server"


def test_token_count_is_the_servers(tiny_server: LlamaServer) -> None:
    text = "Hello world, how are you today?"
    raw = httpx.post(f"{tiny_server.base_url}/tokenize", json={"content": text}).json()
    assert chat(tiny_server).get_num_tokens(text) == len(raw["tokens"])
    llm = OpenAICompatible(base_url=tiny_server.base_url)
    assert llm.get_token_ids(text) == raw["tokens"]


def test_prompt_longer_than_the_context_is_a_context_overflow(tiny_server: LlamaServer) -> None:
    long = "word " * 3000
    with pytest.raises(ContextOverflowError) as chat_error:
        chat(tiny_server).invoke(long)
    assert chat_error.value.n_ctx == 2048
    assert chat_error.value.n_prompt_tokens is not None
    assert chat_error.value.n_prompt_tokens > 2048
    with pytest.raises(ContextOverflowError):
        OpenAICompatible(base_url=tiny_server.base_url, max_tokens=8).invoke(long)
