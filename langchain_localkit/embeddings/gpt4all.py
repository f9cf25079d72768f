"""`GPT4AllEmbeddings`: a local BERT embedding GGUF in the gpt4all bindings, offline."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from langchain_localkit._compat import accept_community_arguments
from langchain_localkit._core.errors import ModelNotFoundError
from langchain_localkit._core.gguf import check_model_path, read_gguf_info
from langchain_localkit._core.models import LoadedModel, ModelCache
from langchain_localkit._faces.embeddings import LocalEmbeddings
from langchain_localkit.engines.gpt4all import check_architecture, import_gpt4all, load_or_raise

_CACHE: ModelCache[Any] = ModelCache()


DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2.gguf2.f16.gguf"
"""The model gpt4all's `Embed4All` (and community's `GPT4AllEmbeddings`) uses by default."""

_OPTIONS = frozenset({"n_ctx", "ngl", "verbose", "model_type"})
"""`gpt4all_kwargs` passed on to the bindings (`model_path` and `allow_download` are ours)."""


def gpt4all_model_dir() -> Path:
    """gpt4all's own model folder (`~/.cache/gpt4all`), where `model_name` is looked up."""
    return Path.home() / ".cache" / "gpt4all"


def _resolve_model_name(name: str, options: dict[str, Any]) -> Path:
    """The file `model_name` names: a path, or a file name in gpt4all's model folder.

    With `allow_download=True` (asked for explicitly) a missing file is fetched by the
    bindings' own downloader; otherwise nothing leaves the machine.
    """
    given = Path(name).expanduser()
    if given.is_absolute() or len(given.parts) > 1:
        return given
    folder = Path(options.get("model_path") or gpt4all_model_dir()).expanduser()
    path = folder / name
    if path.exists():
        return path
    if options.get("allow_download"):
        gpt4all = import_gpt4all()
        try:
            gpt4all.GPT4All.retrieve_model(name, model_path=folder, allow_download=True)
        except Exception as e:
            raise ModelNotFoundError(
                f"{name} is not in {folder}, and gpt4all could not download it: {e}", path
            ) from e
        return path
    raise ModelNotFoundError(
        f"Embedding model {name} is not in {folder}. Pass `model=` with the path of an "
        "embedding GGUF, put the file in that folder, or let gpt4all download it with "
        "gpt4all_kwargs={'allow_download': True} (off by default: nothing leaves the machine).",
        path,
    )


def _load(
    path: Path, n_threads: int | None, device: str | None, options: tuple[tuple[str, Any], ...]
) -> Any:
    gpt4all = import_gpt4all()
    return load_or_raise(
        lambda: gpt4all.Embed4All(
            path.name,
            model_path=str(path.parent),
            allow_download=False,
            n_threads=n_threads,
            device=device,
            **dict(options),
        ),
        path,
        lambda built: built.gpt4all.model,
        "embedding model",
    )


