"""Write the model stores of local runtimes, holding real GGUF files, for tests of discovery.

Each writer lays out a store the way its runtime does (Ollama's manifests and blobs, the
Hugging Face hub cache, LM Studio's and GPT4All's model folders), with real model files: the
source files are hard-linked (copied when a hard link is not possible), so a store of the
98 MB SmolLM2 costs no disk space. Never write into a written file (it may be the source
itself): replace it. Other writers make the broken entries discovery must survive: a manifest
pointing at a missing blob, a manifest that is not JSON, a truncated blob or file, a dangling
snapshot symlink, a text file named `.gguf`.

Point discovery at a store with `home=` and `environ=`:

Example:
    >>> from pathlib import Path
    >>> from langchain_localkit.discovery import find_models
    >>> from langchain_localkit.testing import make_tiny_gguf
    >>> from langchain_localkit.testing.stores import write_ollama_store
    >>> home = Path("/tmp/home")  # doctest: +SKIP
    >>> tiny = make_tiny_gguf(home / "src" / "tiny.gguf")  # doctest: +SKIP
    >>> write_ollama_store(home / ".ollama" / "models", {"tiny:latest": tiny})  # doctest: +SKIP
    >>> [m.name for m in find_models(home=home, environ={}, sources={"ollama"})]  # doctest: +SKIP
    ['tiny:latest']
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langchain_localkit._core.gguf import read_gguf_info
from langchain_localkit._ollama_store import (
    OLLAMA_MODEL,
    OLLAMA_PROJECTOR,
    manifest_parts,
)
from langchain_localkit.prompts.capabilities import quantization_of

PathLike = str | os.PathLike[str]

DEFAULT_REVISION = "0123456789abcdef0123456789abcdef01234567"
"""The snapshot revision `write_hf_cache` writes unless told otherwise."""

_MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
_CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
_TEMPLATE = "application/vnd.ollama.image.template"
_PARAMS = "application/vnd.ollama.image.params"
_LICENSE = "application/vnd.ollama.image.license"
_OLLAMA_TEMPLATE = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n"
)

_DIGESTS: dict[tuple[str, int, int], str] = {}
_DIGESTS_LOCK = threading.Lock()


def file_sha256(path: PathLike) -> str:
    """The SHA-256 of a file (hex), cached per (path, size, modification time)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _DIGESTS_LOCK:
        if key in _DIGESTS:
            return _DIGESTS[key]
    digest = hashlib.sha256()
    with p.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    with _DIGESTS_LOCK:
        _DIGESTS[key] = digest.hexdigest()
    return digest.hexdigest()


def place_file(source: PathLike, target: PathLike) -> Path:
    """Put `source` at `target`: a hard link, or a copy when linking fails (never a symlink)."""
    src, dst = Path(source), Path(target)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() and dst.samefile(src):
        return dst
    if os.path.lexists(dst):
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
    return dst


# ---------------------------------------------------------------- Ollama


def write_ollama_store(
    root: PathLike,
    models: Mapping[str, PathLike],
    *,
    projector: Mapping[str, PathLike] | None = None,
) -> Path:
    """Write Ollama models (manifests and blobs) into the models folder `root`.

    Args:
        root: The folder Ollama keeps models in (`$OLLAMA_MODELS`, or `~/.ollama/models`).
        models: Ollama name (`"llama3.1:8b"`, `"me/tiny"`, `"hf.co/org/repo:Q4_K_M"`) -> the
            GGUF file that becomes its model blob (hashed for its digest, then hard-linked).
        projector: Ollama name -> a vision projector GGUF, added as a projector layer.

    Returns:
        `root`.
    """
    base = Path(root)
    for name, source in models.items():
        src = Path(source)
        model = _blob_from_file(base, src, OLLAMA_MODEL)
        layers = [model]
        if projector and name in projector:
            layers.append(_blob_from_file(base, Path(projector[name]), OLLAMA_PROJECTOR))
        layers += [
            _blob_from_bytes(base, _OLLAMA_TEMPLATE.encode(), _TEMPLATE),
            _blob_from_bytes(base, json.dumps({"stop": ["<|im_end|>"]}).encode(), _PARAMS),
            _blob_from_bytes(base, b"Apache License 2.0 (test store)", _LICENSE),
        ]
        write_ollama_manifest(base, name, layers, config=_ollama_config(src))
    return base


