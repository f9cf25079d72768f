"""Find the models a user already has: Ollama, LM Studio, the Hugging Face cache, GPT4All.

`find_models()` lists the GGUF models in the stores of the usual local runtimes, the packaged
demo models and your own folders, with what each file's header says (architecture, prompt
family, quantization, size, context length, capabilities). It only reads: nothing is
downloaded, created, changed or removed, and it reads no more of a file than its header. A
broken entry (a missing Ollama blob, a truncated download, a dangling symlink) is listed with
its `problem` instead of raising.

Example:
    >>> from langchain_localkit.discovery import find_model, find_models
    >>> for model in find_models():  # doctest: +SKIP
    ...     print(model.name, model.source, model.quantization, model.capabilities)
    llama3.1:8b ollama Q4_K_M ('completion', 'chat', 'tools')
    >>> find_model("llama3.1:8b").model_string  # doctest: +SKIP
    'llamacpp:/home/me/.ollama/models/blobs/sha256-667b0c19...'
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_localkit._core.errors import (
    InvalidModelFileError,
    ModelFileError,
    ModelIsDirectoryError,
    ModelNotFoundError,
)
from langchain_localkit._core.gguf import GGUFInfo, read_gguf_info
from langchain_localkit._ollama_store import OLLAMA_HOST, manifest_parts, scan_ollama
from langchain_localkit._stores import (
    Entry,
    Places,
    gpt4all_roots,
    hf_roots,
    lmstudio_roots,
    ollama_roots,
    scan_gpt4all,
    scan_hf,
    scan_lmstudio,
    scan_packaged,
    scan_user_dirs,
    user_roots,
)
from langchain_localkit.prompts.capabilities import CAPABILITIES, gguf_capabilities

SOURCES = ("ollama", "lmstudio", "huggingface", "gpt4all", "localkit", "dirs")
"""Where models are found, in the order they are listed (and win when a file is seen twice):
Ollama's store, LM Studio's models folder, the Hugging Face hub cache, GPT4All's model
folders, the packaged demo models, and the folders you name (`dirs`, `$LOCALKIT_MODELS`)."""

_LIST_HINT = "Run `localkit models` to list the models found on this computer."


@dataclass(frozen=True)
class LocalModel:
    """A model file found on this computer, and what its header says.

    Attributes:
        name: How to ask for it: `"llama3.1:8b"` (Ollama), `"org/repo/file.gguf"` (Hugging
            Face cache), `"publisher/repo/file.gguf"` (LM Studio), the file name (GPT4All and
            your folders), `"smollm2-135m-instruct"` / `"gemma3-270m"` (packaged models).
        source: Where it was found, one of `SOURCES`.
        path: The GGUF file (the first file of a split model; for Ollama the blob), or None
            when there is no file to point at.
        size: Size in bytes (all files of a split model), 0 when unknown.
        architecture: `general.architecture`, e.g. `"llama"`.
        family: The prompt-pack family detected from the header, e.g. `"chatml"`.
        quantization: E.g. `"Q4_K_M"`.
        parameters: E.g. `"8B"`.
        context_length: The context length it was trained with.
        capabilities: A subset of `("completion", "chat", "tools", "thinking", "embedding",
            "vision")`, in that order.
        problem: Why it cannot be used (a missing blob, a truncated or non-GGUF file, a bad
            manifest, a dangling symlink, ...), or None when it is usable.
    """

    name: str
    source: str
    path: Path | None
    size: int
    architecture: str | None
    family: str | None
    quantization: str | None
    parameters: str | None
    context_length: int | None
    capabilities: tuple[str, ...]
    problem: str | None = None

    @property
    def usable(self) -> bool:
        """Whether the model can be loaded (no `problem` was found)."""
        return self.problem is None

    @property
    def model_string(self) -> str:
        """The model string for `init_local_model` and the CLI: `"llamacpp:<path>"`.

        A llamafile executable gives `"llamafile:"` (the string for the server it starts),
        and an entry without a file gives `""`.
        """
        if self.path is None:
            return ""
        if self.path.name.lower().endswith(".llamafile"):
            return "llamafile:"
        return f"llamacpp:{self.path}"

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values (path as a string), plus `usable` and `model_string`.

        Example:
            >>> LocalModel(
            ...     "m.gguf", "dirs", Path("/m/m.gguf"), 1, "llama", None, None, None, None, ()
            ... ).to_dict()["path"]
            '/m/m.gguf'
        """
        data = dataclasses.asdict(self)
        data["path"] = None if self.path is None else str(self.path)
        data["capabilities"] = list(self.capabilities)
        data["usable"] = self.usable
        data["model_string"] = self.model_string
        return data


