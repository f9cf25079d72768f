"""Read a GGUF file's header quickly, and check that the file is complete.

`gguf.GGUFReader` builds a numpy view of every vocabulary string (14 s for Gemma 3's 262k
tokens); this reader walks the header with `struct` on an mmap, keeps scalars and short arrays,
counts long arrays, and checks that every tensor's data lies inside the file. It reads Gemma 3
270M's header in well under a second, so it runs before every load.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_localkit._core.errors import (
    InvalidModelFileError,
    ModelIsDirectoryError,
    ModelNotFoundError,
)

GGUF_MAGIC = b"GGUF"
_OLD_GGML_MAGICS = {b"lmgg": "ggml", b"fmgg": "ggmf", b"tjgg": "ggjt", b"algg": "ggla"}
_ALIGNMENT_KEY = "general.alignment"
_MAX_KEPT_ARRAY = 64
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

# GGUF value types: (struct format, size) for fixed-size scalars.
_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class ArraySummary:
    """A long array in the metadata, kept as its element type, length and place in the file.

    Attributes:
        type: The GGUF type of its elements.
        length: How many elements it has.
        offset: The byte offset of its first element (`read_array_strings` reads from there).
    """

    type: int
    length: int
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True)
class GGUFInfo:
    """What the header of a GGUF file says.

    Attributes:
        path: The resolved file path.
        version: GGUF format version.
        metadata: Key/value metadata; arrays longer than 64 items become `ArraySummary`.
        tensor_count: Number of tensors.
        file_size: File size in bytes.
    """

    path: Path
    version: int
    metadata: Mapping[str, Any] = field(repr=False)
    tensor_count: int
    file_size: int

    @property
    def architecture(self) -> str | None:
        """`general.architecture`, e.g. `"llama"` or `"gemma3"`."""
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else None

    @property
    def name(self) -> str | None:
        """`general.name`, e.g. `"Gemma 3 270m"`."""
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) else None

    @property
    def chat_template(self) -> str | None:
        """The default chat template (`tokenizer.chat_template`), when the file has one."""
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def context_length(self) -> int | None:
        """The context length the model was trained with (`{arch}.context_length`)."""
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if isinstance(value, int) else None

    def get(self, key: str, default: Any = None) -> Any:
        """A metadata value, or `default` when the key is absent."""
        return self.metadata.get(key, default)


class _Cursor:
    __slots__ = ("buf", "off", "path", "size", "wide")

    def __init__(self, buf: mmap.mmap, path: Path, wide: bool) -> None:
        self.buf = buf
        self.off = 0
        self.size = len(buf)
        self.path = path
        self.wide = wide

    def need(self, n: int) -> None:
        if n < 0 or self.off + n > self.size:
            raise InvalidModelFileError(
                f"{self.path} is truncated or corrupt: its GGUF header runs past the end of the "
                f"file ({self.size} bytes). Download or convert the model again.",
                self.path,
            )

    def scalar(self, fmt: str, size: int) -> Any:
        self.need(size)
        (value,) = struct.unpack_from(fmt, self.buf, self.off)
        self.off += size
        return value

    def count(self) -> int:
        return int(self.scalar("<Q", 8) if self.wide else self.scalar("<I", 4))

    def string(self) -> str:
        n = self.count()
        self.need(n)
        raw = self.buf[self.off : self.off + n]
        self.off += n
        return raw.decode("utf-8", errors="replace")

    def skip_strings(self, n: int) -> None:
        # the vocabulary arrays hold up to ~260k strings: one bound unpack per string, and the
        # bounds are checked by unpack_from itself (struct.error past the end)
        width = 8 if self.wide else 4
        unpack = (_U64 if self.wide else _U32).unpack_from
        buf, off = self.buf, self.off
        try:
            for _ in range(n):
                off += width + unpack(buf, off)[0]
        except struct.error:
            self.off = off
            self.need(width)
            raise
        self.off = off
        self.need(0)

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.scalar(*_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype = int(self.scalar("<I", 4))
            n = self.count()
            start = self.off
            if n > _MAX_KEPT_ARRAY:
                if etype == _STRING:
                    self.skip_strings(n)
                elif etype in _SCALARS:
                    self.need(n * _SCALARS[etype][1])
                    self.off += n * _SCALARS[etype][1]
                else:
                    return [self.value(etype) for _ in range(n)]
                return ArraySummary(etype, n, start)
            return [self.value(etype) for _ in range(n)]
        raise InvalidModelFileError(
            f"{self.path} is corrupt: unknown GGUF value type {vtype} at byte {self.off}.",
            self.path,
        )


def _int_of(value: Any) -> int | None:
    """An integer metadata value (a per-layer list gives its largest), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return max(value)
    return None


