"""What a saved llama.cpp context state depends on: the model file's content and parameters.

A state restored into another model, another context size, other KV cache types, other RoPE
settings or another llama.cpp build would give wrong replies without any error, so the prompt
cache (`llamacpp_prompt_cache`) files states under a key of all of them, read from the loaded
`llama_cpp.Llama` itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from typing import Any

from langchain_localkit.engines.llamacpp_runtime import import_llama_cpp

_CHUNK = 1 << 20
_CONTEXT_FIELDS = (
    "n_ctx", "n_batch", "n_ubatch", "n_seq_max", "type_k", "type_v", "flash_attn_type",
    "rope_scaling_type", "rope_freq_base", "rope_freq_scale", "yarn_ext_factor",
    "yarn_attn_factor", "yarn_beta_fast", "yarn_beta_slow", "yarn_orig_ctx", "pooling_type",
    "attention_type", "embeddings", "offload_kqv", "op_offload", "swa_full", "kv_unified",
)  # fmt: skip
"""`llama_context_params` fields a saved state depends on (threads and callbacks excluded)."""
_MODEL_FIELDS = ("n_gpu_layers", "split_mode", "main_gpu", "use_extra_bufts", "vocab_only")
"""`llama_model_params` fields that change the computed state (where and how weights run)."""


_fingerprints: dict[tuple[str, int, int, int], str] = {}
_fingerprint_lock = threading.Lock()


def model_fingerprint(path: str | os.PathLike[str]) -> str:
    """A hash of a GGUF file's content: its size, first 4 MiB, last 1 MiB and 32 samples.

    The first bytes hold the whole header (architecture, hyperparameters, tokenizer, tensor
    types and shapes); the samples catch two files whose headers agree but whose weights do
    not (two fine-tunes of one base, two seeds of a generated model). A copy or a fresh
    download of the same file shares the cache; an edited file does not. Computed once per
    file state (path, size, mtime, inode) in a process; a few milliseconds from page cache.

    Raises:
        OSError: The file cannot be read.
    """
    real = os.path.realpath(path)
    st = os.stat(real)
    memo = (real, st.st_size, st.st_mtime_ns, st.st_ino)
    with _fingerprint_lock:
        found = _fingerprints.get(memo)
    if found is not None:
        return found
    size = st.st_size
    digest = hashlib.sha256(struct.pack("<Q", size))
    with open(real, "rb") as f:
        digest.update(f.read(4 * _CHUNK))
        for i in range(32):
            f.seek(size * i // 32)
            digest.update(f.read(64 << 10))
        f.seek(max(size - _CHUNK, 0))
        digest.update(f.read(_CHUNK))
    found = digest.hexdigest()
    with _fingerprint_lock:
        _fingerprints[memo] = found
    return found


def state_key(llm: Any) -> dict[str, Any]:
    """What a saved state of `llm`'s context depends on, as JSON-ready data.

    Read from the loaded `llama_cpp.Llama` itself (its context and model parameters as
    llama.cpp got them), so a spare context or a speculative engine's model keys the same way.
    """
    llama_cpp = import_llama_cpp()
    cp, mp = llm.context_params, llm.model_params
    lora = getattr(llm, "lora_path", None)
    return {
        "model": model_fingerprint(llm.model_path),
        "context": {f: _plain(getattr(cp, f, None)) for f in _CONTEXT_FIELDS},
        "weights": {f: _plain(getattr(mp, f, None)) for f in _MODEL_FIELDS},
        "logits_all": bool(getattr(llm, "_logits_all", False)),
        "lora": [
            getattr(llm, "lora_base", None),
            model_fingerprint(lora) if lora else None,
            getattr(llm, "lora_scale", 1.0),
        ],
        "kv_overrides": repr(getattr(llm, "kv_overrides", None)),
        "build": getattr(llama_cpp, "__version__", "?"),
        "session_version": int(llama_cpp.LLAMA_SESSION_VERSION),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return repr(value)


def key_of(llm: Any) -> tuple[str, dict[str, Any]]:
    """The directory name of `llm`'s states (a hash of `state_key`), and a description.

    The description is `state_key` with the model's path added (the path is not hashed: a
    copy of the file shares the states).
    """
    data = state_key(llm)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]
    return digest, {**data, "model_path": str(llm.model_path)}


__all__ = ["key_of", "model_fingerprint", "state_key"]
