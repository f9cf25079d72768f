"""What the Ollama faces add to langchain-ollama's: timings, clear errors, pulling on demand.

langchain-ollama reads the `ollama` client's stream of responses. The faces wrap that stream:
the final response (`done: true`) gains our `Timings` (from Ollama's nanosecond durations, plus
the time to first token measured here) and a `usage` dict; the client's exceptions become the
package's typed errors with the way out in their message.

Reasoning: Ollama streams a thinking model's thoughts one token per part (`message.thinking` on
`/api/chat`, `thinking` on `/api/generate`) and counts them in `eval_count` without saying how
many they were. The wrapper counts the streamed parts that carry thoughts and reports them in
`usage["output_token_details"]["reasoning"]`; the chat face copies that into the final
message's `usage_metadata`.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import IO, Any

import httpx
from langchain_core.language_models import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from ollama import Client, ResponseError

from langchain_localkit._core.errors import (
    ModelNotPulledError,
    ServerDisconnectedError,
    ServerError,
    ServerTimeoutError,
    ServerUnavailableError,
)
from langchain_localkit._core.progress import Progress
from langchain_localkit._core.reasoning import check_reasoning
from langchain_localkit._core.timings import Timings
from langchain_localkit._faces.params import VerboseTiming

logger = logging.getLogger("langchain_localkit.ollama")

DEFAULT_HOST = "http://127.0.0.1:11434"


def host_of(client: Any, base_url: str | None) -> str:
    """The URL the client talks to (for messages)."""
    inner = getattr(client, "_client", None)
    url = getattr(inner, "base_url", None)
    return str(url).rstrip("/") if url else (base_url or DEFAULT_HOST)


def _is_not_found(error: ResponseError) -> bool:
    # Ollama says `model "x" not found, try pulling it first`; a plain `404 page not found`
    # is an endpoint missing (another server on the port), not a model
    text = str(error.error).lower()
    return error.status_code == 404 and "not found" in text and "model" in text


def translate(error: BaseException, model: str, host: str) -> BaseException:
    """The package's error for an exception of the `ollama` client or of httpx."""
    if isinstance(error, ResponseError):
        if _is_not_found(error):
            return ModelNotPulledError(
                f"Ollama at {host} has no model {model!r} ({error.error}). Run "
                f"`ollama pull {model}`, or pass `pull=True` to pull it on first use.",
                model=model,
            )
        if error.status_code == -1:
            return ServerError(
                f"Ollama failed in the middle of a reply, so the reply was cut off: {error.error}"
            )
        if error.status_code == 404:
            return ServerError(
                f"The server at {host} answered 404 ({error.error}) where Ollama has an "
                "endpoint: it may not be Ollama (another server on the port?) or a very old "
                "one. Check `base_url` (or $OLLAMA_HOST).",
                404,
            )
        return ServerError(
            f"Ollama at {host} answered {error.status_code}: {error.error}", error.status_code
        )
    if isinstance(error, json.JSONDecodeError):
        return ServerError(
            f"The server at {host} answered with something that is not Ollama's JSON "
            f"({error.doc[:80]!r}): another server (a web server, a proxy) may listen there, "
            "or the reply was cut. Check `base_url` (or $OLLAMA_HOST)."
        )
    if isinstance(error, httpx.TimeoutException):
        return ServerTimeoutError(
            f"Ollama at {host} did not answer in time ({type(error).__name__}). Raise the "
            "client timeout with `client_kwargs={'timeout': ...}`, or check the server's load."
        )
    if isinstance(error, httpx.ConnectError | ConnectionError):
        return ServerUnavailableError(
            f"No Ollama server answers at {host}: start it with `ollama serve`, or point "
            "`base_url` (or $OLLAMA_HOST) at the right host."
        )
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError):
        return ServerDisconnectedError(
            f"Ollama at {host} closed the connection in the middle of a reply, so the reply "
            f"was cut off ({error}). The server may have crashed or been stopped; check its log."
        )
    return error


