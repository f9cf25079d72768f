"""Embeddings over HTTP: `POST /v1/embeddings`, with llama.cpp's `POST /embedding` as fallback.

`embeddings_flow` is a transport flow (see `engines.http.transport`): written once, driven
by `HttpTransport.run` or `HttpTransport.arun`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_localkit._core.errors import ServerError
from langchain_localkit.engines.http.transport import Flow

Fetch = Callable[[str, str, Any], Flow[Any]]
"""`HttpTransport.fetch`: (method, path, body) -> the flow of one JSON request."""


def _mean(vectors: Sequence[Sequence[float]]) -> list[float]:
    n = len(vectors)
    if n == 0:
        return []
    return [math.fsum(col) / n for col in zip(*vectors, strict=True)]


def _as_vector(value: Any) -> list[float]:
    if value and isinstance(value[0], list):
        return _mean(value)
    return [float(x) for x in value]


def openai_request(
    texts: Sequence[str], model: str | None = None, *, llama_cpp: bool = True
) -> dict[str, Any]:
    """The body of `POST /v1/embeddings` (vectors as the server computes them, not normalised).

    `embd_normalize` is llama.cpp's (sent with `llama_cpp`); `model` is sent when given.
    """
    body: dict[str, Any] = {"input": list(texts), "encoding_format": "float"}
    if llama_cpp:
        body["embd_normalize"] = -1
    if model:
        body["model"] = model
    return body


def openai_vectors(answer: Any, n: int) -> list[list[float]]:
    """The vectors of a `/v1/embeddings` answer, in input order.

    Raises:
        ServerError: The answer does not hold `n` embeddings.
    """
    data = answer.get("data") if isinstance(answer, Mapping) else None
    if not isinstance(data, list) or len(data) != n:
        raise ServerError(
            f"The server's /v1/embeddings answer does not hold the {n} embeddings asked for "
            f"(it sent {str(answer)[:200]!r}). Is it an embedding server (llama-server: "
            "`--embeddings`), the one `base_url` should point at?"
        )
    ordered = sorted(data, key=lambda d: int(d.get("index", 0)))
    return [_as_vector(d["embedding"]) for d in ordered]


def native_vector(answer: Any) -> list[float]:
    """The vector of a `/embedding` answer (token vectors, with `--pooling none`, are averaged).

    Raises:
        ServerError: The answer holds no embedding.
    """
    if isinstance(answer, list):
        answer = answer[0] if answer else {}
    if not isinstance(answer, Mapping) or "embedding" not in answer:
        raise ServerError(
            f"The server's /embedding answer holds no embedding (it sent {str(answer)[:200]!r}). "
            "Is it an embedding server (llama-server: `--embeddings`), the one `base_url` should "
            "point at?"
        )
    return _as_vector(answer["embedding"])


def _use_native(error: ServerError) -> bool:
    return error.status_code in (404, 405) or "not OAI compatible" in str(error)


def embeddings_flow(
    fetch: Fetch, texts: Sequence[str], *, model: str | None = None, native_fallback: bool = True
) -> Flow[list[list[float]]]:
    """One vector per text: one `/v1/embeddings` request for all of them.

    Args:
        fetch: The transport's `fetch`.
        texts: The texts.
        model: The model to ask for (OpenAI-compatible servers serving several).
        native_fallback: Where `/v1/embeddings` is missing or refused (llamafile's older
            server, or a server started with `--pooling none`), use llama.cpp's
            `POST /embedding`, one request per text.
    """
    if not texts:
        return []
    try:
        body = openai_request(texts, model, llama_cpp=native_fallback)
        answer = yield from fetch("POST", "/v1/embeddings", body)
        return openai_vectors(answer, len(texts))
    except ServerError as e:
        if not (native_fallback and _use_native(e)):
            raise
    out: list[list[float]] = []
    for text in texts:
        body = {"content": text, "embd_normalize": -1}
        out.append(native_vector((yield from fetch("POST", "/embedding", body))))
    return out


__all__ = ["embeddings_flow", "native_vector", "openai_request", "openai_vectors"]
