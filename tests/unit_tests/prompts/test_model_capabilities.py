"""`gguf_capabilities`: what a real GGUF header says its model can do."""

from pathlib import Path

import gguf
import pytest

from langchain_localkit._core.gguf import read_gguf_info
from langchain_localkit.prompts.capabilities import (
    ModelCapabilities,
    gguf_capabilities,
    quantization_of,
)
from langchain_localkit.testing import make_tiny_gguf
from langchain_localkit.testing.thinking import make_thinking_gguf

TOOLS_TEMPLATE = (
    "{% if tools %}<|im_start|>system\n{{ tools | tojson }}<|im_end|>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def caps(path: Path) -> ModelCapabilities:
    return gguf_capabilities(read_gguf_info(path))


def test_a_chat_model_without_tools_or_thoughts(tiny_gguf_path: Path) -> None:
    found = caps(tiny_gguf_path)
    assert found.names() == ("completion", "chat")
    assert (found.family, found.context_length, found.quantization) == ("chatml", 4096, "F32")
    assert not found.embedding_only and found.kind == "model"


def test_a_template_that_renders_tools(tmp_path: Path) -> None:
    path = make_tiny_gguf(tmp_path / "tools.gguf", chat_template=TOOLS_TEMPLATE)
    assert caps(path).names() == ("completion", "chat", "tools")


@pytest.mark.parametrize("style", ["qwen3", "r1"])
def test_thought_markers_in_the_template(tmp_path: Path, style: str) -> None:
    found = caps(make_thinking_gguf(tmp_path / f"{style}.gguf", style=style))
    assert found.thinking == "think" and "thinking" in found.names()


def test_no_template_falls_back_on_the_family(tmp_path: Path) -> None:
    path = make_tiny_gguf(tmp_path / "Meta-Llama-3-8B-Q4_K_M.gguf", chat_template=None, name="x")
    found = caps(path)
    assert found.family == "llama3" and found.names() == ("completion", "chat")
    assert found.quantization == "F32"  # the header's file type wins over the file name


def test_unknown_model_without_template_is_completion_only(tmp_path: Path) -> None:
    found = caps(make_tiny_gguf(tmp_path / "mystery.gguf", chat_template=None, name="zzz"))
    assert found.family is None and found.names() == ("completion",)


def test_real_instruct_model(smollm2_path: Path) -> None:
    found = caps(smollm2_path)
    assert found.names() == ("completion", "chat")
    assert (found.quantization, found.parameters, found.context_length) == ("Q4_1", "135M", 8192)


def _write_header(path: Path, arch: str, extra: dict[str, object]) -> Path:
    writer = gguf.GGUFWriter(str(path), arch)
    for key, value in extra.items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        else:
            writer.add_string(key, str(value))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_an_encoder_embeds_only(tmp_path: Path) -> None:
    path = _write_header(
        tmp_path / "minilm.gguf", "bert", {"bert.context_length": 512, "bert.pooling_type": 1}
    )
    found = caps(path)
    assert found.embedding_only and found.names() == ("embedding",) and found.family is None


def test_a_pooling_decoder_without_template_embeds_only(tmp_path: Path) -> None:
    path = _write_header(tmp_path / "qwen3-embedding.gguf", "qwen3", {"qwen3.pooling_type": 3})
    assert caps(path).names() == ("embedding",)


def test_a_vision_projector_is_not_a_model(tmp_path: Path) -> None:
    path = _write_header(tmp_path / "mmproj-model-f16.gguf", "clip", {"general.type": "mmproj"})
    found = caps(path)
    assert found.kind == "mmproj" and found.names() == ()


def test_quantization_from_the_file_name_when_the_header_has_none(tmp_path: Path) -> None:
    path = _write_header(tmp_path / "model-IQ4_XS.gguf", "llama", {})
    assert quantization_of(read_gguf_info(path)) == "IQ4_XS"
    plain = _write_header(tmp_path / "model.gguf", "llama", {})
    assert quantization_of(read_gguf_info(plain)) is None