CLIENT_ERRORS = (ResponseError, httpx.HTTPError, ConnectionError, json.JSONDecodeError)


class PromptTruncatedWarning(UserWarning):
    """Ollama cut a prompt that did not fit in `num_ctx` (it does so without an error)."""


def check_context(data: Mapping[str, Any], num_ctx: int | None, model: str) -> None:
    """Warn when the prompt filled the whole context: Ollama then cut its start silently.

    Ollama truncates a prompt longer than `num_ctx` (its log says "truncating input prompt")
    and answers as if nothing happened; the only trace is `prompt_eval_count` reaching
    `num_ctx`. A prompt whose beginning was cut (the system message, the question) gives an
    answer to something else, so the user is told.
    """
    evaluated = data.get("prompt_eval_count")
    if not num_ctx or not isinstance(evaluated, int) or evaluated < num_ctx:
        return
    message = (
        f"Ollama evaluated {evaluated} prompt tokens for {model!r}, the whole context window "
        f"(num_ctx={num_ctx}): Ollama cuts a prompt that does not fit without an error, so the "
        "start of this prompt was probably dropped and the reply may ignore it. Raise `num_ctx` "
        "or shorten the prompt."
    )
    logger.warning(message)
    warnings.warn(message, PromptTruncatedWarning, stacklevel=4)


def _final(part: Any, started: float, first: float | None, reasoning: int = 0) -> dict[str, Any]:
    """The final response as a dict, with our `timings` and a `usage` dict.

    `reasoning`: how many of the generated tokens were thoughts (`output_token_details`).
    """
    data = part.model_dump() if hasattr(part, "model_dump") else dict(part)
    ttft = (first - started) * 1000 if first is not None else None
    timings = Timings.from_ollama(data, ttft_ms=ttft)
    data["timings"] = timings.to_dict()
    prompt, output = int(data.get("prompt_eval_count") or 0), int(data.get("eval_count") or 0)
    data["usage"] = {
        "input_tokens": prompt,
        "output_tokens": output,
        "total_tokens": prompt + output,
    }
    if reasoning:
        data["usage"]["output_token_details"] = {"reasoning": reasoning}
    return data


def _text_of(part: Any) -> bool:
    """Whether a response carries generated output (text, reasoning or tool calls)."""
    message = part.get("message")
    if message is not None:
        return bool(message.get("content") or message.get("thinking") or message.get("tool_calls"))
    return bool(part.get("response") or part.get("thinking"))


def _thought_of(part: Any) -> bool:
    """Whether a streamed (not final) response carries a piece of the model's thoughts."""
    if part.get("done"):
        return False  # a `"stream": false` answer holds every thought in one part: no count
    message = part.get("message")
    return bool(message.get("thinking") if message is not None else part.get("thinking"))


class _Timer:
    """The step logic of `timed`/`atimed`, free of I/O: times the parts, decides on a pull."""

    def __init__(
        self, *, model: str, host: str, can_pull: bool, num_ctx: int | None = None
    ) -> None:
        self.model, self.host = model, host
        self.num_ctx = num_ctx
        self.attempts = 2 if can_pull else 1
        self.started = time.perf_counter()
        self.first: float | None = None
        self.yielded = False
        self.thoughts = 0

    def see(self, part: Any) -> Any:
        """The part as the face gets it (the final one with timings and usage)."""
        if isinstance(part, str):
            return part
        if self.first is None and _text_of(part):
            self.first = time.perf_counter()
        if _thought_of(part):
            self.thoughts += 1  # Ollama streams one token per part
        self.yielded = True
        if part.get("done"):
            final = _final(part, self.started, self.first, self.thoughts)
            check_context(final, self.num_ctx, self.model)
            return final
        return part

    def retry_after_pull(self, error: BaseException, attempt: int) -> bool:
        """Whether to pull and try again; otherwise the caller raises `self.error(error)`."""
        if attempt == 0 and self.attempts > 1 and not self.yielded and is_missing_model(error):
            self.started = time.perf_counter()
            return True
        return False

    def error(self, error: BaseException) -> BaseException:
        return translate(error, self.model, self.host)


