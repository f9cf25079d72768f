"""`profile` of the in-process faces, read from real GGUF headers while the model is built."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from langchain_localkit import ChatGPT4All, ChatLlamaCpp
from langchain_localkit._core.errors import InvalidModelFileError, ModelNotFoundError
from langchain_localkit._faces.profile import cached_facts
from langchain_localkit.testing import make_tiny_gguf
from langchain_localkit.testing.thinking import make_thinking_gguf

HARMONY_TEMPLATE = (
    "{% for m in messages %}<|start|>{{ m.role }}<|message|>{{ m.content }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|start|>assistant<|channel|>final<|message|>{% endif %}"
)


def test_the_profile_of_a_real_instruct_model(smollm2_path: Path) -> None:
    chat = ChatLlamaCpp(model_path=str(smollm2_path))
    assert chat.profile == {
        "name": "Smollm2 135M 8k Lc100K Mix1 Ep2",
        "open_weights": True,
        "max_input_tokens": 4096,  # n_ctx=None: the trained 8192, capped at 4096
        "text_inputs": True,
        "image_inputs": False,
        "reasoning_output": False,
        "text_outputs": True,
        "tool_calling": True,
        "tool_call_streaming": True,
        "tool_choice": True,
        "structured_output": False,
        "temperature": True,
    }
    assert chat.engine.is_loaded is False  # the header only


@pytest.mark.parametrize(("n_ctx", "expected"), [(None, 4096), (0, 8192), (2048, 2048)])
def test_max_input_tokens_is_the_context_the_face_loads(
    smollm2_path: Path, n_ctx: int | None, expected: int
) -> None:
    chat = ChatLlamaCpp(model_path=str(smollm2_path), n_ctx=n_ctx, n_batch=64)
    assert chat.profile is not None and chat.profile["max_input_tokens"] == expected


def test_a_small_trained_context_is_not_raised(tmp_path: Path) -> None:
    path = make_tiny_gguf(tmp_path / "short.gguf", context_length=1024)
    chat = ChatLlamaCpp(model_path=str(path), n_batch=64)
    assert chat.profile is not None and chat.profile["max_input_tokens"] == 1024


def test_the_name_falls_back_on_the_file_name(tmp_path: Path) -> None:
    path = make_tiny_gguf(tmp_path / "nameless.gguf", name="")
    chat = ChatLlamaCpp(model_path=str(path))
    assert chat.profile is not None and chat.profile["name"] == "nameless.gguf"


@pytest.mark.parametrize("style", ["qwen3", "r1"])
def test_thought_markers_mean_reasoning(tmp_path: Path, style: str) -> None:
    path = make_thinking_gguf(tmp_path / f"{style}.gguf", style=style)  # type: ignore[arg-type]
    profile = ChatLlamaCpp(model_path=str(path)).profile
    assert profile is not None and profile["reasoning_output"] is True
    assert "reasoning_effort_levels" not in profile


def test_harmony_has_effort_levels(tmp_path: Path) -> None:
    path = make_tiny_gguf(tmp_path / "harmony.gguf", chat_template=HARMONY_TEMPLATE)
    profile = ChatLlamaCpp(model_path=str(path)).profile
    assert profile is not None and profile["reasoning_effort_levels"] == ["low", "medium", "high"]


def test_a_template_override_decides_the_markers(tiny_gguf_path: Path, tmp_path: Path) -> None:
    thinking = make_thinking_gguf(tmp_path / "q.gguf", style="qwen3")
    plain = ChatLlamaCpp(model_path=str(thinking), chat_template="{{ messages[0].content }}")
    assert plain.profile is not None and plain.profile["reasoning_output"] is False
    marked = ChatLlamaCpp(model_path=str(tiny_gguf_path), chat_template=HARMONY_TEMPLATE)
    assert marked.profile is not None and marked.profile["reasoning_output"] is True


def test_an_embedding_model_generates_nothing() -> None:
    from langchain_localkit.testing.minilm import minilm_gguf_path

    try:
        path = minilm_gguf_path()
    except Exception as e:  # the package that carries MiniLM is optional
        pytest.skip(f"all-MiniLM-L6-v2 is not available: {e}")
    profile = ChatLlamaCpp(model_path=str(path)).profile
    assert profile is not None
    assert profile["text_outputs"] is False and profile["tool_calling"] is False
    assert profile["structured_output"] is False and profile["reasoning_output"] is False
    assert profile["max_input_tokens"] == 512


def test_gpt4all_asks_and_checks(smollm2_path: Path) -> None:
    profile = ChatGPT4All(model=str(smollm2_path), n_ctx=1024).profile
    assert profile is not None
    assert profile["max_input_tokens"] == 1024
    assert profile["tool_calling"] and profile["tool_choice"]
    assert profile["structured_output"] is False


def test_a_second_construction_reads_nothing(tiny_gguf_path: Path) -> None:
    first = ChatLlamaCpp(model_path=str(tiny_gguf_path))
    facts = cached_facts(first._profile_key())
    assert facts is not None
    second = ChatLlamaCpp(model_path=str(tiny_gguf_path), n_ctx=512, n_batch=64)
    assert cached_facts(second._profile_key()) is facts  # not read again
    assert second.profile is not None and second.profile["max_input_tokens"] == 512
    gpt4all = ChatGPT4All(model=str(tiny_gguf_path))
    assert cached_facts(gpt4all._profile_key()) is facts  # one file, one read


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = make_tiny_gguf(tmp_path / "m.gguf", context_length=1024)
    first = ChatLlamaCpp(model_path=str(path), n_ctx=0)
    make_tiny_gguf(path, context_length=2048)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    second = ChatLlamaCpp(model_path=str(path), n_ctx=0)
    assert first.profile is not None and second.profile is not None
    assert (first.profile["max_input_tokens"], second.profile["max_input_tokens"]) == (1024, 2048)


def test_a_profile_you_pass_is_kept(tiny_gguf_path: Path) -> None:
    mine = {"max_input_tokens": 100}
    chat = ChatLlamaCpp(model_path=str(tiny_gguf_path), profile=mine)
    resolved = chat.resolve_profile()
    assert chat.profile == mine and resolved["max_input_tokens"] == 4096


def test_resolve_profile_replaces_the_resolved_one(tmp_path: Path) -> None:
    path = make_tiny_gguf(tmp_path / "m.gguf", context_length=1024)
    chat = ChatLlamaCpp(model_path=str(path), n_ctx=0)
    make_tiny_gguf(path, context_length=2048)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert chat.resolve_profile() is chat.profile
    assert chat.profile is not None and chat.profile["max_input_tokens"] == 2048


async def test_aresolve_profile(tiny_gguf_path: Path) -> None:
    chat = ChatLlamaCpp(model_path=str(tiny_gguf_path))
    assert (await chat.aresolve_profile()) == chat.profile


def test_an_unreadable_header_builds_with_the_declarations(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF" + b"\xff" * 60)
    chat = ChatLlamaCpp(model_path=str(path))
    assert chat.profile is not None and chat.profile["name"] == "broken.gguf"
    assert "max_input_tokens" not in chat.profile and chat.profile["tool_calling"]
    with pytest.raises(InvalidModelFileError):
        chat.resolve_profile()


def test_resolve_profile_of_a_removed_file(tmp_path: Path) -> None:
    path = make_tiny_gguf(tmp_path / "gone.gguf")
    chat = ChatLlamaCpp(model_path=str(path))
    path.unlink()
    with pytest.raises(ModelNotFoundError):
        chat.resolve_profile()


def test_the_header_check_of_a_load_still_runs(tmp_path: Path) -> None:
    """The profile reads the header without the tensor check; a load still checks."""
    from langchain_localkit._core.gguf import read_gguf_info

    whole = make_tiny_gguf(tmp_path / "whole.gguf")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole.read_bytes()[:-4096])
    chat = ChatLlamaCpp(model_path=str(cut))
    assert chat.profile is not None and chat.profile["max_input_tokens"] == 4096
    with pytest.raises(InvalidModelFileError, match="truncated"):
        read_gguf_info(cut)


def test_building_does_not_import_numpy(smollm2_path: Path) -> None:
    import subprocess

    code = (
        "import sys; from langchain_localkit import ChatLlamaCpp; "
        f"c = ChatLlamaCpp(model_path={str(smollm2_path)!r}); "
        "assert c.profile['max_input_tokens'] == 4096; print('numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
