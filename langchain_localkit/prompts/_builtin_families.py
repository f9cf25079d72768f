"""The built-in model families, and their chat templates (package data in `chat_templates/`).

Each template is `chat_templates/<name>.jinja`, our own, written for Hugging Face-style messages
from the model's published format (the official `tokenizer_config.json` templates, the FastChat
conversation formats for Vicuna and the Stanford Alpaca prompt). The Jinja comment that opens a
file names its family and the source it follows; it is not part of the template. Whitespace is
controlled explicitly with `{%- -%}`, so the files' layout does not leak into the prompt.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from langchain_localkit.prompts._family import ModelFamily

_HEADER = re.compile(r"\{#.*?#\}\n", re.DOTALL)


@cache
def chat_template(name: str) -> str:
    """The built-in chat template `chat_templates/<name>.jinja`, without its header comment.

    Example:
        >>> from langchain_localkit.prompts._builtin_families import chat_template
        >>> chat_template("phi3").splitlines()[0]
        '{%- for message in messages -%}'
    """
    path = resources.files("langchain_localkit.prompts") / "chat_templates" / f"{name}.jinja"
    text = path.read_text(encoding="utf-8")
    header = _HEADER.match(text)
    return text[header.end() :] if header else text


def _ds(name: str) -> str:
    """A DeepSeek special token: fullwidth bars around words joined by U+2581."""
    return "<\uff5c" + name.replace(" ", "\u2581") + "\uff5c>"


DEEPSEEK_BOS = _ds("begin of sentence")
DEEPSEEK_EOS = _ds("end of sentence")
DEEPSEEK_USER = _ds("User")
DEEPSEEK_ASSISTANT = _ds("Assistant")
_DS_TOOL_TOKENS = tuple(
    _ds("tool " + what)
    for what in (
        "calls begin",
        "calls end",
        "call begin",
        "call end",
        "sep",
        "outputs begin",
        "outputs end",
        "output begin",
        "output end",
    )
)

BUILTIN_FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily(
        name="llama3",
        aliases=("llama-3", "llama3.1", "llama3.2", "llama3.3"),
        description="Meta Llama 3, 3.1, 3.2 and 3.3 Instruct",
        template=chat_template("llama3"),
        bos="<|begin_of_text|>",
        eos="<|eot_id|>",
        stop=("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"),
        control_strings=(
            "<|begin_of_text|>",
            "<|end_of_text|>",
            "<|start_header_id|>",
            "<|end_header_id|>",
            "<|eot_id|>",
            "<|eom_id|>",
            "<|python_tag|>",
        ),
        supports_tools=True,
        name_patterns=(r"llama-?3(?![0-9])",),
        template_markers=(("<|start_header_id|>", "<|eot_id|>"),),
    ),
    ModelFamily(
        name="deepseek",
        aliases=("deepseek-r1", "deepseek-v3", "deepseek3"),
        description="DeepSeek V2.5, V3 and R1 (and the R1 distills of Qwen and Llama)",
        template=chat_template("deepseek"),
        bos=DEEPSEEK_BOS,
        eos=DEEPSEEK_EOS,
        stop=(DEEPSEEK_EOS, DEEPSEEK_USER),
        control_strings=(
            DEEPSEEK_BOS,
            DEEPSEEK_EOS,
            DEEPSEEK_USER,
            DEEPSEEK_ASSISTANT,
            *_DS_TOOL_TOKENS,
        ),
        supports_tools=True,
        architectures=("deepseek2", "deepseek3"),
        name_patterns=(r"deepseek-?v3", r"deepseek-?v2\.5"),
        finetune_patterns=(r"deepseek-?r1",),
        template_markers=((DEEPSEEK_USER,), (DEEPSEEK_ASSISTANT,)),
        thinking="think",
    ),
    ModelFamily(
        name="deepseek-coder",
        aliases=("deepseek_coder",),
        description="DeepSeek Coder (v1) Instruct",
        template=chat_template("deepseek-coder"),
        bos=DEEPSEEK_BOS,
        eos="<|EOT|>",
        stop=("<|EOT|>", "### Instruction:"),
        control_strings=(
            DEEPSEEK_BOS,
            DEEPSEEK_EOS,
            "<|EOT|>",
            "### Instruction:",
            "### Response:",
        ),
        name_patterns=(r"deepseek-?coder(?!-?v2)",),
        template_markers=(("### Instruction:", "<|EOT|>"),),
    ),
    ModelFamily(
        name="gpt-oss",
        aliases=("gptoss", "harmony"),
        description="OpenAI gpt-oss (Harmony format: analysis, commentary and final channels)",
        template=chat_template("gpt-oss"),
        eos="<|return|>",
        stop=("<|return|>", "<|call|>"),
        control_strings=(
            "<|start|>",
            "<|end|>",
            "<|message|>",
            "<|channel|>",
            "<|constrain|>",
            "<|return|>",
            "<|call|>",
            "<|startoftext|>",
            "<|endoftext|>",
        ),
        architectures=("gpt-oss",),
        name_patterns=(r"gpt-?oss",),
        template_markers=(("<|channel|>", "<|start|>"),),
        thinking="harmony",
    ),
    ModelFamily(
        name="chatml",
        aliases=("qwen", "qwen2", "qwen2.5", "qwen3", "openhermes", "hermes"),
        description="ChatML: Qwen, OpenHermes, Nous Hermes 2/3, Dolphin, Orca 2, SmolLM, ...",
        template=chat_template("chatml"),
        eos="<|im_end|>",
        stop=("<|im_end|>", "<|im_start|>", "<|endoftext|>"),
        control_strings=(
            "<|im_start|>",
            "<|im_end|>",
            "<|endoftext|>",
            "<tool_call>",
            "</tool_call>",
            "<tool_response>",
            "</tool_response>",
        ),
        supports_tools=True,
        architectures=("qwen", "qwen2", "qwen2moe", "qwen3", "qwen3moe"),
        name_patterns=(r"qwen", r"qwq", r"smollm"),
        finetune_patterns=(
            r"openhermes",
            r"nous-hermes-?2",
            r"hermes-?2-pro",
            r"hermes-?3",
            r"dolphin",
            r"openorca(?!-?platypus)",
            r"orca-?2",
        ),
        template_markers=(("<|im_start|>",),),
        known_templates=(chat_template("chatml-standard"),),
        thinking="think",  # Qwen3, QwQ, SmolLM3
    ),
    ModelFamily(
        name="gemma",
        aliases=("gemma2", "gemma3", "gemma-3"),
        description="Google Gemma 1, 2 and 3 (instruction-tuned)",
        template=chat_template("gemma"),
        bos="<bos>",
        eos="<end_of_turn>",
        stop=("<end_of_turn>", "<eos>", "<start_of_turn>"),
        control_strings=("<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"),
        supports_system=False,
        alternating=True,
        architectures=("gemma", "gemma2", "gemma3", "gemma3n"),
        name_patterns=(r"gemma",),
        template_markers=(("<start_of_turn>",),),
    ),
    ModelFamily(
        name="phi3",
        aliases=("phi-3", "phi3.5", "phi-3.5"),
        description="Microsoft Phi-3, Phi-3.5 and Phi-4-mini instruct",
        template=chat_template("phi3"),
        bos="<s>",
        eos="<|end|>",
        stop=("<|end|>", "<|endoftext|>", "<|user|>"),
        control_strings=(
            "<s>",
            "</s>",
            "<|system|>",
            "<|user|>",
            "<|assistant|>",
            "<|end|>",
            "<|endoftext|>",
        ),
        architectures=("phi3",),
        name_patterns=(r"phi-?3(?![0-9])", r"phi-?4-mini"),
        template_markers=(("<|user|>", "<|end|>"),),
    ),
    ModelFamily(
        name="zephyr",
        aliases=("tinyllama",),
        description="Zephyr, TinyLlama Chat, StableLM Zephyr",
        template=chat_template("zephyr"),
        bos="<s>",
        eos="</s>",
        stop=("</s>", "<|user|>"),
        control_strings=("<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"),
        name_patterns=(r"zephyr",),
        finetune_patterns=(r"tiny-?llama",),
        template_markers=(("<|user|>", "<|assistant|>"),),
    ),
    ModelFamily(
        name="llama2",
        aliases=("llama-2", "llama2-chat", "codellama"),
        description="Meta Llama 2 Chat and Code Llama Instruct",
        template=chat_template("llama2"),
        bos="<s>",
        eos="</s>",
        stop=("</s>", "[INST]"),
        control_strings=("<s>", "</s>", "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>"),
        alternating=True,
        name_patterns=(r"llama-?2(?![0-9])", r"codellama", r"code-llama"),
        template_markers=(("[INST]", "<<SYS>>"),),
    ),
    ModelFamily(
        name="mistral",
        aliases=("mistral-instruct", "mixtral"),
        description="Mistral and Mixtral Instruct",
        template=chat_template("mistral"),
        bos="<s>",
        eos="</s>",
        stop=("</s>", "[INST]"),
        control_strings=(
            "<s>",
            "</s>",
            "[INST]",
            "[/INST]",
            "[TOOL_CALLS]",
            "[AVAILABLE_TOOLS]",
            "[/AVAILABLE_TOOLS]",
            "[TOOL_RESULTS]",
            "[/TOOL_RESULTS]",
            "[SYSTEM_PROMPT]",
            "[/SYSTEM_PROMPT]",
        ),
        supports_system=False,
        alternating=True,
        name_patterns=(r"mistral", r"mixtral", r"codestral"),
        template_markers=(("[INST]",),),
    ),
    ModelFamily(
        name="vicuna",
        aliases=("vicuna-v1.1",),
        description="Vicuna v1.1+ and WizardLM (USER: / ASSISTANT:)",
        template=chat_template("vicuna"),
        bos="<s>",
        eos="</s>",
        stop=("</s>", "USER:"),
        control_strings=("<s>", "</s>", "USER:", "ASSISTANT:"),
        name_patterns=(r"vicuna",),
        finetune_patterns=(r"wizardlm",),
        template_markers=(("USER:", "ASSISTANT:"),),
    ),
    ModelFamily(
        name="alpaca",
        aliases=("alpaca-instruct",),
        description="Alpaca-style instructions: Alpaca, OpenOrca-Platypus2, Nous-Hermes (v1)",
        template=chat_template("alpaca"),
        bos="<s>",
        eos="</s>",
        stop=("</s>", "### Instruction:"),
        control_strings=("<s>", "</s>", "### Instruction:", "### Input:", "### Response:"),
        name_patterns=(r"alpaca",),
        finetune_patterns=(r"openorca-?platypus", r"platypus", r"nous-hermes(?!-?2)"),
        template_markers=(("### Instruction:", "### Response:"),),
    ),
)

__all__ = ["BUILTIN_FAMILIES", "chat_template"]
