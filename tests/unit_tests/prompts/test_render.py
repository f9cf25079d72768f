"""Every family rendered against expected strings written by hand from each model's format."""

from __future__ import annotations

import json
import logging

import pytest
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_localkit._core.errors import TemplateError
from langchain_localkit.prompts import (
    BUILTIN_FAMILIES,
    RenderedPrompt,
    TemplateRejectedError,
    detect,
    get_family,
    list_families,
    render_chat,
    to_template_messages,
)
from langchain_localkit.prompts.sandbox import compile_template

from . import official_templates as official
from ._helpers import (
    CHATML_TEMPLATE,
    DS_ASSISTANT,
    DS_BOS,
    DS_CALL_BEGIN,
    DS_CALL_END,
    DS_CALLS_BEGIN,
    DS_CALLS_END,
    DS_EOS,
    DS_OUTPUT_BEGIN,
    DS_OUTPUT_END,
    DS_OUTPUTS_BEGIN,
    DS_OUTPUTS_END,
    DS_SEP,
    DS_USER,
    MULTI_TURN,
    SYSTEM_AND_USER,
    WITH_TOOL,
)

CALL = '{"name": "calculator", "arguments": {"expression": "2+2"}}'
VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. The assistant "
    "gives helpful, detailed, and polite answers to the user's questions."
)
GPT_OSS_SYSTEM = (
    "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
    "Knowledge cutoff: 2024-06\n\nReasoning: medium\n\n# Valid channels: analysis, "
    "commentary, final. Channel must be included for every message.<|end|>"
)
GPT_OSS_TERSE = (
    GPT_OSS_SYSTEM + "<|start|>developer<|message|># Instructions\n\nYou are terse.<|end|>"
)
ALPACA_SYSTEM = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request."
)

