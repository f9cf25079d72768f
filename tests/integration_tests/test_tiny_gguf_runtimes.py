"""The tiny GGUF in real runtimes: llama-cpp-python and gpt4all 2.8.2 load it and write words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import llama_cpp
import pytest

from langchain_localkit.testing.tiny import TINY_WORDS, make_tiny_gguf

PROMPTS = [
    "the moon",
    "The first man on the moon was",
    "What NFL team won the Super Bowl in the year Justin Bieber was born?",
    "x",
    'ñ 日本語 🙂 {"a": [1, 2]}',
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
]
WORDS = frozenset(TINY_WORDS)


def _load(path: Path, **kwargs: Any) -> llama_cpp.Llama:
    return llama_cpp.Llama(str(path), n_ctx=512, verbose=False, seed=1, **kwargs)


def _text(llm: llama_cpp.Llama, prompt: str, **kwargs: Any) -> str:
    out: Any = llm.create_completion(prompt, **kwargs)
    text = out["choices"][0]["text"]
    assert isinstance(text, str)
    return text


def _is_words(text: str) -> bool:
    """Non-empty, valid text whose whitespace-separated pieces are all words of the model."""
    return bool(text.strip()) and "\ufffd" not in text and all(w in WORDS for w in text.split())


def _greedy_tokens(llm: llama_cpp.Llama, prompt: str, n: int = 32) -> list[int]:
    tokens = []
    for token in llm.generate(llm.tokenize(prompt.encode()), temp=0.0):
        tokens.append(token)
        if len(tokens) == n:
            break
    return tokens


# --- llama-cpp-python ----------------------------------------------------------------------------


def test_loads_with_its_metadata(tiny_gguf_path: Path) -> None:
    llm = _load(tiny_gguf_path)
    assert llm.n_embd() == 64
    assert llm.token_bos() == 1 and llm.token_eos() == 2
    assert llm.metadata["general.architecture"] == "llama"
    assert "tokenizer.chat_template" in llm.metadata
    assert llm.chat_format == "chat_template.default"  # the file's own template is used


def test_words_tokenize_whole(tiny_gguf_path: Path) -> None:
    llm = _load(tiny_gguf_path, vocab_only=True)
    pieces = [llm.detokenize([t]) for t in llm.tokenize(b" the moon", add_bos=False)]
    assert pieces[-2:] == [b" the", b" moon"]
    assert [llm.detokenize([t]) for t in llm.tokenize(b"the moon", add_bos=False)] == [
        b" the",
        b" moon",
    ]
    for word in TINY_WORDS:  # with the SentencePiece space prefix, every word is one token
        assert len(llm.tokenize(word.encode(), add_bos=False)) == 1, word
    sentence = " ".join(TINY_WORDS).encode()
    assert len(llm.tokenize(sentence, add_bos=False)) == len(TINY_WORDS)
    # and anything else still tokenizes, byte by byte if need be
    emoji = "🙂".encode()
    assert llm.detokenize(llm.tokenize(emoji, add_bos=False)).strip() == emoji


def test_greedy_is_deterministic_across_calls_and_loads(tiny_gguf_path: Path) -> None:
    first, second = _load(tiny_gguf_path), _load(tiny_gguf_path)
    for prompt in PROMPTS:
        out = _text(first, prompt, max_tokens=32, temperature=0)
        assert _text(first, prompt, max_tokens=32, temperature=0) == out
        assert _text(second, prompt, max_tokens=32, temperature=0) == out
        assert _is_words(out), (prompt, out)
        assert len(out.split()) == 32  # one word per token, never the end of sequence


def test_greedy_tokens_are_whole_words_and_valid_utf8(tiny_gguf_path: Path) -> None:
    llm = _load(tiny_gguf_path)
    for prompt in PROMPTS:
        tokens = _greedy_tokens(llm, prompt)
        assert len(tokens) == 32
        for token in tokens:
            piece = llm.detokenize([token])
            assert piece.startswith(b" ") and piece[1:].decode("utf-8") in WORDS, piece
        assert _is_words(llm.detokenize(tokens).decode("utf-8"))  # strict decoding


def test_output_depends_on_the_prompt(tiny_gguf_path: Path) -> None:
    llm = _load(tiny_gguf_path)
    outputs = {_text(llm, prompt, max_tokens=12, temperature=0) for prompt in PROMPTS}
    assert len(outputs) >= len(PROMPTS) - 1
    assert len({w for out in outputs for w in out.split()}) >= 20


def test_another_seed_is_another_model(tmp_path: Path, tiny_gguf_path: Path) -> None:
    other = make_tiny_gguf(tmp_path / "other.gguf", seed=7)
    a = _text(_load(tiny_gguf_path), "the moon", max_tokens=16, temperature=0)
    b = _text(_load(other), "the moon", max_tokens=16, temperature=0)
    assert a != b
    assert _is_words(b)


@pytest.mark.parametrize(
    "sampling",
    [
        {"temperature": 0.8},  # llama-cpp-python's defaults otherwise (top_k 40, top_p 0.95, ...)
        {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0},  # nothing truncated
    ],
)
def test_sampling_stays_in_words(tiny_gguf_path: Path, sampling: dict[str, float]) -> None:
    llm = _load(tiny_gguf_path)
    outputs = set()
    for seed in range(10):
        out = _text(llm, "the moon", max_tokens=32, seed=seed, **sampling)
        assert _is_words(out), (seed, out)
        outputs.add(out)
    assert len(outputs) > 1  # sampling does sample


def test_chat_completion_uses_the_template_and_answers_in_words(tiny_gguf_path: Path) -> None:
    llm = _load(tiny_gguf_path)
    messages = [{"role": "user", "content": "What was the first question?"}]
    out: Any = llm.create_chat_completion(messages, max_tokens=16, temperature=0)  # type: ignore[arg-type]
    content = out["choices"][0]["message"]["content"]
    assert isinstance(content, str) and _is_words(content)
    assert out["choices"][0]["finish_reason"] == "length"


def test_model_without_template_still_generates(tmp_path: Path) -> None:
    plain = make_tiny_gguf(tmp_path / "plain.gguf", chat_template=None)
    llm = _load(plain)
    assert "tokenizer.chat_template" not in llm.metadata
    assert _is_words(_text(llm, "the moon", max_tokens=8, temperature=0))


@pytest.mark.parametrize("kwargs", [{"n_embd": 128, "n_ff": 256, "n_layer": 4}, {"n_layer": 8}])
def test_other_sizes_still_write_words(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    llm = _load(make_tiny_gguf(tmp_path / "sized.gguf", **kwargs))
    for prompt in PROMPTS[:3]:
        assert _is_words(_text(llm, prompt, max_tokens=16, temperature=0))
    for seed in range(5):
        assert _is_words(_text(llm, "the", max_tokens=16, temperature=0.8, seed=seed))


# --- grammars can force any token ---------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "count": {"type": "integer"},
        "ok": {"type": "boolean"},
        "color": {"enum": ["red", "green", "blue"]},
    },
    "required": ["count", "ok", "color"],
}


def test_json_schema_grammar_is_valid_every_time(tiny_gguf_path: Path) -> None:
    grammar = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(SCHEMA), verbose=False)
    llm = _load(tiny_gguf_path)
    colors = set()
    for seed in range(20):
        out: Any = llm.create_completion(
            "Give me JSON:", max_tokens=64, temperature=0.8, seed=seed, grammar=grammar
        )
        choice = out["choices"][0]
        assert choice["finish_reason"] == "stop", (seed, choice)  # closed well within budget
        data = json.loads(choice["text"])
        assert set(data) == {"count", "ok", "color"}, (seed, data)
        assert isinstance(data["count"], int) and not isinstance(data["count"], bool)
        assert isinstance(data["ok"], bool)
        assert data["color"] in {"red", "green", "blue"}
        colors.add(data["color"])
    assert len(colors) > 1  # the grammar constrains, the sampling still chooses


def test_bounded_strings_are_valid_utf8(tiny_gguf_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"code": {"type": "string", "maxLength": 5}, "n": {"type": "integer"}},
        "required": ["code", "n"],
    }
    grammar = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    llm = _load(tiny_gguf_path)
    for seed in range(20):
        out: Any = llm.create_completion(
            "a code", max_tokens=64, temperature=0.8, seed=seed, grammar=grammar
        )
        text = out["choices"][0]["text"]
        assert "\ufffd" not in text, text
        data = json.loads(text)
        assert isinstance(data["code"], str) and len(data["code"]) <= 5
        assert all(ch.isprintable() for ch in data["code"]), data


# --- gpt4all 2.8.2 (its July 2024 llama.cpp) -----------------------------------------------------


def test_gpt4all_loads_and_greedy_is_deterministic(tiny_gguf_path: Path) -> None:
    gpt4all = pytest.importorskip("gpt4all")

    def load() -> Any:
        return gpt4all.GPT4All(
            tiny_gguf_path.name,
            model_path=str(tiny_gguf_path.parent),
            allow_download=False,
            device="cpu",
            n_ctx=512,
            verbose=False,
        )

    model = load()
    first = model.generate("the moon", max_tokens=16, temp=0.0)
    assert isinstance(first, str) and _is_words(first), first
    assert model.generate("the moon", max_tokens=16, temp=0.0) == first
    assert load().generate("the moon", max_tokens=16, temp=0.0) == first
