"""Model files no runtime can use, written for the bad-input cases (real files on disk).

Each `BadFile` says what it is, where it was written, the typed error every in-process runtime
must raise for it, and the words the message must contain. `snapshot` records a file's bytes
and times so a test can check that a failed load wrote nothing.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langchain_localkit import (
    InvalidModelFileError,
    LocalKitError,
    ModelIsDirectoryError,
    ModelNotFoundError,
)
from tests.models import write_unknown_architecture


@dataclass(frozen=True)
class BadFile:
    """A model path that cannot be used.

    Attributes:
        case: The case id (`missing-file`, `truncated-header`, ...).
        path: Where it is.
        error: The typed error every runtime raises for it (the unknown architecture is
            runtime-specific: see the tests).
        must_say: Words the message must contain.
    """

    case: str
    path: Path
    error: type[LocalKitError]
    must_say: tuple[str, ...]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _cut(source: Path, path: Path, keep: int) -> Path:
    return _write(path, source.read_bytes()[:keep])


def _with_version(source: Path, path: Path, version: int) -> Path:
    data = bytearray(source.read_bytes())
    struct.pack_into("<I", data, 4, version)
    return _write(path, bytes(data))


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
ZIP = b"PK\x03\x04" + bytes(96)
GGML = b"lmgg" + bytes(96)  # 'ggml' written little-endian, as the pre-GGUF files began


def write_bad_files(folder: Path, tiny: Path) -> list[BadFile]:
    """Every bad model file, written in `folder` (the truncated ones cut from `tiny`).

    Args:
        folder: An empty folder.
        tiny: A valid GGUF to cut and alter.
    """
    size = tiny.stat().st_size
    sub = folder / "models-folder"
    sub.mkdir()
    (sub / "inside.gguf").write_bytes(tiny.read_bytes()[:32])
    makers: list[tuple[str, Callable[[Path], Path], type[LocalKitError], tuple[str, ...]]] = [
        ("missing-file", lambda p: p, ModelNotFoundError, ("not found", "missing-file.gguf")),
        ("directory", lambda p: sub, ModelIsDirectoryError, ("directory", "inside.gguf")),
        ("empty-file", lambda p: _write(p, b""), InvalidModelFileError, ("0 bytes",)),
        (
            "truncated-header",
            lambda p: _cut(tiny, p, 200),
            InvalidModelFileError,
            ("truncated", "truncated-header.gguf"),
        ),
        (
            "truncated-tensors",
            lambda p: _cut(tiny, p, size - size // 4),
            InvalidModelFileError,
            ("truncated", "fetch the file again"),
        ),
        (
            "text-file",
            lambda p: _write(p, b"This is a README, not a model.\n" * 4),
            InvalidModelFileError,
            ("not a GGUF", "text-file.gguf"),
        ),
        ("png-file", lambda p: _write(p, PNG), InvalidModelFileError, ("not a GGUF", "PNG")),
        ("zip-file", lambda p: _write(p, ZIP), InvalidModelFileError, ("not a GGUF", "PK")),
        ("ggml-file", lambda p: _write(p, GGML), InvalidModelFileError, ("old GGML", "convert")),
        (
            "gguf-version",
            lambda p: _with_version(tiny, p, 99),
            InvalidModelFileError,
            ("version 99", "convert"),
        ),
        (
            "unknown-arch",
            write_unknown_architecture,
            LocalKitError,  # runtime-specific (ModelLoadError / UnsupportedArchitectureError)
            ("nosucharch",),
        ),
    ]
    return [
        BadFile(case, make(folder / f"{case}.gguf"), error, must_say)
        for case, make, error, must_say in makers
    ]


def snapshot(path: Path) -> tuple[object, ...]:
    """What a file (or folder) is: its kind, size, modification time and content hash."""
    if not path.exists():
        return ("absent",)
    if path.is_dir():
        return ("dir", sorted((p.name, snapshot(p)) for p in path.iterdir()))
    st = path.stat()
    return ("file", st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())


def folder_listing(folder: Path) -> list[str]:
    """Every name under `folder` (to check that a failed load created no file)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


__all__ = ["BadFile", "folder_listing", "snapshot", "write_bad_files"]