def kv_cache_bytes(info: GGUFInfo, n_ctx: int, bytes_per_value: int = 2) -> int | None:
    """What the KV cache of `n_ctx` tokens takes (F16 by default), from the header's sizes.

    None when the header lacks a size it needs (the architecture's layer count, widths).

    Example:
        >>> sizes = {"block_count": 2, "embedding_length": 64, "attention.head_count": 4}
        >>> meta = {"general.architecture": "llama", **{f"llama.{k}": v for k, v in sizes.items()}}
        >>> kv_cache_bytes(GGUFInfo(Path("m.gguf"), 3, meta, 0, 0), 1024)
        524288
    """
    arch = info.architecture
    meta = info.metadata
    n_layer = _int_of(meta.get(f"{arch}.block_count"))
    n_embd = _int_of(meta.get(f"{arch}.embedding_length"))
    n_head = _int_of(meta.get(f"{arch}.attention.head_count"))
    if not n_layer or not n_embd or not n_head:
        return None
    n_head_kv = _int_of(meta.get(f"{arch}.attention.head_count_kv")) or n_head
    k_len = _int_of(meta.get(f"{arch}.attention.key_length")) or n_embd // n_head
    v_len = _int_of(meta.get(f"{arch}.attention.value_length")) or n_embd // n_head
    return n_layer * n_ctx * n_head_kv * (k_len + v_len) * bytes_per_value


