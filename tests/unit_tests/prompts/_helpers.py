"""Shared test data for the prompt pack: conversations, GGUF writers, tokens written by hand."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

# The standard ChatML template, exactly as the tiny test GGUF carries it.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

SYSTEM_AND_USER = [SystemMessage("You are terse."), HumanMessage("Hi")]
MULTI_TURN = [
    SystemMessage("You are terse."),
    HumanMessage("Hi"),
    AIMessage("Hello!"),
    HumanMessage("What is 2+2?"),
]
WITH_TOOL = [
    SystemMessage("You are terse."),
    HumanMessage("What is 2+2?"),
    AIMessage(
        "",
        tool_calls=[{"name": "calculator", "args": {"expression": "2+2"}, "id": "call_1"}],
    ),
    ToolMessage("4", tool_call_id="call_1"),
]

# DeepSeek's special tokens, spelled out with escapes: fullwidth bars (U+FF5C) and U+2581.
DS_BOS = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
DS_EOS = "<\uff5cend\u2581of\u2581sentence\uff5c>"
DS_USER = "<\uff5cUser\uff5c>"
DS_ASSISTANT = "<\uff5cAssistant\uff5c>"
DS_CALLS_BEGIN = "<\uff5ctool\u2581calls\u2581begin\uff5c>"
DS_CALLS_END = "<\uff5ctool\u2581calls\u2581end\uff5c>"
DS_CALL_BEGIN = "<\uff5ctool\u2581call\u2581begin\uff5c>"
DS_CALL_END = "<\uff5ctool\u2581call\u2581end\uff5c>"
DS_SEP = "<\uff5ctool\u2581sep\uff5c>"
DS_OUTPUTS_BEGIN = "<\uff5ctool\u2581outputs\u2581begin\uff5c>"
DS_OUTPUTS_END = "<\uff5ctool\u2581outputs\u2581end\uff5c>"
DS_OUTPUT_BEGIN = "<\uff5ctool\u2581output\u2581begin\uff5c>"
DS_OUTPUT_END = "<\uff5ctool\u2581output\u2581end\uff5c>"


def write_gguf(
    path: Path,
    *,
    architecture: str,
    name: str | None = None,
    chat_template: str | None = None,
    basename: str | None = None,
) -> Path:
    """A metadata-only GGUF (no tensors): enough for header-based detection."""
    import gguf

    writer = gguf.GGUFWriter(str(path), architecture)
    if name is not None:
        writer.add_name(name)
    if basename is not None:
        writer.add_string("general.basename", basename)
    if chat_template is not None:
        writer.add_chat_template(chat_template)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
