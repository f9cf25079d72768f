"""Ollama's model store, read-only: manifests, blobs, and the names Ollama shows for them.

Layout (Ollama's `manifest/` package and `types/model/name.go`): the folder `<models>` is
`$OLLAMA_MODELS`, else `~/.ollama/models`; it holds `manifests/<host>/<namespace>/<model>/<tag>`,
each a Docker v2 manifest in JSON whose layers name blobs by digest (`sha256:<hex>`), and
`blobs/sha256-<hex>` (the digest with `-` for `:`). The GGUF file is the blob of the layer of
media type `application/vnd.ollama.image.model`; a vision model's projector is a separate
`...image.projector` layer; the config blob (JSON) says `model_type` ("8.0B") and `file_type`
("Q4_K_M"), and names a `remote_host` for a cloud model, which has no model layer.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_localkit._stores import Entry, is_dir

OLLAMA_HOST = "registry.ollama.ai"
OLLAMA_NAMESPACE = "library"
OLLAMA_MODEL = "application/vnd.ollama.image.model"
OLLAMA_PROJECTOR = "application/vnd.ollama.image.projector"
OLLAMA_TENSOR = "application/vnd.ollama.image.tensor"

_DIGEST = re.compile(r"^sha256[:-](?P<hex>[0-9a-fA-F]{64})$")
_MAX_CONFIG_BYTES = 1 << 20


def scan_ollama(roots: Sequence[Path]) -> Iterator[Entry]:
    """One entry per manifest (`<host>/<namespace>/<model>/<tag>`), as Ollama lists them."""
    seen: set[str] = set()
    for root in roots:
        manifests = root / "manifests"
        if not is_dir(manifests):
            continue
        for manifest in sorted(manifests.glob("*/*/*/*")):
            parts = manifest.relative_to(manifests).parts
            if any(p.startswith(".") for p in parts) or is_dir(manifest):
                continue
            name = ollama_name(*parts)
            if name not in seen:
                seen.add(name)
                yield _ollama_entry(root, manifest, name)


def _ollama_entry(root: Path, manifest: Path, name: str) -> Entry:
    pull = f"run `ollama pull {name}`"
    try:
        data = json.loads(manifest.read_bytes())
    except OSError as e:
        return Entry(name, "ollama", None, f"its manifest {manifest} cannot be read ({e}).")
    except ValueError:
        return Entry(
            name, "ollama", None, f"its manifest {manifest} is not valid JSON; {pull} again."
        )
    layers = data.get("layers") if isinstance(data, dict) else None
    if not isinstance(layers, list):
        return Entry(name, "ollama", None, f"its manifest {manifest} has no list of layers.")
    layers = [layer for layer in layers if isinstance(layer, dict)]
    config = _ollama_config(root, data.get("config"))
    hints = {
        key: str(config[field_])
        for key, field_ in (("parameters", "model_type"), ("quantization", "file_type"))
        if isinstance(config.get(field_), str) and config[field_]
    }
    vision = any(layer.get("mediaType") == OLLAMA_PROJECTOR for layer in layers)
    model = next((layer for layer in layers if layer.get("mediaType") == OLLAMA_MODEL), None)
    entry = Entry(name, "ollama", None, vision=vision, hints=hints)
    if model is None:
        if config.get("remote_host"):
            entry.problem = (
                f"a cloud model: it runs on {config['remote_host']}, so there is no local file."
            )
        elif any(layer.get("mediaType") == OLLAMA_TENSOR for layer in layers):
            entry.problem = "stored as separate tensors, not as one GGUF file: only Ollama runs it."
        else:
            entry.problem = f"its manifest {manifest} has no model layer."
        return entry
    blob = _blob_path(root, model.get("digest"))
    if blob is None:
        entry.problem = f"its manifest {manifest} names an invalid digest {model.get('digest')!r}."
        return entry
    try:
        st = blob.stat()
    except FileNotFoundError:
        entry.problem = (
            f"its model blob {blob} is missing (an interrupted pull, or the file was removed); "
            f"{pull}."
        )
        return entry
    except OSError as e:
        entry.path, entry.problem = blob, f"its model blob {blob} cannot be read ({e})."
        return entry
    entry.path = blob
    if stat.S_ISDIR(st.st_mode):
        entry.problem = f"{blob} is a directory where the model blob should be; {pull}."
    elif isinstance(model.get("size"), int) and st.st_size != model["size"]:
        entry.problem = (
            f"its model blob {blob} has {st.st_size} bytes but the manifest says "
            f"{model['size']}: the file is incomplete or damaged; {pull}."
        )
    return entry


def _blob_path(root: Path, digest: Any) -> Path | None:
    found = _DIGEST.match(digest) if isinstance(digest, str) else None
    return root / "blobs" / f"sha256-{found['hex']}" if found else None


def _ollama_config(root: Path, layer: Any) -> dict[str, Any]:
    blob = _blob_path(root, layer.get("digest")) if isinstance(layer, dict) else None
    try:
        if blob is None or blob.stat().st_size > _MAX_CONFIG_BYTES:
            return {}
        config = json.loads(blob.read_bytes())
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def ollama_name(host: str, namespace: str, model: str, tag: str) -> str:
    """The shortest name Ollama shows for a manifest path (`model:tag` for the library).

    Example:
        >>> ollama_name("registry.ollama.ai", "library", "llama3.1", "8b")
        'llama3.1:8b'
        >>> ollama_name("hf.co", "bartowski", "Qwen3-4B-GGUF", "Q4_K_M")
        'hf.co/bartowski/Qwen3-4B-GGUF:Q4_K_M'
    """
    if host.lower() != OLLAMA_HOST:
        return f"{host}/{namespace}/{model}:{tag}"
    if namespace.lower() != OLLAMA_NAMESPACE:
        return f"{namespace}/{model}:{tag}"
    return f"{model}:{tag}"


def manifest_parts(name: str) -> tuple[str, str, str, str]:
    """(host, namespace, model, tag) of an Ollama name, with Ollama's defaults filled in.

    Example:
        >>> manifest_parts("qwen3")
        ('registry.ollama.ai', 'library', 'qwen3', 'latest')
        >>> manifest_parts("me/tiny:q8")
        ('registry.ollama.ai', 'me', 'tiny', 'q8')
    """
    path, _, tag = name.partition(":")
    parts = path.split("/")
    if not all(parts) or len(parts) > 3 or ":" in tag or "/" in tag:
        raise ValueError(f"{name!r} is not an Ollama model name like 'llama3.1:8b'.")
    host, namespace = OLLAMA_HOST, OLLAMA_NAMESPACE
    if len(parts) == 3:
        host, namespace = parts[0], parts[1]
    elif len(parts) == 2:
        namespace = parts[0]
    return host, namespace, parts[-1], tag or "latest"


__all__ = [
    "OLLAMA_HOST",
    "OLLAMA_MODEL",
    "OLLAMA_NAMESPACE",
    "OLLAMA_PROJECTOR",
    "OLLAMA_TENSOR",
    "manifest_parts",
    "ollama_name",
    "scan_ollama",
]
