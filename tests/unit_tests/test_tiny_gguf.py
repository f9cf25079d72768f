"""make_tiny_gguf writes a small, deterministic, well-formed llama GGUF (read back with gguf)."""

from __future__ import annotations

import hashlib
import itertools
import time
from pathlib import Path
from typing import Any

import gguf
import jinja2
import numpy as np
import pytest

from langchain_localkit.testing.tiny import TINY_CHAT_TEMPLATE, TINY_WORDS, make_tiny_gguf

SPACE = "\u2581"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _field(reader: gguf.GGUFReader, key: str) -> Any:
    field = reader.get_field(key)
    assert field is not None, f"missing key {key}"
    return field.contents()


SIZES = {  # make_tiny_gguf's size arguments, and the keys it writes them to
    "n_embd": "llama.embedding_length",
    "n_layer": "llama.block_count",
    "n_head": "llama.attention.head_count",
    "n_ff": "llama.feed_forward_length",
    "context_length": "llama.context_length",
}


def _sizes(reader: gguf.GGUFReader) -> dict[str, int]:
    """The sizes written in the file, by the names of make_tiny_gguf's arguments."""
    return {arg: _field(reader, key) for arg, key in SIZES.items()}


def _tensors(reader: gguf.GGUFReader) -> dict[str, np.ndarray]:
    return {t.name: np.asarray(t.data) for t in reader.tensors}


@pytest.fixture(scope="module")
def default_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny-llama.gguf")


@pytest.fixture(scope="module")
def reader(default_file: Path) -> gguf.GGUFReader:
    return gguf.GGUFReader(str(default_file))


@pytest.fixture(scope="module")
def vocab(reader: gguf.GGUFReader) -> list[str]:
    tokens = _field(reader, "tokenizer.ggml.tokens")
    assert isinstance(tokens, list)
    return tokens


# --- the file ------------------------------------------------------------------------------------


