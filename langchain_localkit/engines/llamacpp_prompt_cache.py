"""Prompt caches that outlive the process: llama.cpp context states saved on disk, by prefix.

A long shared prefix (a system prompt, tool schemas) is evaluated once; the context's state
after it is saved with llama.cpp's state file API, and a later call, wrapper or process whose
prompt starts the same way restores it and evaluates only the rest.

Layout: `<root>/<key>/<tokens>-<check>.session`, where

- `key` names everything that makes a state usable: the model file's content (a fingerprint),
  the context and model parameters the state depends on (context size, batch sizes, KV cache
  types, flash attention, RoPE and YaRN settings, LoRA, GPU layers, repacked weights; not the
  thread counts), and the llama.cpp build (`llamacpp_state_key`); `key.json` says it in words.
- each entry is a llama.cpp session file as `llama_state_save_file` writes it (magic `ggsn`,
  version, token count, the tokens, then the state), so its tokens are read from its first
  bytes without loading it;
- `tokens` is a hash of the entry's tokens and `check` a CRC-32 of the key and the file's
  bytes: a truncated, damaged or foreign file (one copied from another key) is found before
  llama.cpp reads it, removed, and the prompt evaluated as if there were no cache.

Writers write a temporary file in the same directory and rename it into place, so readers in
other processes see a whole entry or none. The total size is bounded: after each save the
least recently used entries (a restore touches its file) are removed until the cache fits.
Whatever fails here (a vanished file, a full disk, a state llama.cpp refuses) is logged and
the call goes on by evaluating the prompt.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import hashlib
import json
import logging
import os
import re
import struct
import threading
import time
import uuid
import weakref
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_localkit._core.generation import GenerationInfo
from langchain_localkit._core.paths import cache_dir
from langchain_localkit.engines.llamacpp_runtime import import_llama_cpp
from langchain_localkit.engines.llamacpp_state_key import key_of

logger = logging.getLogger("langchain_localkit.llama_cpp")

DEFAULT_MAX_BYTES = 2 << 30
"""The default bound on the whole cache directory: 2 GiB."""
DEFAULT_MIN_TOKENS = 256
"""A prompt is saved when its call evaluated at least this many tokens, and a saved state is
restored when it spares at least this many."""

_ENTRY = re.compile(r"^([0-9a-f]{24})-([0-9a-f]{8})\.session$")
_TMP_PREFIX = ".tmp-"
_STALE_TMP_SECONDS = 3600.0
"""A temporary file this old is a writer that died: eviction removes it."""
_CHUNK = 1 << 20


@dataclass
class PrefillReport:
    """What one call's prefill did (reported as `generation_info["prompt_cache"]`).

    Attributes:
        held_tokens: Prompt tokens the context already held (the in-memory prefix match).
        restored_tokens: Prompt tokens restored from a saved state on disk.
        restored_bytes: Size of the state file restored (0: none).
        restore_ms: Time to find, check and load it.
        evaluated_tokens: Prompt tokens this call evaluated.
        saved_bytes: Size of the state saved for later calls (0: none saved).
        save_ms: Time to save it (checked, renamed into place, cache bounded).
    """

    held_tokens: int = 0
    restored_tokens: int = 0
    restored_bytes: int = 0
    restore_ms: float = 0.0
    evaluated_tokens: int = 0
    saved_bytes: int = 0
    save_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return dataclasses.asdict(self)


def common_prefix(a: Any, b: Any) -> int:
    """How many leading tokens two token sequences (lists or numpy arrays) share."""
    import numpy

    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = numpy.flatnonzero(
        numpy.asarray(a[:n], dtype=numpy.int64) != numpy.asarray(b[:n], dtype=numpy.int64)
    )
    return int(diff[0]) if diff.size else n


@dataclass(frozen=True)
class _Entry:
    path: Path
    tokens: Any  # numpy int32 array
    size: int


class PromptCache:
    """A directory of saved llama.cpp context states, restored by longest shared prefix.

    One object can serve any number of models and contexts: each state is filed under the key
    of the model and parameters that made it. It is safe to share a directory between threads
    and processes.

    Args:
        root: The cache directory (created on the first save).
        max_bytes: Bound on the directory's total size; least recently used entries go first.
        min_tokens: Save a prompt when its call evaluated at least this many tokens; restore a
            state when it spares at least this many.

    Example:
        >>> cache = PromptCache("/tmp/prompt-cache", max_bytes=1 << 30)
        >>> cache.min_tokens
        256
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        min_tokens: int = DEFAULT_MIN_TOKENS,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"prompt_cache_max_bytes must be positive (got {max_bytes}).")
        if min_tokens < 1:
            raise ValueError(f"prompt_cache_min_tokens must be at least 1 (got {min_tokens}).")
        self.root = Path(root).expanduser()
        self.max_bytes = int(max_bytes)
        self.min_tokens = int(min_tokens)
        self._lock = threading.Lock()
        self._keys: weakref.WeakKeyDictionary[Any, tuple[str, dict[str, Any]]] = (
            weakref.WeakKeyDictionary()
        )
        self._headers: dict[tuple[str, int], Any] = {}

    @classmethod
    def from_setting(
        cls,
        setting: bool | str | os.PathLike[str] | None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        min_tokens: int = DEFAULT_MIN_TOKENS,
    ) -> PromptCache | None:
        """The cache a face's `prompt_cache` parameter asks for (None: off).

        Args:
            setting: False, None or "": no cache; True: `prompt-cache` in the package's cache
                directory (`~/.cache/langchain-localkit`); a path: that directory.
            max_bytes: Bound on the directory's total size.
            min_tokens: See the class.
        """
        if setting is None or setting is False or setting == "":
            return None
        root = cache_dir("prompt-cache") if setting is True else Path(setting)
        return cls(root, max_bytes=max_bytes, min_tokens=min_tokens)

    def call(self) -> PrefillCall:
        """A prefill for one call, which keeps its `PrefillReport`."""
        return PrefillCall(self)

    def key_dir(self, llm: Any) -> Path:
        """The directory of `llm`'s states (its model, parameters and llama.cpp build)."""
        return self.root / self._key(llm)[0]

    def entries(self, llm: Any) -> list[Path]:
        """The saved states usable by `llm`, newest first."""
        return [e.path for e in sorted(self._entries(self.key_dir(llm)), key=_mtime, reverse=True)]

    def prefill(self, llm: Any, tokens: Sequence[int]) -> PrefillReport:
        """Bring `llm`'s context to hold exactly `tokens` evaluated, the last logits live.

        The prefix the context already holds is kept; a saved state sharing a longer prefix
        (by at least `min_tokens`) is restored and cut back to the shared part; the rest is
        evaluated (at least the last token, so its logits are fresh). When this call evaluated
        at least `min_tokens` tokens, the state of the whole prompt is saved. `Llama.generate`
        then finds the whole prompt cached and samples at once.

        Args:
            llm: A loaded `llama_cpp.Llama` (or a spare context), held by this call only.
            tokens: The prompt, at least one token, shorter than the context.

        Returns:
            What was held, restored, evaluated and saved.
        """
        report = PrefillReport()
        n = len(tokens)
        if n == 0:
            return report
        held = common_prefix(llm.input_ids[: llm.n_tokens], tokens)
        if held == n == llm.n_tokens and not llm._requires_eval:
            report.held_tokens = n
            return report
        keep = min(held, n - 1)
        key: tuple[str, dict[str, Any]] | None = None
        restored: int | None = None
        if n - keep >= self.min_tokens:  # else nothing to restore or save: no disk access
            try:
                key = self._key(llm)
                restored = self._restore(llm, tokens, keep, key[0], report)
            except Exception as e:  # the cache must never cost the call
                logger.warning("prompt cache: lookup failed, evaluating the prompt: %r", e)
                llm.reset()
                keep = 0
        if restored is not None:
            keep = restored
        else:
            report.held_tokens = keep
        if keep < llm.n_tokens and (keep == 0 or not llm._ctx.kv_cache_seq_rm(-1, keep, -1)):
            llm.reset()  # a recurrent model cannot drop a suffix: evaluate everything
            keep = 0
            report.held_tokens = report.restored_tokens = 0
        llm.n_tokens = keep
        llm._requires_eval = True
        llm.eval(list(tokens[keep:]))
        report.evaluated_tokens = n - keep
        if key is not None and report.evaluated_tokens >= self.min_tokens:
            try:
                self._save(llm, tokens, key, report)
            except Exception as e:
                logger.warning("prompt cache: could not save the prompt's state: %r", e)
        return report

    def _key(self, llm: Any) -> tuple[str, dict[str, Any]]:
        with self._lock:
            found = self._keys.get(llm)
        if found is None:
            found = key_of(llm)
            with self._lock:
                self._keys[llm] = found
        return found

    def _entries(self, directory: Path) -> list[_Entry]:
        try:
            names = os.listdir(directory)
        except OSError:
            return []
        found = []
        for name in names:
            if not _ENTRY.match(name):
                continue
            path = directory / name
            try:
                size = path.stat().st_size
                tokens = self._header(path, size)
            except OSError:
                continue  # removed by another process meanwhile
            if tokens is None:
                logger.warning("prompt cache: %s is not a llama.cpp session file; removed", path)
                _remove(path)
                continue
            found.append(_Entry(path, tokens, size))
        return found

    def _header(self, path: Path, size: int) -> Any:
        """The tokens of a session file, from its first bytes (None: not a session file)."""
        import numpy

        memo = (str(path), size)
        with self._lock:
            if memo in self._headers:
                return self._headers[memo]
        llama_cpp = import_llama_cpp()
        with open(path, "rb") as f:
            head = f.read(12)
            tokens = None
            if len(head) == 12:
                magic, version, n = struct.unpack("<III", head)
                if (
                    magic == llama_cpp.LLAMA_SESSION_MAGIC
                    and version == llama_cpp.LLAMA_SESSION_VERSION
                    and n > 0
                    and 12 + 4 * n < size
                ):
                    data = f.read(4 * n)
                    if len(data) == 4 * n:
                        tokens = numpy.frombuffer(data, dtype="<i4")
        with self._lock:
            if len(self._headers) > 4096:
                self._headers.clear()
            self._headers[memo] = tokens
        return tokens

    def _restore(
        self, llm: Any, tokens: Sequence[int], keep: int, key: str, report: PrefillReport
    ) -> int | None:
        """Restore the best saved state; the tokens it leaves in the context, or None."""
        start = time.perf_counter()
        n = len(tokens)
        capacity = int(llm.input_ids.shape[0])
        best: tuple[int, int, _Entry] | None = None
        for entry in self._entries(self.root / key):
            if len(entry.tokens) > capacity:
                continue
            shared = min(common_prefix(entry.tokens, tokens), n - 1)
            rank = (shared, -entry.size)
            if shared - keep >= self.min_tokens and (best is None or rank > best[:2]):
                best = (*rank, entry)
        if best is None:
            return None
        shared, _, entry = best
        try:
            intact = f"{_crc_file(entry.path, key):08x}" == entry.path.name[25:33]
        except OSError:
            logger.debug("prompt cache: %s vanished before it loaded", entry.path)
            return None
        if not intact:
            logger.warning("prompt cache: %s is damaged; removed", entry.path)
            _remove(entry.path)
            return None
        llama_cpp = import_llama_cpp()
        out = (llama_cpp.llama_token * capacity)()
        n_out = ctypes.c_size_t(0)
        ok = llama_cpp.llama_state_load_file(
            llm.ctx, os.fsencode(entry.path), out, capacity, ctypes.byref(n_out)
        )
        if (
            not ok
            or n_out.value != len(entry.tokens)
            or list(out[: n_out.value]) != list(entry.tokens)
        ):
            # llama.cpp clears the KV cache when a state fails to load
            llm.reset()
            if entry.path.exists():
                logger.warning("prompt cache: llama.cpp could not load %s; removed", entry.path)
                _remove(entry.path)
            else:
                logger.debug("prompt cache: %s vanished before it loaded", entry.path)
            return None
        llm.input_ids[: len(entry.tokens)] = entry.tokens
        llm.n_tokens = len(entry.tokens)
        _touch(entry.path)
        report.restored_tokens = shared
        report.restored_bytes = entry.size
        report.restore_ms = (time.perf_counter() - start) * 1e3
        logger.debug(
            "prompt cache: restored %d tokens from %s (%.1f ms)",
            shared,
            entry.path.name,
            report.restore_ms,
        )
        return shared

    def _save(
        self,
        llm: Any,
        tokens: Sequence[int],
        key: tuple[str, dict[str, Any]],
        report: PrefillReport,
    ) -> None:
        import numpy

        start = time.perf_counter()
        llama_cpp = import_llama_cpp()
        directory = self.root / key[0]
        arr = numpy.asarray(tokens, dtype="<i4")
        digest = hashlib.sha256(arr.tobytes()).hexdigest()[:24]
        existing = self._entries(directory)
        if any(e.path.name.startswith(digest) for e in existing):
            return
        directory.mkdir(parents=True, exist_ok=True)
        self._describe(directory, key[1])
        tmp = directory / f"{_TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}.session"
        try:
            c_tokens = (llama_cpp.llama_token * len(arr))(*arr.tolist())
            if not llama_cpp.llama_state_save_file(llm.ctx, os.fsencode(tmp), c_tokens, len(arr)):
                raise OSError(f"llama.cpp could not write {tmp}")
            final = directory / f"{digest}-{_crc_file(tmp, key[0]):08x}.session"
            os.replace(tmp, final)
        finally:
            _remove(tmp)
        size = final.stat().st_size
        for e in existing:  # a saved prefix of this prompt restores nothing this one does not
            if len(e.tokens) < len(arr) and common_prefix(e.tokens, arr) == len(e.tokens):
                _remove(e.path)
        self.evict()
        report.saved_bytes = size
        report.save_ms = (time.perf_counter() - start) * 1e3
        logger.debug("prompt cache: saved %d tokens as %s", len(arr), final)

    def _describe(self, directory: Path, data: dict[str, Any]) -> None:
        target = directory / "key.json"
        if target.exists():
            return
        tmp = directory / f"{_TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}.json"
        try:
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.replace(tmp, target)
        except OSError as e:
            logger.debug("prompt cache: could not write %s: %r", target, e)
        finally:
            _remove(tmp)

    def size(self) -> int:
        """Bytes the cache directory holds in saved states and unfinished writes."""
        return sum(size for _, size, _ in _files(self.root))

    def evict(self) -> None:
        """Remove the least recently used states until the cache fits in `max_bytes`.

        Temporary files of writers that died are removed too. Files another process removes
        meanwhile are skipped.
        """
        now = time.time()
        files = []
        for path, size, mtime in _files(self.root):
            if path.name.startswith(_TMP_PREFIX) and now - mtime > _STALE_TMP_SECONDS:
                _remove(path)
                continue
            files.append((mtime, size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            if path.name.startswith(_TMP_PREFIX):
                continue  # another writer's file in progress
            _remove(path)
            total -= size
            logger.debug("prompt cache: evicted %s", path)


class PrefillCall:
    """One call's prefill through a `PromptCache`: callable as `prefill(llm, tokens)`.

    Args:
        cache: The cache.
    """

    def __init__(self, cache: PromptCache) -> None:
        self.cache = cache
        self.report: PrefillReport | None = None

    def __call__(self, llm: Any, tokens: Sequence[int]) -> None:
        """Prefill `llm` with `tokens` (see `PromptCache.prefill`) and keep the report."""
        self.report = self.cache.prefill(llm, tokens)

    def annotate(self, info: GenerationInfo) -> None:
        """Add the report to `info.extra["prompt_cache"]` (when the prefill ran)."""
        if self.report is not None:
            info.extra["prompt_cache"] = self.report.to_dict()


def _files(root: Path) -> list[tuple[Path, int, float]]:
    """Every entry and temporary file under `root`: path, size, mtime."""
    found = []
    try:
        dirs = list(os.scandir(root))
    except OSError:
        return []
    for d in dirs:
        try:
            if not d.is_dir(follow_symlinks=False):
                continue
            items = list(os.scandir(d.path))
        except OSError:
            continue
        for item in items:
            if not (_ENTRY.match(item.name) or item.name.startswith(_TMP_PREFIX)):
                continue
            try:
                st = item.stat(follow_symlinks=False)
            except OSError:
                continue
            found.append((Path(item.path), st.st_size, st.st_mtime))
    return found


def _crc_file(path: Path, key: str) -> int:
    crc = zlib.crc32(key.encode())
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def _mtime(entry: _Entry) -> float:
    try:
        return entry.path.stat().st_mtime
    except OSError:
        return 0.0


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as e:
        logger.debug("prompt cache: could not remove %s: %r", path, e)


__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MIN_TOKENS",
    "PrefillCall",
    "PrefillReport",
    "PromptCache",
    "common_prefix",
]