class GPT4AllEmbeddings(BaseModel, LocalEmbeddings):
    """Embeddings from a local BERT GGUF (`bert`, `nomic-bert`) in the gpt4all bindings.

    The successor of langchain-community's `GPT4AllEmbeddings`, without its silent download:
    `model` is the path of an embedding GGUF (all-MiniLM-L6-v2, nomic-embed-text, ...).
    Community's call works too: `model_name` names a file in gpt4all's model folder
    (`~/.cache/gpt4all`, or `gpt4all_kwargs["model_path"]`), defaulting to gpt4all's own
    all-MiniLM-L6-v2, and it is downloaded only with `gpt4all_kwargs={"allow_download": True}`.
    gpt4all 2.8.2
    embeds only with BERT architectures; a generation model (llama, qwen2, ...) raises
    `UnsupportedArchitectureError` (use `LlamaCppEmbeddings` for those). The package can write
    all-MiniLM-L6-v2 for you, offline: `langchain_localkit.testing.minilm.minilm_gguf_path()`.

    Example:
        .. code-block:: python

            from langchain_localkit import GPT4AllEmbeddings

            embeddings = GPT4AllEmbeddings(model="models/all-MiniLM-L6-v2.F32.gguf")
            vector = embeddings.embed_query("What is the capital of France?")

            # langchain-community's call
            GPT4AllEmbeddings(
                model_name="all-MiniLM-L6-v2.gguf2.f16.gguf",
                n_threads=4,
                gpt4all_kwargs={"allow_download": False},
            )
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model: str = ""
    """Path of the embedding `.gguf` file (set from `model_name` when that is given)."""
    model_name: str | None = None
    """Community's way: a file name in gpt4all's model folder, or a path. Unset with `model`
    unset: gpt4all's default embedding model, all-MiniLM-L6-v2.gguf2.f16.gguf."""
    gpt4all_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Options for the bindings: `model_path` (the folder of `model_name`), `allow_download`
    (False unless set), `n_ctx`, `ngl`, `verbose`."""
    n_threads: int | None = Field(default=None, ge=1)
    """CPU threads (None: the bindings' default)."""
    device: str | None = "cpu"
    """"cpu" (default), "gpu", "kompute", "cuda", ..."""
    prefix: str | None = None
    """Task prefix for models that need one (nomic: "search_document"); `embed_query` uses
    `query_prefix` instead."""
    query_prefix: str | None = None
    """Task prefix for queries (nomic: "search_query")."""
    dimensionality: int | None = Field(default=None, ge=1)
    """Truncate vectors to this size (Matryoshka models such as nomic-embed-text v1.5)."""
    long_text_mode: Literal["mean", "truncate"] = "mean"
    """Texts longer than the context: average the parts' vectors, or truncate."""

    _entry: LoadedModel[Any] | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        unknown = set(self.gpt4all_kwargs) - _OPTIONS - {"model_path", "allow_download"}
        if unknown:
            raise ValueError(
                f"Unknown gpt4all_kwargs: {', '.join(sorted(unknown))}. GPT4AllEmbeddings takes "
                f"{', '.join(sorted(_OPTIONS | {'model_path', 'allow_download'}))}."
            )
        if self.model and self.model_name is not None:
            raise ValueError("Pass either `model` (a path) or `model_name`, not both.")
        if not self.model:
            name = self.model_name or DEFAULT_MODEL_NAME
            self.model = str(_resolve_model_name(name, self.gpt4all_kwargs))
        path = check_model_path(self.model)
        check_architecture(read_gguf_info(path), embedding=True)
        self.model = str(path)

    @model_validator(mode="before")
    @classmethod
    def _accept_community_arguments(cls, values: Any) -> Any:
        return accept_community_arguments("GPT4AllEmbeddings", values, cls)

    @property
    def client(self) -> Any:
        """The bindings' `Embed4All` (loads the model if needed)."""
        return self._embedder().model

    def _embedder(self) -> LoadedModel[Any]:
        with self._lock:
            if self._entry is None:
                path = Path(self.model)
                stat = path.stat()
                options = tuple(
                    sorted((k, v) for k, v in self.gpt4all_kwargs.items() if k in _OPTIONS)
                )
                key = (
                    "embed4all",
                    str(path),
                    stat.st_mtime_ns,
                    self.n_threads,
                    self.device,
                    options,
                )
                load = functools.partial(_load, path, self.n_threads, self.device, options)
                self._entry, _ = _CACHE.get_or_load(key, load)
            return self._entry

    def _embed(self, texts: list[str], query: bool) -> list[list[float]]:
        prefix = self.query_prefix if query and self.query_prefix is not None else self.prefix
        entry = self._embedder()
        with entry.lease() as lease:
            vectors = lease.model.embed(
                texts,
                prefix=prefix if prefix is not None else "",
                dimensionality=self.dimensionality,
                long_text_mode=self.long_text_mode,
            )
        return [list(map(float, v)) for v in vectors]


__all__ = ["GPT4AllEmbeddings"]