def test_writes_the_file_and_returns_its_path(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "dir" / "m.gguf"
    result = make_tiny_gguf(str(target))  # a str path works too; parents are created
    assert result == target and isinstance(result, Path)
    assert target.read_bytes()[:4] == b"GGUF"
    assert [p.name for p in target.parent.iterdir()] == ["m.gguf"]  # no temporary file left


def test_overwrites_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "m.gguf"
    target.write_bytes(b"old")
    make_tiny_gguf(target)
    assert target.read_bytes()[:4] == b"GGUF"


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = make_tiny_gguf(tmp_path / "a.gguf", seed=3)
    b = make_tiny_gguf(tmp_path / "b.gguf", seed=3)
    assert _sha(a) == _sha(b)


def test_other_seed_other_bytes_same_layout(tmp_path: Path) -> None:
    a = make_tiny_gguf(tmp_path / "a.gguf", seed=3)
    c = make_tiny_gguf(tmp_path / "c.gguf", seed=4)
    assert _sha(a) != _sha(c)
    assert a.stat().st_size == c.stat().st_size  # only the weights differ


def test_default_seed_is_zero(tmp_path: Path, default_file: Path) -> None:
    assert _sha(make_tiny_gguf(tmp_path / "z.gguf", seed=0)) == _sha(default_file)


def test_small_and_fast(tmp_path: Path) -> None:
    make_tiny_gguf(tmp_path / "warm.gguf")  # imports numpy and gguf
    start = time.perf_counter()
    path = make_tiny_gguf(tmp_path / "tiny.gguf")
    assert time.perf_counter() - start < 1.0
    assert path.stat().st_size < 2 * 1024 * 1024


# --- metadata ------------------------------------------------------------------------------------


def test_llama_metadata(reader: gguf.GGUFReader) -> None:
    assert _field(reader, "general.architecture") == "llama"
    assert _field(reader, "general.name") == "tiny-llama"
    assert _field(reader, "general.file_type") == int(gguf.LlamaFileType.ALL_F32)
    # gpt4all 2.8.2's llama.cpp (July 2024) refuses a llama file without n_ff and n_head
    sizes = {"n_embd": 64, "n_layer": 2, "n_head": 4, "n_ff": 128, "context_length": 4096}
    assert _sizes(reader) == sizes
    assert _field(reader, "llama.attention.head_count_kv") == 4
    assert _field(reader, "llama.attention.layer_norm_rms_epsilon") == pytest.approx(1e-5)
    assert _field(reader, "llama.rope.dimension_count") == 16
    assert _field(reader, "llama.rope.freq_base") == pytest.approx(10000.0)


def test_tokenizer_metadata(reader: gguf.GGUFReader, vocab: list[str]) -> None:
    assert _field(reader, "tokenizer.ggml.model") == "llama"
    assert _field(reader, "tokenizer.ggml.unknown_token_id") == 0
    assert _field(reader, "tokenizer.ggml.bos_token_id") == 1
    assert _field(reader, "tokenizer.ggml.eos_token_id") == 2
    assert _field(reader, "tokenizer.ggml.add_bos_token") is True
    assert _field(reader, "tokenizer.ggml.add_space_prefix") is True
    assert len(_field(reader, "tokenizer.ggml.scores")) == len(vocab)
    assert len(_field(reader, "tokenizer.ggml.token_type")) == len(vocab)


def test_custom_sizes_and_name_are_written(tmp_path: Path) -> None:
    sizes = {"n_embd": 32, "n_layer": 3, "n_head": 2, "n_ff": 96, "context_length": 1024}
    reader = gguf.GGUFReader(str(make_tiny_gguf(tmp_path / "c.gguf", name="my-tiny", **sizes)))
    assert _field(reader, "general.name") == "my-tiny"
    assert _sizes(reader) == sizes
    assert _field(reader, "llama.rope.dimension_count") == 16
    names = {t.name for t in reader.tensors}
    assert "blk.2.ffn_down.weight" in names and "blk.3.ffn_down.weight" not in names


def test_chat_template_present_by_default(reader: gguf.GGUFReader) -> None:
    assert _field(reader, "tokenizer.chat_template") == TINY_CHAT_TEMPLATE


def test_chat_template_absent_when_none(tmp_path: Path) -> None:
    reader = gguf.GGUFReader(str(make_tiny_gguf(tmp_path / "p.gguf", chat_template=None)))
    assert reader.get_field("tokenizer.chat_template") is None
    assert reader.get_field("tokenizer.ggml.tokens") is not None


def test_custom_chat_template(tmp_path: Path) -> None:
    template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    reader = gguf.GGUFReader(str(make_tiny_gguf(tmp_path / "t.gguf", chat_template=template)))
    assert _field(reader, "tokenizer.chat_template") == template


def test_chat_template_renders_chatml() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    prompt = jinja2.Template(TINY_CHAT_TEMPLATE).render(
        messages=messages, add_generation_prompt=True
    )
    assert prompt == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nhi<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


# --- vocabulary ----------------------------------------------------------------------------------


def test_tokens_are_unique_non_empty_utf8(vocab: list[str]) -> None:
    assert len(set(vocab)) == len(vocab)
    assert all(isinstance(t, str) and t for t in vocab)
    assert all(t.encode("utf-8").decode("utf-8") == t for t in vocab)


def test_special_and_byte_tokens(reader: gguf.GGUFReader, vocab: list[str]) -> None:
    types = _field(reader, "tokenizer.ggml.token_type")
    kind = dict(zip(vocab, types, strict=True))
    assert vocab[:3] == ["<unk>", "<s>", "</s>"]
    assert kind["<unk>"] == gguf.TokenType.UNKNOWN
    for control in ("<s>", "</s>", "<|im_start|>", "<|im_end|>"):
        assert kind[control] == gguf.TokenType.CONTROL
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    assert all(kind[t] == gguf.TokenType.BYTE for t in byte_tokens)
    assert sum(1 for t in types if t == gguf.TokenType.BYTE) == 256


def test_single_characters(vocab: list[str]) -> None:
    chars = set(vocab)
    for ch in "abcxyzABCXYZ0123456789" + '{}[]":,.?!-_()' + SPACE:
        assert ch in chars, ch


def test_words_and_all_their_prefixes(reader: gguf.GGUFReader, vocab: list[str]) -> None:
    assert len(TINY_WORDS) >= 150 and len(set(TINY_WORDS)) == len(TINY_WORDS)
    for word in ("the", "moon", "first", "man", "was", "team", "won", "year", "question"):
        assert word in TINY_WORDS
    score = dict(zip(vocab, _field(reader, "tokenizer.ggml.scores"), strict=True))
    for word in TINY_WORDS:
        piece = SPACE + word
        prefixes = [piece[:end] for end in range(1, len(piece) + 1)]
        assert all(p in score for p in prefixes), word
        # longer pieces score higher, so SentencePiece merges build the whole word
        assert all(score[a] < score[b] for a, b in itertools.pairwise(prefixes))


# --- tensors -------------------------------------------------------------------------------------


def test_tensor_shapes_and_types(reader: gguf.GGUFReader, vocab: list[str]) -> None:
    n_vocab = len(vocab)
    shapes = {t.name: tuple(int(x) for x in t.shape) for t in reader.tensors}  # ggml order
    expected = {
        "token_embd.weight": (64, n_vocab),
        "output_norm.weight": (64,),
        "output.weight": (64, n_vocab),
    }
    for i in range(2):
        expected |= {
            f"blk.{i}.attn_norm.weight": (64,),
            f"blk.{i}.attn_q.weight": (64, 64),
            f"blk.{i}.attn_k.weight": (64, 64),
            f"blk.{i}.attn_v.weight": (64, 64),
            f"blk.{i}.attn_output.weight": (64, 64),
            f"blk.{i}.ffn_norm.weight": (64,),
            f"blk.{i}.ffn_gate.weight": (64, 128),
            f"blk.{i}.ffn_up.weight": (64, 128),
            f"blk.{i}.ffn_down.weight": (128, 64),
        }
    assert shapes == expected
    assert all(t.tensor_type == gguf.GGMLQuantizationType.F32 for t in reader.tensors)


def test_bias_channel_ranks_whole_words_first(reader: gguf.GGUFReader, vocab: list[str]) -> None:
    t = _tensors(reader)
    embd = t["token_embd.weight"]  # numpy order: (n_vocab, n_embd)
    assert np.all(embd[:, 0] == embd[0, 0]) and embd[0, 0] > 0  # a constant input...
    for i in range(2):  # ...that no layer writes to
        assert not t[f"blk.{i}.attn_output.weight"][0].any()
        assert not t[f"blk.{i}.ffn_down.weight"][0].any()
    assert t["output_norm.weight"][0] > 0
    bias = t["output.weight"][:, 0]
    is_word = np.array([tok[:1] == SPACE and tok[1:] in TINY_WORDS for tok in vocab])
    assert is_word.sum() == len(TINY_WORDS)
    assert bias[is_word].min() - bias[~is_word].max() >= 8  # far apart, so words always win
    index = {tok: i for i, tok in enumerate(vocab)}
    assert bias[index["</s>"]] == bias.min()  # end of sequence: only when a grammar forces it
    assert bias[index['"']] > bias[index["7"]] > bias[index["<0x37>"]] > bias[index["<0xC3>"]]


def test_weights_are_small_and_finite(reader: gguf.GGUFReader) -> None:
    for name, data in _tensors(reader).items():
        assert np.isfinite(data).all(), name
        assert np.abs(data).max() < 32, name


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_embd": 30, "n_head": 4}, "multiple"),
        ({"n_embd": 4, "n_head": 2}, "at least 8"),
        ({"n_layer": 0}, "positive"),
    ],
)
def test_bad_sizes_are_refused(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_tiny_gguf(tmp_path / "bad.gguf", **kwargs)
    assert not list(tmp_path.iterdir())
