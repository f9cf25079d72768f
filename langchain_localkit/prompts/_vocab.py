"""The control tokens of a GGUF model's vocabulary, for the special-token guard.

A chat template names only the tokens of its turns (`<|im_start|>`, `<|im_end|>`); a vocabulary
holds more control tokens (SmolLM2's `<file_sep>` and `<jupyter_code>`, Llama's `<s>` and
`</s>`, Llama 3's reserved tokens). Prompts are tokenized with special-token parsing, so each
of these typed in a message would become its control token. `vocabulary_controls` lists them
(token type CONTROL or UNKNOWN) so that the guard escapes them in message text as it does the
template's own markers.
"""

from __future__ import annotations

import mmap
from array import array
from functools import lru_cache
from pathlib import Path

_TOKENS = "tokenizer.ggml.tokens"
_TYPES = "tokenizer.ggml.token_type"
_UNKNOWN, _CONTROL = 2, 3
_INT32 = 5
_REASONING = frozenset(
    f"<{close}{tag}>" for tag in ("think", "thinking", "reasoning") for close in ("", "/")
)


def vocabulary_controls(path: str | Path) -> tuple[str, ...]:
    """The control (and unknown) tokens of the GGUF file at `path`, as text.

    Reasoning tags (`<think>`, ...) are left out: templates handle them inside assistant text.
    Returns an empty tuple when the file cannot be read (detection never fails on this).
    """
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return ()
    return _read_controls(str(p), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=32)
def _read_controls(path: str, size: int, mtime_ns: int) -> tuple[str, ...]:
    from langchain_localkit._core.gguf import _ARRAY, _STRING, _Cursor

    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            if bytes(buf[:4]) != b"GGUF":
                return ()
            cur = _Cursor(buf, Path(path), wide=True)
            cur.off = 8
            cur.count()  # tensors
            n_kv = cur.count()
            tokens: list[str] | None = None
            types: array[int] | None = None
            for _ in range(n_kv):
                key = cur.string()
                vtype = int(cur.scalar("<I", 4))
                if key == _TOKENS and vtype == _ARRAY:
                    etype, n = int(cur.scalar("<I", 4)), cur.count()
                    if etype != _STRING:
                        return ()
                    tokens = [cur.string() for _ in range(n)]
                elif key == _TYPES and vtype == _ARRAY:
                    etype, n = int(cur.scalar("<I", 4)), cur.count()
                    if etype != _INT32:
                        return ()
                    cur.need(4 * n)
                    types = array("i", bytes(buf[cur.off : cur.off + 4 * n]))
                    cur.off += 4 * n
                else:
                    cur.value(vtype)
                if tokens is not None and types is not None:
                    break
    except Exception:  # a broken or odd file: no controls (detection never fails on this)
        return ()
    if tokens is None or types is None or len(tokens) != len(types):
        return ()
    found = {
        t
        for t, kind in zip(tokens, types, strict=True)
        if kind in (_CONTROL, _UNKNOWN) and len(t) >= 3 and t.strip() and t not in _REASONING
    }
    return tuple(sorted(found))


__all__ = ["vocabulary_controls"]
