"""make_tiny_gguf writes a deterministic, well-formed llama GGUF (read back with gguf)."""

import hashlib
import time
from pathlib import Path

import gguf
import pytest

from langchain_localkit import read_gguf_info
from langchain_localkit.testing import TINY_CHAT_TEMPLATE, make_tiny_gguf
from langchain_localkit.testing.tiny import TINY_WORDS


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = make_tiny_gguf(tmp_path / "a.gguf", seed=3)
    b = make_tiny_gguf(tmp_path / "b.gguf", seed=3)
    c = make_tiny_gguf(tmp_path / "c.gguf", seed=4)
    assert _digest(a) == _digest(b) != _digest(c)


def test_small_and_fast(tmp_path: Path) -> None:
    start = time.perf_counter()
    path = make_tiny_gguf(tmp_path / "m" / "tiny.gguf")
    assert time.perf_counter() - start < 1.0
    assert path.stat().st_size < 2 * 1024 * 1024


def test_metadata_older_llama_cpp_needs(tmp_path: Path) -> None:
    reader = gguf.GGUFReader(str(make_tiny_gguf(tmp_path / "t.gguf", n_ff=96)))

    def field(key: str) -> object:
        f = reader.get_field(key)
        assert f is not None, key
        return f.contents()

    assert field("general.architecture") == "llama"
    assert field("general.name") == "tiny-llama"
    assert field("llama.feed_forward_length") == 96
    assert field("llama.attention.head_count") == 4
    assert field("llama.embedding_length") == 64
    assert field("llama.block_count") == 2
    assert field("llama.rope.dimension_count") == 16
    assert field("tokenizer.ggml.model") == "llama"
    assert field("tokenizer.ggml.bos_token_id") == 1
    assert field("tokenizer.chat_template") == TINY_CHAT_TEMPLATE
    tokens = field("tokenizer.ggml.tokens")
    assert isinstance(tokens, list) and len(set(tokens)) == len(tokens)
    assert "<0x0A>" in tokens and "\u2581moon" in tokens and "<|im_end|>" in tokens


def test_tensor_shapes(tmp_path: Path) -> None:
    reader = gguf.GGUFReader(str(make_tiny_gguf(tmp_path / "t.gguf")))
    shapes = {t.name: tuple(int(x) for x in t.shape) for t in reader.tensors}
    n_vocab = shapes["token_embd.weight"][1]
    assert shapes["token_embd.weight"] == (64, n_vocab)  # ggml order: {n_embd, n_vocab}
    assert shapes["output.weight"] == (64, n_vocab)
    assert shapes["blk.0.ffn_down.weight"] == (128, 64)
    assert shapes["blk.1.attn_q.weight"] == (64, 64)
    assert all(t.tensor_type == gguf.GGMLQuantizationType.F32 for t in reader.tensors)


def test_without_chat_template(tmp_path: Path) -> None:
    info = read_gguf_info(make_tiny_gguf(tmp_path / "plain.gguf", chat_template=None))
    assert info.chat_template is None


def test_every_word_is_in_the_vocabulary(tmp_path: Path) -> None:
    reader = gguf.GGUFReader(str(make_tiny_gguf(tmp_path / "t.gguf")))
    field = reader.get_field("tokenizer.ggml.tokens")
    assert field is not None
    tokens = set(field.contents())
    assert all("\u2581" + w in tokens for w in TINY_WORDS)


def test_heads_must_divide_width(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multiple"):
        make_tiny_gguf(tmp_path / "bad.gguf", n_embd=30, n_head=4)