def physical_memory() -> int | None:
    """This machine's RAM in bytes (None where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def context_memory_problem(info: GGUFInfo, n_ctx: int) -> str | None:
    """Why a context of `n_ctx` tokens cannot be allocated here, or None if it may be.

    A context whose KV cache alone exceeds the machine's RAM fails to allocate; some runtimes
    (gpt4all's C++) abort the process when it does, so it is refused before loading.
    """
    need = kv_cache_bytes(info, n_ctx)
    have = physical_memory()
    if need is None or have is None or need <= have:
        return None
    trained = info.context_length
    return (
        f"a context of n_ctx={n_ctx} tokens needs a KV cache of {need / 2**30:.1f} GiB, more "
        f"than this machine's {have / 2**30:.1f} GiB of memory. Lower `n_ctx`"
        + (f" (the model was trained with {trained} tokens)." if trained else ".")
    )


def read_array(info: GGUFInfo, key: str, indices: Collection[int] | None = None) -> list[Any]:
    """The elements of a metadata array, read from the file when the header summarised it.

    Args:
        info: The header (`read_gguf_info`).
        key: The array's key, e.g. `"tokenizer.ggml.token_type"`.
        indices: Only these elements of a string array (the others are skipped, not
            decoded); None: every element.

    Returns:
        The elements, in file order (of `indices` when given).

    Raises:
        InvalidModelFileError: The array runs past the end of the file.
        KeyError: The header has no such key.
    """
    value = info.metadata[key]
    if not isinstance(value, ArraySummary):
        items = list(value) if isinstance(value, list) else [value]
        return items if indices is None else [items[i] for i in sorted(indices)]
    with info.path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        cur = _Cursor(buf, info.path, wide=True)
        cur.off = value.offset
        if value.type in _SCALARS:
            fmt, size = _SCALARS[value.type]
            cur.need(value.length * size)
            return [
                v for (v,) in struct.iter_unpack(fmt, buf[cur.off : cur.off + value.length * size])
            ]
        if value.type != _STRING:
            return [cur.value(value.type) for _ in range(value.length)]
        if indices is None:
            return [cur.string() for _ in range(value.length)]
        wanted = sorted(i for i in set(indices) if 0 <= i < value.length)
        found: list[str] = []
        done = 0
        for i in wanted:
            cur.skip_strings(i - done)
            found.append(cur.string())
            done = i + 1
        return found


def check_model_path(path: str | os.PathLike[str]) -> Path:
    """Resolve `path` and check that it names an existing file.

    Raises:
        ModelNotFoundError: Nothing exists at `path`.
        ModelIsDirectoryError: `path` is a directory (the message lists GGUF files inside).
    """
    p = Path(path).expanduser()
    if p.is_dir():
        ggufs = sorted(x.name for x in p.glob("*.gguf"))[:5]
        inside = f" It contains: {', '.join(ggufs)}." if ggufs else " It contains no .gguf file."
        raise ModelIsDirectoryError(
            f"{p} is a directory; pass the path of a .gguf model file inside it.{inside}", p
        )
    if not p.exists():
        parent = p.parent
        near = sorted(x.name for x in parent.glob("*.gguf"))[:5] if parent.is_dir() else []
        hint = f" GGUF files in {parent}: {', '.join(near)}." if near else ""
        raise ModelNotFoundError(
            f"Model file not found: {p}. Check the path, or download a GGUF model first "
            f"(nothing is downloaded automatically).{hint}",
            p,
        )
    return p.resolve()


@dataclass
class _Cached:
    info: GGUFInfo
    tensors_at: int  # where the tensor descriptions start, for a later tensor check
    checked: bool


_CACHE: dict[tuple[str, int, int, int, int], _Cached] = {}
"""(path, size, mtime, inode, ctime) -> the header, and whether its tensor data was checked."""
_CACHE_LOCK = threading.Lock()


def read_gguf_info(path: str | os.PathLike[str], *, check_tensors: bool = True) -> GGUFInfo:
    """Read the header of a GGUF file without loading the model.

    Results are cached per (path, size, modification time); a header read without the tensor
    check does not stand in for a checked one.

    Args:
        path: Path of the `.gguf` file.
        check_tensors: Also check that every tensor's data lies inside the file, which
            detects truncated downloads.

    Raises:
        ModelNotFoundError: The file does not exist.
        ModelIsDirectoryError: The path is a directory.
        InvalidModelFileError: Not a GGUF file (old GGML files are named as such), an
            unsupported GGUF version, or a truncated or corrupt file.

    Example:
        >>> info = read_gguf_info("model.gguf")  # doctest: +SKIP
        >>> info.architecture, info.context_length  # doctest: +SKIP
        ('llama', 4096)
    """
    p = check_model_path(path)
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is None:
        cached = _read(p, st.st_size)
    if check_tensors and not cached.checked:
        with p.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            cur = _Cursor(buf, p, wide=True)
            cur.off = cached.tensors_at
            _check_tensor_data(cur, p, cached.info.tensor_count, cached.info.metadata)
        cached = _Cached(cached.info, cached.tensors_at, checked=True)
    with _CACHE_LOCK:
        known = _CACHE.get(key)
        if known is None or (cached.checked and not known.checked):
            _CACHE[key] = cached
    return cached.info


def _read(p: Path, size: int) -> _Cached:
    """The header's metadata; the tensor descriptions after it are not read."""
    if size < 24:
        raise InvalidModelFileError(
            f"{p} is not a GGUF model file: it is only {size} bytes long.", p
        )
    with p.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        magic = bytes(buf[:4])
        if magic != GGUF_MAGIC:
            if magic in _OLD_GGML_MAGICS:
                raise InvalidModelFileError(
                    f"{p} is an old GGML ('{_OLD_GGML_MAGICS[magic]}') model file, a format "
                    "llama.cpp dropped in August 2023. Convert it with llama.cpp's "
                    "`convert_llama_ggml_to_gguf.py`, or download the GGUF version of the model.",
                    p,
                )
            raise InvalidModelFileError(
                f"{p} is not a GGUF model file (it starts with {magic!r}, not b'GGUF'). "
                "Pass a .gguf file, for example one converted with llama.cpp's convert scripts.",
                p,
            )
        (version,) = struct.unpack_from("<I", buf, 4)
        if version not in (2, 3):
            raise InvalidModelFileError(
                f"{p} uses GGUF version {version}; versions 2 and 3 are supported. "
                "Convert the model again with a current llama.cpp.",
                p,
            )
        cur = _Cursor(buf, p, wide=True)
        cur.off = 8
        n_tensors = cur.count()
        n_kv = cur.count()
        metadata: dict[str, Any] = {}
        for _ in range(n_kv):
            k = cur.string()
            vtype = int(cur.scalar("<I", 4))
            metadata[k] = cur.value(vtype)
    info = GGUFInfo(
        path=p, version=version, metadata=metadata, tensor_count=n_tensors, file_size=size
    )
    return _Cached(info, cur.off, checked=False)


def _check_tensor_data(cur: _Cursor, p: Path, n_tensors: int, metadata: Mapping[str, Any]) -> None:
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    end = 0
    for _ in range(n_tensors):
        name = cur.string()
        n_dims = int(cur.scalar("<I", 4))
        if n_dims > 8:
            raise InvalidModelFileError(f"{p} is corrupt: tensor {name!r} has {n_dims} dims.", p)
        n_elements = 1
        for _ in range(n_dims):
            n_elements *= int(cur.scalar("<Q", 8))
        ttype = int(cur.scalar("<I", 4))
        offset = int(cur.scalar("<Q", 8))
        try:
            block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ttype)]
        except (ValueError, KeyError):
            continue  # a type newer than the gguf package: the runtime will judge it
        end = max(end, offset + n_elements // block * type_size)
    alignment = metadata.get(_ALIGNMENT_KEY, 32)
    alignment = alignment if isinstance(alignment, int) and alignment > 0 else 32
    data_start = (cur.off + alignment - 1) // alignment * alignment
    if data_start + end > cur.size:
        raise InvalidModelFileError(
            f"{p} is truncated: its tensors need {data_start + end} bytes but the file has "
            f"{cur.size}. The download or copy was cut short; fetch the file again.",
            p,
        )


__all__ = [
    "ArraySummary",
    "GGUFInfo",
    "check_model_path",
    "context_memory_problem",
    "kv_cache_bytes",
    "physical_memory",
    "read_array",
    "read_gguf_info",
]
