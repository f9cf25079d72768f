"""The profile builders: pure functions from facts to LangChain's `ModelProfile`."""

from __future__ import annotations

from typing import Any, get_type_hints

import pytest
from langchain_core.language_models import ModelProfile

from langchain_localkit._faces.profile_build import (
    Faculties,
    model_profile,
    modelfile_num_ctx,
    ollama_profile,
    route_faculties,
    server_profile,
    thinking_of,
    vision_in_props,
)

DECLARED = frozenset(get_type_hints(ModelProfile))


def show(capabilities: list[str] | None, arch: str = "llama", **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "model_info": {"general.architecture": arch, f"{arch}.context_length": 131072},
        "parameters": 'stop                           "<|eot_id|>"',
        **extra,
    }
    if capabilities is not None:
        answer["capabilities"] = capabilities
    return answer


@pytest.mark.parametrize(
    "built",
    [
        model_profile(Faculties(), name="m", thinking="harmony", images=True, context=8),
        ollama_profile(show(["completion", "tools", "thinking", "vision"]), name="x"),
        ollama_profile(None, name="x", num_ctx=2048),
        server_profile(Faculties(tools=None, tool_choice=None), name=None),
    ],
)
def test_only_declared_keys(built: ModelProfile) -> None:
    assert set(built) <= DECLARED


def test_an_unknown_answer_is_left_out() -> None:
    built = server_profile(Faculties(tools=None, tool_choice=None), name=None)
    assert not {"name", "max_input_tokens", "reasoning_output", "image_inputs"} & set(built)
    assert not {"tool_calling", "tool_choice", "tool_call_streaming"} & set(built)
    assert built["text_outputs"] and built["structured_output"] is False


def test_a_model_that_only_embeds() -> None:
    built = model_profile(Faculties(structured_output=True), generates=False, thinking="think")
    assert built["text_outputs"] is False
    assert not any(built[k] for k in ("tool_calling", "tool_choice", "structured_output"))
    assert built["reasoning_output"] is False and "reasoning_effort_levels" not in built


def test_effort_levels_only_for_harmony() -> None:
    assert model_profile(Faculties(), thinking="harmony")["reasoning_effort_levels"] == [
        "low",
        "medium",
        "high",
    ]
    assert "reasoning_effort_levels" not in model_profile(Faculties(), thinking="think")


def test_thought_markers_of_a_template() -> None:
    assert thinking_of("{% if '</think>' in c %}{% endif %}") == "think"
    assert thinking_of("<|start|>assistant<|channel|>final<|message|>") == "harmony"
    assert thinking_of("{{ m }}") is False and thinking_of(None) is None


def test_ollama_capabilities() -> None:
    gpt_oss = ollama_profile(show(["completion", "tools", "thinking"], "gptoss"), name="gpt-oss")
    assert gpt_oss["reasoning_effort_levels"] == ["low", "medium", "high"]
    assert gpt_oss["tool_calling"] and gpt_oss["tool_choice"] is False
    assert gpt_oss["structured_output"] and gpt_oss["image_inputs"] is False
    r1 = ollama_profile(show(["completion", "thinking"], "qwen2"), name="deepseek-r1")
    assert r1["reasoning_output"] and r1["tool_calling"] is False
    assert "reasoning_effort_levels" not in r1
    embed = ollama_profile(show(["embedding"], "nomic-bert"), name="nomic-embed-text")
    assert embed["text_outputs"] is False and embed["structured_output"] is False
    vision = ollama_profile(show(["completion", "vision"], "gemma3"), name="gemma3")
    assert vision["image_inputs"] is True


def test_ollama_before_capabilities_were_reported() -> None:
    built = ollama_profile(show(None), name="old")
    assert not {"tool_calling", "reasoning_output", "image_inputs"} & set(built)
    assert built["text_outputs"] is True


def test_ollama_context_order() -> None:
    modelfile = show(["completion"], parameters="num_ctx                        8192\nstop x")
    assert modelfile_num_ctx(modelfile["parameters"]) == 8192
    assert ollama_profile(modelfile, name="m", loaded_context=4096)["max_input_tokens"] == 8192
    assert ollama_profile(modelfile, name="m", num_ctx=1024)["max_input_tokens"] == 1024
    plain = show(["completion"])
    assert ollama_profile(plain, name="m", loaded_context=4096)["max_input_tokens"] == 4096
    assert "max_input_tokens" not in ollama_profile(plain, name="m")  # not the trained 131072


def test_routes_of_an_openai_compatible_face() -> None:
    auto = route_faculties(tools=False, tool_choice_required=False, grammar=False, constrain="auto")
    assert auto.tools and auto.tool_choice  # a checked prompt stands in
    server = route_faculties(
        tools=True, tool_choice_required=False, grammar=True, constrain="server"
    )
    assert server.tools and server.tool_choice is False
    grammar = route_faculties(
        tools=True, tool_choice_required=True, grammar=False, constrain="grammar"
    )
    assert grammar.tools is False


def test_vision_in_props() -> None:
    assert vision_in_props({"modalities": {"vision": True, "audio": False}}) is True
    assert vision_in_props({}) is None