def write_ollama_manifest(
    root: PathLike,
    name: str,
    layers: list[dict[str, Any]],
    *,
    config: Mapping[str, Any] | None = None,
) -> Path:
    """Write the manifest of `name` with these layers (and a config blob); return its path."""
    base = Path(root)
    host, namespace, model, tag = manifest_parts(name)
    data = json.dumps(dict(config or {"model_format": "gguf"})).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": _MANIFEST_TYPE,
        "config": _blob_from_bytes(base, data, _CONFIG_TYPE),
        "layers": layers,
    }
    path = base / "manifests" / host / namespace / model / tag
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


def write_ollama_missing_blob(root: PathLike, name: str, *, size: int = 4096) -> Path:
    """A manifest whose model layer names a blob that is not there; returns the manifest."""
    digest = "sha256:" + hashlib.sha256(f"missing {name}".encode()).hexdigest()
    layer = {"mediaType": OLLAMA_MODEL, "digest": digest, "size": size}
    return write_ollama_manifest(root, name, [layer])


def write_ollama_invalid_manifest(root: PathLike, name: str, text: str = '{"layers": [') -> Path:
    """A manifest file that is not valid JSON; returns its path."""
    host, namespace, model, tag = manifest_parts(name)
    path = Path(root) / "manifests" / host / namespace / model / tag
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_ollama_truncated_blob(
    root: PathLike, name: str, source: PathLike, *, keep: float = 0.5, size_matches: bool = False
) -> Path:
    """A model whose blob holds only the first `keep` share of `source`; returns the blob.

    With `size_matches=False` the manifest keeps the full size (Ollama's own size check fails);
    with True it states the truncated size, so only the GGUF header check finds the damage.
    """
    data = Path(source).read_bytes()
    cut = data[: max(24, int(len(data) * keep))]
    layer = _blob_from_bytes(Path(root), cut, OLLAMA_MODEL)
    if not size_matches:
        layer["size"] = len(data)
    write_ollama_manifest(root, name, [layer])
    return _blob(Path(root), layer["digest"])


def _blob(root: Path, digest: str) -> Path:
    return root / "blobs" / digest.replace(":", "-")


def _blob_from_file(root: Path, source: Path, media_type: str) -> dict[str, Any]:
    digest = "sha256:" + file_sha256(source)
    place_file(source, _blob(root, digest))
    return {"mediaType": media_type, "digest": digest, "size": source.stat().st_size}