def timed(
    start: Callable[[], Iterator[Any]],
    *,
    model: str,
    host: str,
    pull: Callable[[], None] | None = None,
    num_ctx: int | None = None,
) -> Iterator[Any]:
    """The client's responses, the final one with timings; typed errors; pull-and-retry once.

    `num_ctx`: the context the request asked for; a prompt that filled it gets a
    `PromptTruncatedWarning` (see `check_context`).
    """
    timer = _Timer(model=model, host=host, can_pull=pull is not None, num_ctx=num_ctx)
    for attempt in range(timer.attempts):
        try:
            for part in start():
                yield timer.see(part)
            return
        except CLIENT_ERRORS as e:
            if pull is None or not timer.retry_after_pull(e, attempt):
                raise timer.error(e) from e
            pull()


async def atimed(
    start: Callable[[], AsyncIterator[Any]],
    *,
    model: str,
    host: str,
    pull: Callable[[], Awaitable[None]] | None = None,
    num_ctx: int | None = None,
) -> AsyncIterator[Any]:
    """`timed` for the async client."""
    timer = _Timer(model=model, host=host, can_pull=pull is not None, num_ctx=num_ctx)
    for attempt in range(timer.attempts):
        try:
            async for part in start():
                yield timer.see(part)
            return
        except CLIENT_ERRORS as e:
            if pull is None or not timer.retry_after_pull(e, attempt):
                raise timer.error(e) from e
            await pull()


def reasoning_usage(chunk: ChatGenerationChunk) -> ChatGenerationChunk:
    """The chunk, its `usage_metadata` with the thought tokens `_final` counted (final chunk)."""
    usage = (chunk.generation_info or {}).get("usage")
    details = usage.get("output_token_details") if isinstance(usage, Mapping) else None
    message = chunk.message
    if details and isinstance(message, AIMessageChunk) and message.usage_metadata is not None:
        message.usage_metadata = {**message.usage_metadata, "output_token_details": {**details}}
    return chunk


_THOUGHT_BLOCKS = {"reasoning": "reasoning", "thinking": "thinking"}
"""Content blocks holding thoughts, and their text's key (v1 `reasoning`; Anthropic-style)."""


def thoughts_in_content(message: AIMessage) -> AIMessage:
    """An assistant turn with its thought blocks moved to `additional_kwargs["reasoning_content"]`.

    langchain-ollama sends `reasoning_content` back as Ollama's `thinking`; a message whose
    thoughts are only `reasoning` content blocks would lose them (v1) or be refused. The text
    blocks left are joined into plain content (langchain-ollama would prefix each with a
    newline); other blocks (images, v1 tool calls) keep the list as it is.
    """
    if isinstance(message.content, str):
        return message
    thoughts: list[str] = []
    rest: list[Any] = []
    for block in message.content:
        if not isinstance(block, dict) or block.get("type") not in _THOUGHT_BLOCKS:
            rest.append(block)
        elif text := block.get(_THOUGHT_BLOCKS[block["type"]]):
            thoughts.append(str(text))
    if len(rest) == len(message.content):
        return message
    kwargs = dict(message.additional_kwargs)
    if thoughts and kwargs.get("reasoning_content") is None:
        kwargs["reasoning_content"] = "".join(thoughts)
    update: dict[str, Any] = {"additional_kwargs": kwargs, "content": rest}
    texts = [b if isinstance(b, str) else b.get("text") for b in rest]
    if all(isinstance(b, str) or b.get("type") == "text" for b in rest) and all(
        isinstance(t, str) for t in texts
    ):
        update["content"] = "".join(str(t) for t in texts)
        metadata = dict(message.response_metadata)
        metadata.pop("output_version", None)  # plain content now, not v1 blocks
        update["response_metadata"] = metadata
    return message.model_copy(update=update)