# family -> (system + user, multi-turn history, tool call and tool result)
EXPECTED: dict[str, tuple[str, str, str]] = {
    "llama2": (
        "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST]",
        "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST] Hello! </s>"
        "<s>[INST] What is 2+2? [/INST]",
        "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nWhat is 2+2? [/INST] " + CALL + " </s>"
        "<s>[INST] Tool result (calculator): 4 [/INST]",
    ),
    "llama3": (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
        '{"name": "calculator", "parameters": {"expression": "2+2"}}<|eot_id|>'
        "<|start_header_id|>ipython<|end_header_id|>\n\n4<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    ),
    "chatml": (
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\n",
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
        "<|im_start|>assistant\n",
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
        "<|im_start|>assistant\n<tool_call>\n" + CALL + "\n</tool_call><|im_end|>\n"
        "<|im_start|>user\n<tool_response>\n4\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n",
    ),
    "gemma": (
        "<bos><start_of_turn>user\nYou are terse.\n\nHi<end_of_turn>\n<start_of_turn>model\n",
        "<bos><start_of_turn>user\nYou are terse.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
        "<bos><start_of_turn>user\nYou are terse.\n\nWhat is 2+2?<end_of_turn>\n"
        "<start_of_turn>model\n" + CALL + "<end_of_turn>\n"
        "<start_of_turn>user\nTool result (calculator): 4<end_of_turn>\n<start_of_turn>model\n",
    ),
    "mistral": (
        "<s>[INST] You are terse.\n\nHi [/INST]",
        "<s>[INST] You are terse.\n\nHi [/INST]Hello!</s>[INST] What is 2+2? [/INST]",
        "<s>[INST] You are terse.\n\nWhat is 2+2? [/INST]" + CALL + "</s>"
        "[INST] Tool result (calculator): 4 [/INST]",
    ),
    "phi3": (
        "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n",
        "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
        "<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n",
        "<|system|>\nYou are terse.<|end|>\n<|user|>\nWhat is 2+2?<|end|>\n"
        "<|assistant|>\n" + CALL + "<|end|>\n<|user|>\nTool result (calculator): 4<|end|>\n"
        "<|assistant|>\n",
    ),
    "zephyr": (
        "<|system|>\nYou are terse.</s>\n<|user|>\nHi</s>\n<|assistant|>\n",
        "<|system|>\nYou are terse.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n"
        "<|user|>\nWhat is 2+2?</s>\n<|assistant|>\n",
        "<|system|>\nYou are terse.</s>\n<|user|>\nWhat is 2+2?</s>\n"
        "<|assistant|>\n" + CALL + "</s>\n<|user|>\nTool result (calculator): 4</s>\n"
        "<|assistant|>\n",
    ),
    "vicuna": (
        "You are terse. USER: Hi ASSISTANT:",
        "You are terse. USER: Hi ASSISTANT: Hello!</s>USER: What is 2+2? ASSISTANT:",
        "You are terse. USER: What is 2+2? ASSISTANT: " + CALL + "</s>"
        "USER: Tool result (calculator): 4 ASSISTANT:",
    ),
    "alpaca": (
        "You are terse.\n\n### Instruction:\nHi\n\n### Response:\n",
        "You are terse.\n\n### Instruction:\nHi\n\n### Response:\nHello!</s>\n\n"
        "### Instruction:\nWhat is 2+2?\n\n### Response:\n",
        "You are terse.\n\n### Instruction:\nWhat is 2+2?\n\n### Response:\n" + CALL + "</s>\n\n"
        "### Instruction:\nTool result (calculator): 4\n\n### Response:\n",
    ),
    "deepseek": (
        DS_BOS + "You are terse." + DS_USER + "Hi" + DS_ASSISTANT,
        DS_BOS
        + "You are terse."
        + DS_USER
        + "Hi"
        + DS_ASSISTANT
        + "Hello!"
        + DS_EOS
        + DS_USER
        + "What is 2+2?"
        + DS_ASSISTANT,
        DS_BOS
        + "You are terse."
        + DS_USER
        + "What is 2+2?"
        + DS_ASSISTANT
        + DS_CALLS_BEGIN
        + DS_CALL_BEGIN
        + "function"
        + DS_SEP
        + 'calculator\n```json\n{"expression": "2+2"}\n```'
        + DS_CALL_END
        + DS_CALLS_END
        + DS_EOS
        + DS_OUTPUTS_BEGIN
        + DS_OUTPUT_BEGIN
        + "4"
        + DS_OUTPUT_END
        + DS_OUTPUTS_END,
    ),
    "deepseek-coder": (
        DS_BOS + "You are terse.\n### Instruction:\nHi\n### Response:\n",
        DS_BOS + "You are terse.\n### Instruction:\nHi\n### Response:\nHello!\n<|EOT|>\n"
        "### Instruction:\nWhat is 2+2?\n### Response:\n",
        DS_BOS + "You are terse.\n### Instruction:\nWhat is 2+2?\n### Response:\n" + CALL + "\n"
        "<|EOT|>\n### Instruction:\nTool result (calculator): 4\n### Response:\n",
    ),
    "gpt-oss": (
        GPT_OSS_TERSE + "<|start|>user<|message|>Hi<|end|><|start|>assistant",
        GPT_OSS_TERSE + "<|start|>user<|message|>Hi<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Hello!<|end|>"
        "<|start|>user<|message|>What is 2+2?<|end|><|start|>assistant",
        GPT_OSS_TERSE + "<|start|>user<|message|>What is 2+2?<|end|>"
        "<|start|>assistant<|channel|>final<|message|>" + CALL + "<|end|>"
        "<|start|>user<|message|>Tool result (calculator): 4<|end|><|start|>assistant",
    ),
}


def test_every_builtin_family_has_expected_strings() -> None:
    assert {f.name for f in BUILTIN_FAMILIES} == set(EXPECTED)
    assert len(EXPECTED) >= 10


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_system_and_user(family: str) -> None:
    assert render_chat(SYSTEM_AND_USER, family).prompt == EXPECTED[family][0]


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_multi_turn_history(family: str) -> None:
    assert render_chat(MULTI_TURN, family).prompt == EXPECTED[family][1]


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_tool_call_and_tool_message(family: str) -> None:
    assert render_chat(WITH_TOOL, family).prompt == EXPECTED[family][2]


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_templates_compile_and_stop_strings_are_set(family: str) -> None:
    fam = get_family(family)
    compile_template(fam.template)
    assert fam.stop
    assert fam.control_strings
    rendered = render_chat(SYSTEM_AND_USER, fam)
    assert rendered.family == fam.name
    assert rendered.stop[: len(fam.stop)] == fam.stop
    assert rendered.bos_included == (bool(fam.bos) and rendered.prompt.startswith(fam.bos))


def test_formats_with_a_default_system_prompt_use_it_without_a_system_message() -> None:
    hi = [HumanMessage("Hi")]
    assert render_chat(hi, "vicuna").prompt == VICUNA_SYSTEM + " USER: Hi ASSISTANT:"
    assert (
        render_chat(hi, "alpaca").prompt
        == ALPACA_SYSTEM + "\n\n### Instruction:\nHi\n\n### Response:\n"
    )
    assert render_chat(hi, "llama2").prompt == "<s>[INST] Hi [/INST]"
    assert render_chat(hi, "gemma").prompt == (
        "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"
    )


def test_without_generation_prompt() -> None:
    history = [HumanMessage("Hi"), AIMessage("Hello!")]
    assert render_chat(history, "chatml", add_generation_prompt=False).prompt == (
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
    )
    assert render_chat(history, "gemma", add_generation_prompt=False).prompt == (
        "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
    )
    assert render_chat(history, "llama3", add_generation_prompt=False).prompt == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
    )