def _blob_from_bytes(root: Path, data: bytes, media_type: str) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = _blob(root, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def _ollama_config(source: Path) -> dict[str, Any]:
    info = read_gguf_info(source, check_tensors=False)
    config: dict[str, Any] = {
        "model_format": "gguf",
        "model_family": info.architecture or "",
        "model_families": [info.architecture or ""],
        "model_type": str(info.get("general.size_label") or ""),
        "file_type": quantization_of(info) or "",
        "architecture": "amd64",
        "os": "linux",
    }
    return config


# ---------------------------------------------------------------- Hugging Face, LM Studio, GPT4All


def write_hf_cache(
    root: PathLike,
    repo_id: str,
    files: Mapping[str, PathLike],
    revision: str = DEFAULT_REVISION,
    *,
    main: bool = True,
) -> Path:
    """Write a model repo into the hub cache `root` as `huggingface_hub` does.

    Blobs are `blobs/<sha256>` (hard links of the sources); the snapshot holds relative
    symlinks to them.

    Args:
        root: The hub cache (`$HF_HUB_CACHE`, or `~/.cache/huggingface/hub`).
        repo_id: `"org/repo"`.
        files: File name in the repo (may contain `/`) -> its source file.
        revision: The snapshot's commit hash.
        main: Point `refs/main` at this revision.

    Returns:
        The repo's folder (`models--org--repo`).
    """
    repo = Path(root) / ("models--" + repo_id.replace("/", "--"))
    for rel, source in files.items():
        blob = repo / "blobs" / file_sha256(source)
        place_file(source, blob)
        link = repo / "snapshots" / revision / rel
        _symlink(os.path.relpath(blob, link.parent), link)
    if main:
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(revision, encoding="utf-8")
    return repo


def write_hf_dangling_snapshot(
    root: PathLike, repo_id: str, filename: str, revision: str = DEFAULT_REVISION
) -> Path:
    """A snapshot file whose blob is missing (an interrupted download); returns the link."""
    repo = Path(root) / ("models--" + repo_id.replace("/", "--"))
    link = repo / "snapshots" / revision / filename
    missing = repo / "blobs" / hashlib.sha256(filename.encode()).hexdigest()
    _symlink(os.path.relpath(missing, link.parent), link)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    if not (repo / "refs" / "main").exists():
        (repo / "refs" / "main").write_text(revision, encoding="utf-8")
    return link


def write_lmstudio_models(
    root: PathLike, publisher: str, repo: str, files: Mapping[str, PathLike]
) -> Path:
    """Write model files into LM Studio's models folder `root` (`<publisher>/<repo>/<file>`).

    Returns:
        The repo's folder.
    """
    folder = Path(root) / publisher / repo
    for name, source in files.items():
        place_file(source, folder / name)
    return folder


def write_gpt4all_folder(root: PathLike, files: Mapping[str, PathLike]) -> Path:
    """Write model files into a GPT4All model folder `root` (flat); returns `root`."""
    for name, source in files.items():
        place_file(source, Path(root) / name)
    return Path(root)


# ---------------------------------------------------------------- files


def write_truncated_gguf(path: PathLike, source: PathLike, *, keep: float = 0.5) -> Path:
    """A new file holding the first `keep` share of `source` (a cut-short download)."""
    data = Path(source).read_bytes()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(target):
        target.unlink()
    target.write_bytes(data[: max(24, int(len(data) * keep))])
    return target


def write_not_gguf(path: PathLike, text: str = "<html>404 Not Found</html>\n" * 4) -> Path:
    """A text file with a `.gguf` name (a saved error page)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def write_header_gguf(
    path: PathLike,
    *,
    architecture: str = "llama",
    name: str | None = None,
    file_type: int | None = None,
    size_label: str | None = None,
    context_length: int | None = None,
    chat_template: str | None = None,
    general_type: str | None = None,
    metadata: Mapping[str, str | int | bool] | None = None,
) -> Path:
    """A valid GGUF file with the header you ask for and one tiny tensor.

    Discovery and `localkit info` read it like a real model (e.g. a Qwen3 4B Q4_K_M); no
    runtime can load it.

    Args:
        path: Where to write it.
        architecture: `general.architecture`.
        name: `general.name`.
        file_type: `general.file_type` (llama.cpp's `llama_ftype`: 15 is Q4_K_M).
        size_label: `general.size_label`, e.g. "4B".
        context_length: `{architecture}.context_length`.
        chat_template: `tokenizer.chat_template`.
        general_type: `general.type` ("mmproj" for a vision projector).
        metadata: More keys (strings, ints, bools).
    """
    import gguf
    import numpy as np

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(target), architecture)
    if general_type is not None:
        writer.add_type(general_type)
    if name is not None:
        writer.add_name(name)
    if file_type is not None:
        writer.add_file_type(file_type)
    if size_label is not None:
        writer.add_size_label(size_label)
    if context_length is not None:
        writer.add_context_length(context_length)
    if chat_template is not None:
        writer.add_chat_template(chat_template)
    for key, value in (metadata or {}).items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        else:
            writer.add_string(key, value)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


def write_mmproj_gguf(path: PathLike) -> Path:
    """A tiny vision projector (`general.type = "mmproj"`, architecture "clip")."""
    return write_header_gguf(
        path,
        architecture="clip",
        name="test projector",
        general_type="mmproj",
        metadata={"clip.has_vision_encoder": True, "clip.projector_type": "mlp"},
    )


def _symlink(target: str, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(link):
        link.unlink()
    os.symlink(target, link)


__all__ = [
    "DEFAULT_REVISION",
    "file_sha256",
    "place_file",
    "write_gpt4all_folder",
    "write_header_gguf",
    "write_hf_cache",
    "write_hf_dangling_snapshot",
    "write_lmstudio_models",
    "write_mmproj_gguf",
    "write_not_gguf",
    "write_ollama_invalid_manifest",
    "write_ollama_manifest",
    "write_ollama_missing_blob",
    "write_ollama_store",
    "write_ollama_truncated_blob",
    "write_truncated_gguf",
]
