"""HTTP error bodies as typed errors, for every server version's shape of them.

llama.cpp answers `{"error": {"code", "message", "type", ...}}` (with `n_prompt_tokens` and
`n_ctx` when the prompt does not fit); vLLM the same object (older versions: flat, with
`"object": "error"`), and "This model's maximum context length is N tokens..." for a prompt
too long; LM Studio and mlx_lm `{"error": "<text>"}`; KoboldCpp `{"detail": {"msg", "type"}}`;
llamafile's older server and proxies other shapes, or plain text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, NoReturn

import httpx

from langchain_localkit._core.errors import ContextOverflowError, ServerError


def error_message(body: Any) -> tuple[str, str | None, Mapping[str, Any]]:
    """(message, error type, the error object) from an error body of any server version."""
    if isinstance(body, Mapping):
        err = body.get("error", body.get("detail", body))
        if isinstance(err, Mapping):
            message = err.get("message") or err.get("msg") or err.get("error") or err.get("status")
            kind = err.get("type")
            return (
                str(message or json.dumps(dict(err))),
                kind if isinstance(kind, str) else None,
                err,
            )
        if isinstance(err, str):
            return err, None, body
        message = body.get("message") or body.get("status")
        if message:
            return str(message), None, body
    return str(body), None, {}


_OPENAI_OVERFLOW = re.compile(r"maximum context length is (\d+) tokens")
_ASKED = re.compile(r"\((\d+) in the messages|requested (\d+) tokens|(\d+) input tokens")


def raise_error_body(body: Any, status: int | None, url: str) -> NoReturn:
    """Raise the typed error an error body stands for (`status` None: reported mid-reply).

    Raises:
        ContextOverflowError: The prompt does not fit in the context.
        ServerError: Any other error, with the server's message and a hint where one helps.
    """
    message, kind, err = error_message(body)
    overflow = _OPENAI_OVERFLOW.search(message)
    if overflow and status in (400, None) and "max_tokens" in message:
        raise ServerError(
            f"The server at {url} refused the request: {message.rstrip('.')}. Lower "
            "`max_tokens`: the prompt and the reply must fit in the context together.",
            status,
        )
    if overflow and status in (400, None):
        asked = _ASKED.search(message)
        raise ContextOverflowError(
            int(next(g for g in asked.groups() if g)) if asked else None,
            int(overflow.group(1)),
            "Shorten the prompt or lower `max_tokens`, or restart the server with a longer "
            "context (vLLM: `--max-model-len`).",
        )
    if kind == "exceed_context_size_error" or (
        "n_prompt_tokens" in err and "n_ctx" in err and status in (400, None)
    ):
        n_prompt = int(err.get("n_prompt_tokens") or 0)
        n_ctx = int(err.get("n_ctx") or 0)
        raise ContextOverflowError(
            n_prompt,
            n_ctx,
            "Shorten the prompt, or restart the server with a larger context (`-c`/`--ctx-size`).",
        )
    where = f"The server at {url}"
    if status is None:
        raise ServerError(
            f"{where} reported an error mid-reply: {message.rstrip('.')}. The reply was cut "
            "off there: what came before it is not a whole answer."
        )
    hint = ""
    no_model = err.get("code") == "model_not_found" or (
        status == 404 and (err.get("param") == "model" or "model" in message.lower())
    )
    if status == 401:
        hint = " Pass the server's key as `api_key=`."
    elif no_model:
        hint = " Check `model=`; the server lists its models at `GET /v1/models`."
    elif status == 404:
        hint = (
            " This server does not offer that endpoint: check that `base_url` points at the "
            "server you meant (another kind of server may listen on that port), or it is an "
            "older llamafile."
        )
    elif status == 501 and "embedding" in message.lower() and "--embedding" not in message:
        hint = " Start the server with `--embedding` (llama-server: `--embeddings`)."
    raise ServerError(f"{where} answered HTTP {status}: {message.rstrip('.')}.{hint}", status)


_HTML = ("<!doctype html", "<html", "<head", "<body", "<?xml")


def unexpected_answer(url: str, content_type: str, text: str, base_url: str) -> ServerError:
    """The error for a success answer that is not what an inference server sends.

    A web server, a proxy's error page or another app on the port answers 200 with HTML or
    plain text; read as JSON or as events it would pass for an empty reply.

    Example:
        >>> error = unexpected_answer("http://h/props", "text/html", "<html>hi</html>", "http://h")
        >>> "an HTML page" in str(error), "base_url" in str(error)
        (True, True)
    """
    start = text.lstrip()[:120]
    if "json" in content_type.lower() and not start.lower().startswith(_HTML):
        return ServerError(
            f"The server at {url} answered with JSON it could not read ({start!r}): a broken or "
            "cut-off answer. Check the server's log; if something else listens at "
            f"{base_url}, fix `base_url`."
        )
    html = "html" in content_type.lower() or start.lower().startswith(_HTML)
    what = "an HTML page" if html else f"{content_type or 'a body'} that is not JSON"
    return ServerError(
        f"The server at {url} answered with {what} ({start!r}), not the JSON or "
        "Server-Sent Events an inference server sends. Something else may be listening at "
        f"{base_url} (a web server, a proxy, another app): check `base_url` and the port."
    )


def json_of(response: httpx.Response, base_url: str) -> Any:
    """The JSON of a read success answer (None when empty).

    Raises:
        ServerError: The answer is not JSON (an HTML page, plain text, a cut-off body).
    """
    if not response.content.strip():
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        content_type = response.headers.get("content-type", "")
        raise unexpected_answer(
            str(response.request.url), content_type, response.text, base_url
        ) from None


def body_of(response: httpx.Response) -> Any:
    """The JSON of a read response; its text (or reason) when it is not JSON."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()
        return text or response.reason_phrase


__all__ = ["body_of", "error_message", "json_of", "raise_error_body", "unexpected_answer"]
