"""ChatLlamaCpp without loading a model: parameters, tool binding, structured-output wiring."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp


@pytest.fixture
def chat(tmp_path: Path) -> ChatLlamaCpp:
    path = tmp_path / "qwen2.5-1.5b-instruct-q4_k_m.gguf"
    path.write_bytes(b"GGUF")
    return ChatLlamaCpp(model_path=str(path))


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_construction_loads_nothing(chat: ChatLlamaCpp) -> None:
    assert chat._engine is None
    assert chat._llm_type == "llamacpp-chat"


def test_ls_params(chat: ChatLlamaCpp) -> None:
    params = chat._get_ls_params(stop=["x"], temperature=0.2)
    assert params["ls_provider"] == "llamacpp"
    assert params["ls_model_name"] == "qwen2.5-1.5b-instruct-q4_k_m.gguf"
    assert params["ls_model_type"] == "chat"
    assert params["ls_temperature"] == 0.2
    assert params["ls_stop"] == ["x"]


def test_bind_tools_rejects_unknown_tool_choice(chat: ChatLlamaCpp) -> None:
    with pytest.raises(ValueError, match="multiply"):
        chat.bind_tools([add], tool_choice="multiply")


def test_bind_tools_binds_openai_format(chat: ChatLlamaCpp) -> None:
    bound = chat.bind_tools([add], tool_choice="any")
    kwargs = bound.kwargs  # type: ignore[attr-defined]
    assert kwargs["tools"][0]["function"]["name"] == "add"
    assert kwargs["tool_choice"] == "any"


def test_structured_output_methods(chat: ChatLlamaCpp) -> None:
    class Person(BaseModel):
        name: str
        age: int

    for method in ("json_schema", "function_calling", "json_mode"):
        assert chat.with_structured_output(Person, method=method) is not None
    with pytest.raises(ValueError, match="Unknown method"):
        chat.with_structured_output(Person, method="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a schema"):
        chat.with_structured_output(None, method="json_schema")
    with pytest.raises(ValueError, match="Unexpected"):
        chat.with_structured_output(Person, foo=1)


@pytest.mark.parametrize(
    "bad",
    [{"type": "xml"}, "json", {"type": "json_schema"}],
)
def test_bad_response_format(chat: ChatLlamaCpp, bad: object) -> None:
    with pytest.raises(ValueError, match="response_format"):
        chat.invoke("hi", response_format=bad)
    assert chat._engine is None


def test_refuse_truncated_only_refuses_incomplete_replies() -> None:
    from langchain_core.exceptions import OutputParserException
    from langchain_core.messages import AIMessage

    from langchain_localkit._faces.structured import refuse_truncated

    def reply(content: str, finish: str, **kwargs: Any) -> AIMessage:
        return AIMessage(content=content, response_metadata={"finish_reason": finish}, **kwargs)

    whole = reply('{"a": 1}', "length")  # complete exactly at the limit
    assert refuse_truncated(whole) is whole
    assert refuse_truncated(reply('{"a": "unfin', "stop")).content == '{"a": "unfin'
    call = {"name": "f", "args": {}, "id": "call_1", "type": "tool_call"}
    assert refuse_truncated(reply("", "length", tool_calls=[call])).tool_calls
    with pytest.raises(OutputParserException, match="max_tokens") as info:
        refuse_truncated(reply('{"a": "unfin', "length"))
    assert info.value.llm_output == '{"a": "unfin'