def is_missing_model(error: BaseException) -> bool:
    return isinstance(error, ResponseError) and _is_not_found(error)


def pull_model(
    client: Client | None, model: str, *, host: str, file: IO[str] | None = None
) -> None:
    r"""Pull `model` into the Ollama server, showing progress on stderr (or `file`).

    On a terminal the progress is one line redrawn in place (`\r`); elsewhere (a log file,
    CI) a line is written when the status changes and at every tenth of the download. Each
    status is also logged on the `langchain_localkit.ollama` logger.

    Raises:
        ServerError: The pull failed (an unknown model name, no registry access, ...).
        ServerUnavailableError: No server answers at `host`.
    """
    if client is None:
        raise RuntimeError("The Ollama client is not initialized.")
    progress = Progress(f"pulling {model}", stream=file)
    logger.info("Pulling %s into Ollama at %s", model, host)
    status = ""
    try:
        for part in client.pull(model, stream=True):
            if part.get("status") != status:
                status = str(part.get("status") or "")
                logger.info("%s: %s", model, status)
            progress.update(status, *_progress_of(part))
    except CLIENT_ERRORS as e:
        progress.close()
        if isinstance(e, ResponseError):
            raise ServerError(f"Ollama could not pull {model!r}: {e.error}", e.status_code) from e
        raise translate(e, model, host) from e
    progress.close()


def _progress_of(part: Mapping[str, Any] | Any) -> tuple[float | None, str]:
    """The fraction of the download a pull's part reports (None: no download), and its size."""
    total, completed = part.get("total"), part.get("completed")
    if total and completed is not None:
        return int(completed) / int(total), f" of {int(total) / 1e6:.0f} MB"
    return None, ""


class OllamaExtras(VerboseTiming):
    """What the Ollama faces add to langchain-ollama's classes (put it first in the bases)."""

    pull: bool = False
    """Pull the model when the server does not have it (once, on first use)."""

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params: LangSmithParams = super()._get_ls_params(stop=stop, **kwargs)  # type: ignore[misc]
        if kwargs.get("model"):
            params["ls_model_name"] = kwargs["model"]
        return params

    def _host(self, client: Any) -> str:
        return host_of(client, getattr(self, "base_url", None))

    def _call_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call options with the `reasoning` call option checked (`"HIGH"` is `"high"`)."""
        if "reasoning" in kwargs:
            kwargs = {**kwargs, "reasoning": check_reasoning(kwargs["reasoning"])}
        return kwargs

    def _timed(self, start: Callable[[], Any], kwargs: Mapping[str, Any], *, aio: bool) -> Any:
        """The parent's stream through `timed`, or `atimed` for the async client (`aio`)."""
        model = str(kwargs.get("model") or getattr(self, "model", ""))
        host = self._host(getattr(self, "_async_client" if aio else "_client", None))
        options = kwargs.get("options")
        num_ctx = (  # `options=` replaces the fields in langchain-ollama's request
            options.get("num_ctx")
            if isinstance(options, Mapping)
            else kwargs.get("num_ctx", getattr(self, "num_ctx", None))
        )
        n = num_ctx if isinstance(num_ctx, int) else None
        if aio:
            apull = self._apull if self.pull else None
            return atimed(start, model=model, host=host, pull=apull, num_ctx=n)
        pull = self._pull if self.pull else None
        return timed(start, model=model, host=host, pull=pull, num_ctx=n)

    def _pull(self) -> None:
        client = getattr(self, "_client", None)
        pull_model(client, getattr(self, "model", ""), host=self._host(client))

    async def _apull(self) -> None:
        import asyncio

        await asyncio.to_thread(self._pull)


__all__ = [
    "CLIENT_ERRORS",
    "DEFAULT_HOST",
    "OllamaExtras",
    "PromptTruncatedWarning",
    "atimed",
    "check_context",
    "host_of",
    "is_missing_model",
    "pull_model",
    "reasoning_usage",
    "thoughts_in_content",
    "timed",
    "translate",
]
