"""The fast GGUF header reader: what it reads, and the error for every kind of bad file."""

import struct
from pathlib import Path

import pytest

from langchain_localkit import (
    InvalidModelFileError,
    ModelIsDirectoryError,
    ModelNotFoundError,
    read_gguf_info,
)
from langchain_localkit._core.gguf import ArraySummary


def test_reads_tiny_model_header(tiny_gguf_path: Path) -> None:
    info = read_gguf_info(tiny_gguf_path)
    assert info.architecture == "llama"
    assert info.name == "tiny-llama"
    assert info.context_length == 4096
    assert info.chat_template is not None and "<|im_start|>" in info.chat_template
    assert isinstance(info.get("tokenizer.ggml.tokens"), ArraySummary)
    assert info.get("tokenizer.ggml.bos_token_id") == 1
    assert info.tensor_count > 0
    assert info.file_size == tiny_gguf_path.stat().st_size


def test_header_is_cached_until_the_file_changes(tiny_gguf_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(tiny_gguf_path.read_bytes())
    first = read_gguf_info(copy)
    assert read_gguf_info(copy) is first
    copy.write_bytes(tiny_gguf_path.read_bytes() + b"\0" * 64)
    assert read_gguf_info(copy) is not first


def test_missing_file(tmp_path: Path) -> None:
    (tmp_path / "other.gguf").write_bytes(b"x")
    with pytest.raises(ModelNotFoundError) as e:
        read_gguf_info(tmp_path / "nope.gguf")
    assert isinstance(e.value, FileNotFoundError)
    assert "nope.gguf" in str(e.value) and "other.gguf" in str(e.value)
    assert e.value.path == tmp_path / "nope.gguf"


def test_directory_lists_gguf_files(tmp_path: Path) -> None:
    (tmp_path / "a.gguf").write_bytes(b"x")
    with pytest.raises(ModelIsDirectoryError) as e:
        read_gguf_info(tmp_path)
    assert isinstance(e.value, IsADirectoryError)
    assert "a.gguf" in str(e.value)


def test_text_file_is_not_gguf(tmp_path: Path) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_text("this is not a model at all, just some text " * 3)
    with pytest.raises(InvalidModelFileError) as e:
        read_gguf_info(bad)
    assert isinstance(e.value, ValueError)
    assert "not a GGUF model file" in str(e.value) and str(bad) in str(e.value)


def test_tiny_file(tmp_path: Path) -> None:
    bad = tmp_path / "empty.gguf"
    bad.write_bytes(b"")
    with pytest.raises(InvalidModelFileError, match="only 0 bytes"):
        read_gguf_info(bad)


def test_old_ggml_file_is_named(tmp_path: Path) -> None:
    old = tmp_path / "nous-hermes-13b.ggmlv3.q4_0.bin"
    old.write_bytes(b"tjgg" + b"\0" * 64)
    with pytest.raises(InvalidModelFileError, match="old GGML"):
        read_gguf_info(old)


def test_unsupported_version(tmp_path: Path) -> None:
    f = tmp_path / "v9.gguf"
    f.write_bytes(b"GGUF" + struct.pack("<I", 9) + b"\0" * 32)
    with pytest.raises(InvalidModelFileError, match="version 9"):
        read_gguf_info(f)


def test_truncated_header(tiny_gguf_path: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut-header.gguf"
    cut.write_bytes(tiny_gguf_path.read_bytes()[:200])
    with pytest.raises(InvalidModelFileError, match="truncated or corrupt"):
        read_gguf_info(cut)


def test_truncated_tensor_data(tiny_gguf_path: Path, tmp_path: Path) -> None:
    data = tiny_gguf_path.read_bytes()
    cut = tmp_path / "cut-data.gguf"
    cut.write_bytes(data[: len(data) - 1000])
    with pytest.raises(InvalidModelFileError, match="is truncated") as e:
        read_gguf_info(cut)
    assert str(len(data) - 1000) in str(e.value)


def test_garbage_value_type(tmp_path: Path) -> None:
    f = tmp_path / "garbage.gguf"
    body = struct.pack("<QQ", 0, 1) + struct.pack("<Q", 3) + b"key" + struct.pack("<I", 99)
    f.write_bytes(b"GGUF" + struct.pack("<I", 3) + body + b"\0" * 16)
    with pytest.raises(InvalidModelFileError, match="unknown GGUF value type 99"):
        read_gguf_info(f)


def _vocab_gguf(n: int) -> bytes:
    """A GGUF header with one array of `n` strings (more than the reader keeps) and no tensors."""
    key = b"tokenizer.ggml.tokens"
    body = struct.pack("<QQ", 0, 1) + struct.pack("<Q", len(key)) + key
    body += struct.pack("<IIQ", 9, 8, n)  # an array of strings
    body += b"".join(struct.pack("<Q", 3) + b"t%02d" % (i % 100) for i in range(n))
    return b"GGUF" + struct.pack("<I", 3) + body


def test_long_string_array_is_skipped_and_summarised(tmp_path: Path) -> None:
    f = tmp_path / "vocab.gguf"
    f.write_bytes(_vocab_gguf(1000) + b"\0" * 32)
    summary = read_gguf_info(f).metadata["tokenizer.ggml.tokens"]
    assert isinstance(summary, ArraySummary) and summary.length == 1000


@pytest.mark.parametrize("cut", [5, 11, 5000])
def test_file_cut_inside_the_vocabulary(tmp_path: Path, cut: int) -> None:
    f = tmp_path / "cut-vocab.gguf"
    f.write_bytes(_vocab_gguf(1000)[: 60 + cut])
    with pytest.raises(InvalidModelFileError, match="truncated or corrupt"):
        read_gguf_info(f, check_tensors=False)


def test_tensor_check_after_a_header_only_read(tiny_gguf_path: Path, tmp_path: Path) -> None:
    data = tiny_gguf_path.read_bytes()
    cut = tmp_path / "cut-later.gguf"
    cut.write_bytes(data[: len(data) - 1000])
    assert read_gguf_info(cut, check_tensors=False).architecture == "llama"
    with pytest.raises(InvalidModelFileError, match="is truncated"):
        read_gguf_info(cut)
    whole = read_gguf_info(tiny_gguf_path, check_tensors=False)
    assert read_gguf_info(tiny_gguf_path) is whole  # the check resumes; the header is not re-read


def test_read_array_reads_a_summarised_array_from_the_file(tmp_path: Path) -> None:
    from langchain_localkit._core.gguf import read_array

    f = tmp_path / "vocab.gguf"
    f.write_bytes(_vocab_gguf(1000) + b"\0" * 32)
    info = read_gguf_info(f, check_tensors=False)
    everything = read_array(info, "tokenizer.ggml.tokens")
    assert len(everything) == 1000 and everything[:2] == ["t00", "t01"]
    assert read_array(info, "tokenizer.ggml.tokens", [999, 5, 105]) == ["t05", "t05", "t99"]
    assert read_array(info, "tokenizer.ggml.tokens", [1000, -1]) == []


def test_read_array_of_a_kept_list_and_of_scalars(tiny_gguf_path: Path) -> None:
    from langchain_localkit._core.gguf import read_array

    info = read_gguf_info(tiny_gguf_path)
    types = read_array(info, "tokenizer.ggml.token_type")
    tokens = read_array(info, "tokenizer.ggml.tokens")
    assert len(types) == len(tokens) and all(isinstance(t, int) for t in types)
    controls = [i for i, kind in enumerate(types) if kind == 3]
    assert read_array(info, "tokenizer.ggml.tokens", controls) == [tokens[i] for i in controls]
