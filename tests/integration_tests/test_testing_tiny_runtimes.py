"""The tiny GGUF in real runtimes: llama-cpp-python and gpt4all 2.8.2 load it and decode words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_localkit._core.tools import json_schema_to_gbnf
from langchain_localkit.testing import make_tiny_gguf
from langchain_localkit.testing.tiny import TINY_WORDS

PROMPTS = ["the moon", "What NFL team won the Super Bowl?", "hello", "x"]


def _words_only(text: str) -> bool:
    return bool(text.strip()) and all(w in TINY_WORDS for w in text.split())


def test_llama_cpp_greedy_is_deterministic_words(tiny_gguf_path: Path) -> None:
    import llama_cpp

    first = llama_cpp.Llama(str(tiny_gguf_path), n_ctx=512, verbose=False, seed=1)
    second = llama_cpp.Llama(str(tiny_gguf_path), n_ctx=512, verbose=False, seed=2)
    for prompt in PROMPTS:
        out = first.create_completion(prompt, max_tokens=32, temperature=0)["choices"][0]["text"]
        assert (
            out
            == first.create_completion(prompt, max_tokens=32, temperature=0)["choices"][0]["text"]
        )
        assert (
            out
            == second.create_completion(prompt, max_tokens=32, temperature=0)["choices"][0]["text"]
        )
        assert _words_only(out), out


def test_llama_cpp_sampling_stays_in_words(tiny_gguf_path: Path) -> None:
    import llama_cpp

    llm = llama_cpp.Llama(str(tiny_gguf_path), n_ctx=512, verbose=False)
    for seed in range(10):
        out = llm.create_completion("the", max_tokens=32, temperature=1.0, seed=seed)
        assert _words_only(out["choices"][0]["text"])


def test_another_seed_is_another_model(tmp_path: Path, tiny_gguf_path: Path) -> None:
    import llama_cpp

    other = make_tiny_gguf(tmp_path / "other.gguf", seed=9)
    a = llama_cpp.Llama(str(tiny_gguf_path), n_ctx=256, verbose=False)
    b = llama_cpp.Llama(str(other), n_ctx=256, verbose=False)
    out_a = a.create_completion("the moon", max_tokens=16, temperature=0)["choices"][0]["text"]
    out_b = b.create_completion("the moon", max_tokens=16, temperature=0)["choices"][0]["text"]
    assert out_a != out_b


def test_json_schema_grammar_is_always_valid(tiny_gguf_path: Path) -> None:
    import llama_cpp

    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "ok": {"type": "boolean"},
            "color": {"enum": ["red", "green"]},
            "code": {"type": "string", "maxLength": 5},
        },
        "required": ["n", "ok", "color", "code"],
    }
    grammar = llama_cpp.LlamaGrammar.from_string(json_schema_to_gbnf(schema), verbose=False)
    llm = llama_cpp.Llama(str(tiny_gguf_path), n_ctx=512, verbose=False)
    for seed in range(20):
        out = llm.create_completion(
            "json", max_tokens=80, temperature=0.8, seed=seed, grammar=grammar
        )["choices"][0]["text"]
        data = json.loads(out)
        assert set(data) == {"n", "ok", "color", "code"}, out
        assert data["color"] in {"red", "green"} and len(data["code"]) <= 5


def test_gpt4all_loads_and_is_deterministic(tiny_gguf_path: Path) -> None:
    gpt4all = pytest.importorskip("gpt4all")
    model = gpt4all.GPT4All(
        tiny_gguf_path.name,
        model_path=str(tiny_gguf_path.parent),
        allow_download=False,
        device="cpu",
        n_ctx=512,
        verbose=False,
    )
    first = model.generate("the moon", max_tokens=16, temp=0.0)
    assert isinstance(first, str) and first.strip()
    assert model.generate("the moon", max_tokens=16, temp=0.0) == first