def find_models(
    dirs: Sequence[str | os.PathLike[str]] = (),
    *,
    sources: Collection[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[LocalModel]:
    """List the models on this computer, store by store (`SOURCES` order), by name.

    Broken entries are listed with their `problem`; nothing raises for them. A file reached
    twice (a symlink, a folder inside a store) is listed once, under the first source; the tags
    of one Ollama model that share a blob are all listed, as `ollama list` shows them.

    Args:
        dirs: Your own folders (or files) to search for `.gguf` and `.llamafile` files, four
            levels deep; `$LOCALKIT_MODELS` (`os.pathsep`-separated) adds more.
        sources: Only these stores (names from `SOURCES`); None: all of them.
        home: The home directory the stores are under (default: yours). When given, the
            system-wide Ollama store (`/usr/share/ollama/.ollama/models`) is left out.
        environ: The environment to read `OLLAMA_MODELS`, `HF_HUB_CACHE`, `HF_HOME`,
            `XDG_CACHE_HOME`, `XDG_DATA_HOME`, `LOCALKIT_MODELS`, ... from (default:
            `os.environ`).

    Raises:
        ValueError: `sources` names an unknown store.

    Example:
        >>> from langchain_localkit.discovery import find_models
        >>> [m.name for m in find_models(sources={"ollama"}) if m.usable]  # doctest: +SKIP
        ['llama3.1:8b', 'qwen3:latest']
    """
    chosen = _check_sources(sources)
    places = _places(home, environ)
    scanners: dict[str, Callable[[], Iterator[Entry]]] = {
        "ollama": lambda: scan_ollama(ollama_roots(places)),
        "lmstudio": lambda: scan_lmstudio(lmstudio_roots(places)),
        "huggingface": lambda: scan_hf(hf_roots(places)),
        "gpt4all": lambda: scan_gpt4all(gpt4all_roots(places)),
        "localkit": lambda: scan_packaged(places),
        "dirs": lambda: scan_user_dirs(user_roots(places, dirs)),
    }
    entries = _dedupe(
        entry for source in SOURCES if source in chosen for entry in scanners[source]()
    )
    headers = [_read_header(entry) for entry in entries]
    with_projector = {
        entry.group
        for entry, (info, _) in zip(entries, headers, strict=True)
        if info is not None and entry.group is not None and _is_projector(info)
    }
    models = [
        _model(entry, info, problem, entry.vision or entry.group in with_projector)
        for entry, (info, problem) in zip(entries, headers, strict=True)
        if info is None or not _is_projector(info)
    ]
    order = {source: i for i, source in enumerate(SOURCES)}
    return sorted(models, key=lambda m: (order[m.source], m.name.lower(), m.name))


def find_model(
    name: str,
    dirs: Sequence[str | os.PathLike[str]] = (),
    *,
    sources: Collection[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LocalModel:
    """The one local model called `name`.

    The exact name (or the model's path) wins; then the name in any case; then a shorter form,
    if only one model has it: an Ollama name without `:latest`, a file name or its stem, a
    Hugging Face or LM Studio `org/repo`.

    Args:
        name: The model's name, e.g. `"llama3.1:8b"`, `"qwen3"`, `"Qwen3-4B-Q4_K_M.gguf"`.
        dirs: Your own folders to search too (see `find_models`).
        sources: Only these stores (see `find_models`).
        home: The home directory the stores are under (see `find_models`).
        environ: The environment (see `find_models`).

    Raises:
        ModelNotFoundError: No model, or several, have that name (the message lists close
            names); or the model's file is missing.
        ModelIsDirectoryError: The model's path is a directory.
        InvalidModelFileError: The model was found but cannot be used (the message quotes its
            `problem`: a truncated or non-GGUF file, a bad manifest, a llamafile, ...).

    Example:
        >>> from langchain_localkit.discovery import find_model
        >>> find_model("qwen3").name  # doctest: +SKIP
        'qwen3:latest'
    """
    models = find_models(dirs, sources=sources, home=home, environ=environ)
    found = _match(name, models)
    if found.problem is not None:
        raise _unusable(found)
    return found


def store_roots(
    dirs: Sequence[str | os.PathLike[str]] = (),
    *,
    home: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, list[Path]]:
    """The folders `find_models` reads, per source, whether or not they exist yet.

    Args:
        dirs: Your own folders (with `$LOCALKIT_MODELS`, as `find_models` takes them).
        home: The home directory the stores are under (default: yours).
        environ: The environment the stores' variables are read from (default: `os.environ`).

    Example:
        >>> from langchain_localkit.discovery import store_roots
        >>> store_roots()["ollama"]  # doctest: +SKIP
        [PosixPath('/home/me/.ollama/models'), PosixPath('/usr/share/ollama/.ollama/models')]
    """
    places = _places(home, environ)
    return {
        "ollama": ollama_roots(places),
        "lmstudio": lmstudio_roots(places),
        "huggingface": hf_roots(places),
        "gpt4all": gpt4all_roots(places),
        "dirs": user_roots(places, dirs),
    }


def _places(home: str | os.PathLike[str] | None, environ: Mapping[str, str] | None) -> Places:
    return Places(
        home=Path.home() if home is None else Path(home),
        environ=os.environ if environ is None else environ,
        system=home is None,
    )


def _check_sources(sources: Collection[str] | None) -> frozenset[str]:
    if sources is None:
        return frozenset(SOURCES)
    if isinstance(sources, str):
        sources = (sources,)
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise ValueError(f"Unknown model source(s) {unknown}; choose from {list(SOURCES)}.")
    return frozenset(sources)


def _dedupe(entries: Iterable[Entry]) -> list[Entry]:
    """Drop entries whose file an earlier entry has (Ollama tags sharing a blob all stay)."""
    first: dict[str, Entry] = {}
    kept: list[Entry] = []
    for entry in entries:
        if entry.path is not None:
            key = os.path.realpath(entry.path)
            holder = first.setdefault(key, entry)
            if holder is not entry and not holder.source == entry.source == "ollama":
                continue
        kept.append(entry)
    return kept


def _read_header(entry: Entry) -> tuple[GGUFInfo | None, str | None]:
    """The entry's header, or why there is none."""
    if entry.problem is not None or entry.path is None:
        return None, entry.problem or "no model file"
    try:
        info = read_gguf_info(entry.path)
        for shard in entry.shards:
            read_gguf_info(shard)
    except (ModelFileError, OSError) as e:
        return None, str(e)
    except Exception as e:  # a header no reader foresaw must not stop the listing
        return None, f"{entry.path}: its GGUF header cannot be read ({type(e).__name__}: {e})."
    if info.path != entry.path:
        # the name detection and quantization fall back on is the entry's, not its blob's
        info = dataclasses.replace(info, path=entry.path)
    return info, None


def _is_projector(info: GGUFInfo) -> bool:
    return info.get("general.type") == "mmproj" or info.architecture == "clip"


def _model(entry: Entry, info: GGUFInfo | None, problem: str | None, vision: bool) -> LocalModel:
    size = _size(entry)
    if info is None:
        return LocalModel(
            name=entry.name,
            source=entry.source,
            path=entry.path,
            size=size,
            architecture=None,
            family=None,
            quantization=entry.hints.get("quantization"),
            parameters=entry.hints.get("parameters"),
            context_length=None,
            capabilities=(),
            problem=problem,
        )
    try:
        caps = gguf_capabilities(info)
    except Exception as e:  # as above: listed with its problem, never raised
        problem = f"{entry.path}: its GGUF header cannot be read ({type(e).__name__}: {e})."
        return _model(entry, None, problem, vision)
    names = set(caps.names())
    arch = info.architecture or ""
    if "completion" in names and (
        vision or any(str(k).startswith(f"{arch}.vision.") for k in info.metadata)
    ):
        names.add("vision")
    if caps.kind not in ("model", "mmproj"):
        what = "a LoRA adapter (pass it as `lora_path`)" if caps.kind == "adapter" else None
        problem = f"{what or f'a {caps.kind!r} file'}, not a model."
        names = set()
    return LocalModel(
        name=entry.name,
        source=entry.source,
        path=entry.path,
        size=size,
        architecture=info.architecture,
        family=caps.family,
        quantization=caps.quantization or entry.hints.get("quantization"),
        parameters=caps.parameters or entry.hints.get("parameters"),
        context_length=caps.context_length,
        capabilities=tuple(c for c in CAPABILITIES if c in names),
        problem=problem,
    )


def _size(entry: Entry) -> int:
    total = 0
    for path in (entry.path, *entry.shards):
        with contextlib.suppress(OSError):
            total += path.stat().st_size if path is not None and path.is_file() else 0
    return total


# ---------------------------------------------------------------- finding one by name


def _forms(model: LocalModel) -> set[str]:
    """The other names (lower case) that find `model` when only it has them."""
    name = model.name.lower()
    forms = {name}
    if model.source == "ollama":
        try:
            host, namespace, base, tag = manifest_parts(name)
        except ValueError:
            return forms
        forms.add(f"{host}/{namespace}/{base}:{tag}")
        if host == OLLAMA_HOST:
            forms.add(f"{namespace}/{base}:{tag}")
        return forms | {form.removesuffix(":latest") for form in forms}
    files = [name.rsplit("/", 1)[-1]]
    if model.path is not None:
        files.append(model.path.name.lower())
    for file in files:
        stem = file.removesuffix(".gguf").removesuffix(".llamafile")
        forms |= {file, stem}
        shard = stem.rsplit("-", 3)
        if len(shard) == 4 and shard[1].isdigit() and shard[2] == "of":
            forms.add(shard[0])
    parts = name.split("/")
    if model.source in ("huggingface", "lmstudio") and len(parts) >= 3:
        forms.add("/".join(parts[:2]))
    return forms


def _match(name: str, models: list[LocalModel]) -> LocalModel:
    query = name.strip()
    low = query.lower()
    as_path = os.path.realpath(os.path.expanduser(query)) if query else ""
    stages: list[Callable[[LocalModel], bool]] = [
        lambda m: (
            m.name == query
            or (m.path is not None and as_path in (str(m.path), os.path.realpath(m.path)))
        ),
        lambda m: m.name.lower() == low,
        lambda m: low in _forms(m),
    ]
    for stage in stages:
        hits = [m for m in models if stage(m)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            listed = ", ".join(f"{m.name} ({m.source}: {m.path})" for m in hits[:8])
            raise ModelNotFoundError(
                f"{name!r} matches several local models: {listed}. Ask for one by its full "
                f"name or its path. {_LIST_HINT}"
            )
    raise ModelNotFoundError(
        f"No local model is called {name!r}.{_close(low, models)} {_LIST_HINT}"
    )


def _close(low: str, models: list[LocalModel]) -> str:
    if not models:
        return " No local models were found."
    names = {m.name.lower(): m.name for m in models}
    close = [names[n] for n in difflib.get_close_matches(low, list(names), n=5, cutoff=0.6)]
    close += [m.name for m in models if low and low in m.name.lower() and m.name not in close]
    return f" Close names: {', '.join(close[:5])}." if close else ""


def _unusable(model: LocalModel) -> ModelFileError:
    message = f"The local model {model.name!r} ({model.source}) cannot be used: {model.problem}"
    path = model.path
    if path is None or not path.exists():
        return ModelNotFoundError(message, path)
    if path.is_dir():
        return ModelIsDirectoryError(message, path)
    return InvalidModelFileError(message, path)


__all__ = ["SOURCES", "LocalModel", "find_model", "find_models", "store_roots"]