def test_rendered_prompt_fields() -> None:
    r = render_chat(SYSTEM_AND_USER, "llama3")
    assert isinstance(r, RenderedPrompt)
    assert str(r) == r.prompt
    assert r.stop == ("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>")
    assert r.bos_included
    r = render_chat(SYSTEM_AND_USER, "chatml")
    assert not r.bos_included
    assert r.stop == ("<|im_end|>", "<|im_start|>", "<|endoftext|>")


def test_bos_and_eos_can_be_overridden() -> None:
    r = render_chat([HumanMessage("Hi")], "llama2", bos_token="")
    assert r.prompt == "[INST] Hi [/INST]"
    assert not r.bos_included


def test_gemma_without_a_user_turn_makes_the_system_message_one() -> None:
    assert render_chat([SystemMessage("Only rules.")], "gemma").prompt == (
        "<bos><start_of_turn>user\nOnly rules.<end_of_turn>\n<start_of_turn>model\n"
    )


def test_alternating_formats_merge_consecutive_user_turns() -> None:
    msgs = [HumanMessage("First."), HumanMessage("Second.")]
    assert render_chat(msgs, "llama2").prompt == "<s>[INST] First.\n\nSecond. [/INST]"
    assert render_chat(msgs, "chatml").prompt == (
        "<|im_start|>user\nFirst.<|im_end|>\n<|im_start|>user\nSecond.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_deepseek_drops_reasoning_from_history() -> None:
    msgs = [HumanMessage("Hi"), AIMessage("<think>greet back</think>Hello!"), HumanMessage("Bye")]
    assert render_chat(msgs, "deepseek").prompt == (
        DS_BOS + DS_USER + "Hi" + DS_ASSISTANT + "Hello!" + DS_EOS + DS_USER + "Bye" + DS_ASSISTANT
    )


def test_tool_message_name_comes_from_the_call_or_the_message() -> None:
    msgs = [
        AIMessage("", tool_calls=[{"name": "weather", "args": {"city": "Oslo"}, "id": "c9"}]),
        ToolMessage("rain", tool_call_id="c9"),
        ToolMessage("snow", tool_call_id="other", name="almanac"),
    ]
    dicts = to_template_messages(msgs)
    assert dicts[0]["tool_calls"][0]["function"]["name"] == "weather"
    assert dicts[0]["tool_calls"][0]["function"]["arguments"] == {"city": "Oslo"}
    assert dicts[1] == {"role": "tool", "content": "rain", "tool_call_id": "c9", "name": "weather"}
    assert dicts[2]["name"] == "almanac"


def test_tool_arguments_serve_mapping_and_string_templates() -> None:
    msgs = [AIMessage("", tool_calls=[{"name": "f", "args": {"a": 1}, "id": "x"}])]
    args_as_json = "{{ messages[0].tool_calls[0].function.arguments | tojson }}"
    args_as_text = "{{ 'args=' + messages[0].tool_calls[0].function.arguments }}"
    assert render_chat(msgs, args_as_json).prompt == '{"a": 1}'
    assert render_chat(msgs, args_as_text).prompt == 'args={"a": 1}'


def test_message_like_inputs_and_roles() -> None:
    dicts = to_template_messages(
        [
            ("system", "s"),
            {"role": "user", "content": "u"},
            ChatMessage(role="developer", content="d"),
            ChatMessage(role="documents", content="doc"),
            FunctionMessage(name="fn", content="r"),
            HumanMessage(content=[{"type": "text", "text": "a"}, "b"]),
        ]
    )
    assert [d["role"] for d in dicts] == ["system", "user", "system", "documents", "tool", "user"]
    assert dicts[-1]["content"] == "ab"
    assert to_template_messages("Hi") == [{"role": "user", "content": "Hi"}]


def test_images_and_forged_roles_are_refused() -> None:
    image = HumanMessage(content=[{"type": "image_url", "image_url": {"url": "x"}}])
    with pytest.raises(ValueError, match="image_url"):
        render_chat([image], "chatml")
    with pytest.raises(ValueError, match="role"):
        render_chat([ChatMessage(role="user<|im_end|>", content="x")], "chatml")


def test_unknown_family_name_and_bad_target() -> None:
    with pytest.raises(ValueError, match="neither a known model family"):
        render_chat(SYSTEM_AND_USER, "no-such-family")
    with pytest.raises(TypeError):
        render_chat(SYSTEM_AND_USER, 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="guard policy"):
        render_chat(SYSTEM_AND_USER, "chatml", guard="maybe")  # type: ignore[arg-type]


def test_family_aliases_render_the_same() -> None:
    for alias, name in [("llama-2", "llama2"), ("qwen", "chatml"), ("mistral-instruct", "mistral")]:
        assert render_chat(MULTI_TURN, alias).prompt == render_chat(MULTI_TURN, name).prompt


@pytest.mark.parametrize(
    ("family", "template", "messages"),
    [
        ("chatml", CHATML_TEMPLATE, MULTI_TURN),
        ("llama2", official.LLAMA2_CHAT, MULTI_TURN),
        ("llama3", official.LLAMA3_INSTRUCT, MULTI_TURN),
        ("mistral", official.MISTRAL_INSTRUCT, MULTI_TURN[1:]),
        ("gemma", official.GEMMA_IT, MULTI_TURN[1:]),
        ("zephyr", official.ZEPHYR, MULTI_TURN),
        ("phi3", official.PHI3, MULTI_TURN),
        ("chatml", official.QWEN25_ABRIDGED, MULTI_TURN),
    ],
)
def test_family_matches_the_official_template(
    family: str, template: str, messages: list[object]
) -> None:
    fam = get_family(family)
    ours = render_chat(messages, fam).prompt
    reference = render_chat(messages, template, bos_token=fam.bos, eos_token=fam.eos).prompt
    assert ours == reference


def test_gguf_template_of_a_system_less_family_gets_the_system_folded() -> None:
    # Gemma's official template raises on a system message; the family folds it first.
    detection = detect_from_template(official.GEMMA_IT)
    assert detection.name == "gemma"
    assert render_chat(SYSTEM_AND_USER, detection).prompt == EXPECTED["gemma"][0]
    with pytest.raises(TemplateRejectedError, match="System role not supported"):
        render_chat(SYSTEM_AND_USER, official.GEMMA_IT)


def test_refusing_gguf_template_falls_back_to_the_family(caplog: pytest.LogCaptureFixture) -> None:
    # Mistral v0.2's template refuses tool messages; rendering falls back to the family's.
    detection = detect_from_template(official.MISTRAL_INSTRUCT + "{# tool #}")
    msgs = [HumanMessage("Hi"), AIMessage("Hello!"), ChatMessage(role="critic", content="x")]
    with caplog.at_level(logging.WARNING):
        r = render_chat(msgs, detection)
    assert r.prompt == "<s>[INST] Hi [/INST]Hello!</s>[INST] x [/INST]"
    assert "refused" in caplog.text


def test_deepseek_r1_official_template_renders() -> None:
    msgs = [
        SystemMessage("S"),
        HumanMessage("Hi"),
        AIMessage("<think>x</think>Yo"),
        HumanMessage("?"),
    ]
    r = render_chat(msgs, official.DEEPSEEK_R1_DISTILL, bos_token=DS_BOS)
    assert r.prompt == (
        DS_BOS
        + "S"
        + DS_USER
        + "Hi"
        + DS_ASSISTANT
        + "Yo"
        + DS_EOS
        + DS_USER
        + "?"
        + DS_ASSISTANT
        + "<think>\n"
    )
    # The family renders the same conversation without the forced <think>.
    assert render_chat(msgs, "deepseek").prompt + "<think>\n" == r.prompt


def test_template_without_family_uses_eos_as_stop() -> None:
    r = render_chat([HumanMessage("Hi")], "{{ messages[0].content }}", eos_token="<end>")
    assert r == RenderedPrompt(prompt="Hi", stop=("<end>",), bos_included=False, family=None)


def test_detection_without_family_or_template_cannot_render() -> None:
    with pytest.raises(TemplateError, match="No prompt format"):
        render_chat(SYSTEM_AND_USER, detect("no-such-model"))


def test_tool_definitions_reach_the_template() -> None:
    tools = [{"type": "function", "function": {"name": "calculator", "parameters": {}}}]
    template = "{% for t in tools %}{{ t.function.name }}{% endfor %}"
    assert render_chat([HumanMessage("Hi")], template, tools=tools).prompt == "calculator"


def test_folded_tool_call_text_is_json() -> None:
    text = render_chat(WITH_TOOL, "phi3").prompt
    line = text.split("<|assistant|>\n")[1].split("<|end|>")[0]
    assert json.loads(line) == {"name": "calculator", "arguments": {"expression": "2+2"}}


def test_all_registered_families_render() -> None:
    for fam in list_families():
        assert render_chat(WITH_TOOL, fam).prompt


def detect_from_template(template: str):  # type: ignore[no-untyped-def]
    from langchain_localkit.prompts import Detection, recognize_template

    family, exact = recognize_template(template)
    return Detection(family, "chat_template", "test", chat_template=template, template_exact=exact)


def test_gpt_oss_reasoning_effort_and_date() -> None:
    hi = [HumanMessage("Hi")]
    high = render_chat(hi, "gpt-oss", template_kwargs={"reasoning_effort": "high"}).prompt
    assert high == GPT_OSS_SYSTEM.replace("medium", "high") + (
        "<|start|>user<|message|>Hi<|end|><|start|>assistant"
    )
    # gpt-oss always thinks: "no thinking" asks for as little as it can.
    off = render_chat(hi, "gpt-oss", template_kwargs={"enable_thinking": False}).prompt
    assert "\nReasoning: low\n" in off
    dated = render_chat(hi, "gpt-oss", template_kwargs={"date_string": "2026-01-02"}).prompt
    assert "Knowledge cutoff: 2024-06\nCurrent date: 2026-01-02\n\nReasoning: medium" in dated


def test_gpt_oss_drops_earlier_thoughts() -> None:
    msgs = [
        HumanMessage("Hi"),
        AIMessage("Hello!", additional_kwargs={"reasoning_content": "greet back"}),
        HumanMessage("Bye"),
    ]
    prompt = render_chat(msgs, "gpt-oss").prompt
    assert "greet back" not in prompt
    assert "<|start|>assistant<|channel|>final<|message|>Hello!<|end|>" in prompt


def test_gpt_oss_template_renders_tools_natively_with_the_open_loop_thoughts() -> None:
    from langchain_localkit.prompts._builtin_families import chat_template

    call = AIMessage(
        "",
        tool_calls=[{"name": "calculator", "args": {"expression": "2+2"}, "id": "call_1"}],
        additional_kwargs={"reasoning_content": "Need the calculator."},
    )
    msgs = [HumanMessage("What is 2+2?"), call, ToolMessage("4", tool_call_id="call_1")]
    open_loop = render_chat(msgs, chat_template("gpt-oss")).prompt
    assert open_loop == GPT_OSS_SYSTEM + (
        "<|start|>user<|message|>What is 2+2?<|end|>"
        "<|start|>assistant<|channel|>analysis<|message|>Need the calculator.<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.calculator <|constrain|>json"
        '<|message|>{"expression": "2+2"}<|call|>'
        "<|start|>functions.calculator to=assistant<|channel|>commentary<|message|>4<|end|>"
        "<|start|>assistant"
    )
    closed = render_chat([*msgs, AIMessage("4."), HumanMessage("Thanks")], chat_template("gpt-oss"))
    assert "Need the calculator." not in closed.prompt
    assert "<|channel|>final<|message|>4.<|end|>" in closed.prompt


def test_gpt_oss_matches_the_shape_of_the_official_template() -> None:
    from datetime import datetime

    today = datetime.now().strftime("%Y-%m-%d")
    ours = render_chat(MULTI_TURN, "gpt-oss", template_kwargs={"date_string": today}).prompt
    reference = render_chat(MULTI_TURN, official.GPT_OSS_ABRIDGED).prompt
    # The official template leaves a blank line at the end of the developer message.
    assert ours == reference.replace("\n\n<|end|>", "<|end|>")
    assert detect_from_template(official.GPT_OSS_ABRIDGED).name == "gpt-oss"
