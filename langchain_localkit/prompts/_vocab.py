"""The control tokens of a GGUF model's vocabulary, for the special-token guard.

A chat template names only the tokens of its turns (`<|im_start|>`, `<|im_end|>`); a vocabulary
holds more control tokens (SmolLM2's `<file_sep>` and `<jupyter_code>`, Llama's `<s>` and
`</s>`, Llama 3's reserved tokens). Prompts are tokenized with special-token parsing, so each
of these typed in a message would become its control token. `vocabulary_controls` lists them
(token type CONTROL or UNKNOWN) so that the guard escapes them in message text as it does the
template's own markers.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_TOKENS = "tokenizer.ggml.tokens"
_TYPES = "tokenizer.ggml.token_type"
_UNKNOWN, _CONTROL = 2, 3
_REASONING = frozenset(
    f"<{close}{tag}>" for tag in ("think", "thinking", "reasoning") for close in ("", "/")
)


def vocabulary_controls(path: str | Path) -> tuple[str, ...]:
    """The control (and unknown) tokens of the GGUF file at `path`, as text.

    Reasoning tags (`<think>`, ...) are left out: templates handle them inside assistant text.
    The header is the one `read_gguf_info` caches; of the vocabulary, only the token types and
    the control tokens' own strings are read. Returns an empty tuple when the file cannot be
    read (detection never fails on this).
    """
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return ()
    return _read_controls(str(p), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=32)
def _read_controls(path: str, size: int, mtime_ns: int) -> tuple[str, ...]:
    from langchain_localkit._core.gguf import read_array, read_gguf_info

    try:
        info = read_gguf_info(path, check_tensors=False)
        if _TOKENS not in info.metadata or _TYPES not in info.metadata:
            return ()
        types = read_array(info, _TYPES)
        wanted = [i for i, kind in enumerate(types) if kind in (_CONTROL, _UNKNOWN)]
        tokens = read_array(info, _TOKENS, wanted)
    except Exception:  # a broken or odd file: no controls (detection never fails on this)
        return ()
    found = {
        t
        for t in tokens
        if isinstance(t, str) and len(t) >= 3 and t.strip() and t not in _REASONING
    }
    return tuple(sorted(found))


__all__ = ["vocabulary_controls"]
