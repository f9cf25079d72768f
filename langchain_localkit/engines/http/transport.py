"""One HTTP transport for local inference servers: pooled httpx clients, sync and async.

The logic of an exchange (retry a pooled connection the server closed while idle, wait while
the server loads its model, map every failure to a typed error) is written once, free of I/O,
as a *flow*: a generator that yields the I/O it needs (`Call`, `Pause`, `Drain`) and is sent
the outcome (a transport failure is raised inside it). `HttpTransport.run` drives a flow with
blocking I/O and `HttpTransport.arun` with asyncio; flows compose with `yield from`, so a
protocol writes a multi-request step (look up `/props`, then tokenize) once for both.

Streams (`stream_events`, `astream_events`) open with a flow, then read Server-Sent Events
line by line through `sse.EventReader`, which does no I/O either.

Errors are typed and say what to do: nothing listening (`ServerUnavailableError`), still
loading after `load_timeout` (`ServerUnavailableError`), no answer within the timeout
(`ServerTimeoutError`), the connection dropped (`ServerDisconnectedError`), an HTTP error
(`ServerError` with the server's own message and status), a prompt longer than the context
(`ContextOverflowError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypedDict, TypeVar, cast

import httpx

from langchain_localkit._core.errors import (
    ServerDisconnectedError,
    ServerTimeoutError,
    ServerUnavailableError,
)
from langchain_localkit.engines.http.errors import (
    body_of,
    json_of,
    raise_error_body,
    unexpected_answer,
)
from langchain_localkit.engines.http.sse import EventReader, events_of_body

T = TypeVar("T")

_POLL_INTERVAL = 0.25


_STALE_RETRIES = 8
"""How many times a request that met a connection the server had closed is sent again."""


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The default TLS settings of httpx, built once for every client.

    Each client would load the CA bundle again (30-50 ms), and a client is made per face and,
    for async calls, per event loop.
    """
    return httpx.create_ssl_context()


def _is_event_stream(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "").lower()


@dataclass(frozen=True, slots=True)
class Call:
    """An HTTP exchange a flow asks for; the flow is sent the `httpx.Response`.

    Attributes:
        method: "GET" or "POST".
        path: The endpoint, e.g. "/props".
        json: The JSON body, if any.
        stream: Return before the body is read (the flow must read or `Drain` it).
        headers: More headers for this request.
        timeout: This request's timeout instead of the client's.
    """

    method: str
    path: str
    json: Any = None
    stream: bool = False
    headers: Mapping[str, str] | None = None
    timeout: httpx.Timeout | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    """Sleep (without blocking the event loop in async flows)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Drain:
    """Read a response to its end and close it (the error body of a streamed request)."""

    response: httpx.Response


Op: TypeAlias = Call | Pause | Drain
Flow: TypeAlias = Generator[Op, Any, T]
"""A sans-IO step: yields `Op`s, is sent their outcomes, returns `T`."""


class _Steps(Generic[T]):
    """A flow in progress: `op` is the I/O it waits for; `result()` once it stopped running."""

    __slots__ = ("flow", "op", "running", "value")

    def __init__(self, flow: Flow[T]) -> None:
        self.flow = flow
        self.running = True
        self.value: T | None = None
        self.op: Op
        self.resume(None)

    def resume(self, outcome: Any) -> None:
        """Send the flow the outcome of its I/O (an exception is raised inside the flow)."""
        try:
            if isinstance(outcome, BaseException):
                self.op = self.flow.throw(outcome)
            else:
                self.op = self.flow.send(outcome)
        except StopIteration as done:
            self.running = False
            self.value = done.value

    def result(self) -> T:
        return cast(T, self.value)


@dataclass(frozen=True, slots=True)
class ServerKind:
    """What kind of server a transport talks to: the declaration an HTTP engine starts from.

    Attributes:
        name: What the server is, for error messages ("llamafile / llama.cpp server").
        start_hint: How to start one, for the error when nothing listens.
        health_path: The endpoint polled while the server answers 503 (loading its model).
    """

    name: str
    start_hint: str
    health_path: str = "/health"


class TransportOptions(TypedDict, total=False):
    """The connection settings of `HttpTransport`, as an engine takes them (`**options`)."""

    timeout: float | None
    connect_timeout: float
    load_timeout: float
    api_key: str | None
    headers: Mapping[str, str] | None
    client_kwargs: Mapping[str, Any] | None
    async_client_kwargs: Mapping[str, Any] | None


class HttpTransport:
    """Pooled sync and async connections to one server, and the flows of an exchange.

    Construction does no I/O. One `httpx.Client` serves every thread; one
    `httpx.AsyncClient` is made per event loop (an httpx async client cannot move between
    loops).

    Args:
        base_url: The server's address.
        kind: What the server is (for messages, and where its health is polled).
        timeout: Seconds to wait for an answer or for the next part of a streamed answer
            (httpx's read timeout); None waits forever.
        connect_timeout: Seconds to wait for the connection itself.
        load_timeout: Seconds to wait for a server that is still loading its model (HTTP 503)
            before giving up.
        api_key: The server's API key, sent as a bearer token.
        headers: More HTTP headers for every request.
        client_kwargs: More arguments for both httpx clients (e.g. `transport=` in tests).
        async_client_kwargs: Arguments for the async client only (override `client_kwargs`).
    """

    def __init__(
        self,
        base_url: str,
        kind: ServerKind,
        *,
        timeout: float | None = 600.0,
        connect_timeout: float = 5.0,
        load_timeout: float = 120.0,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
        async_client_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.kind = kind
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.load_timeout = load_timeout
        self._headers = {"Accept": "application/json, text/event-stream", **(headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._client_kwargs = dict(client_kwargs or {})
        self._async_client_kwargs = {**self._client_kwargs, **(async_client_kwargs or {})}
        self._client: httpx.Client | None = None
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._aclients = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _client_args(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        timeout = httpx.Timeout(self.timeout, connect=self.connect_timeout)
        args = {"base_url": self.base_url, "timeout": timeout, "headers": self._headers}
        if "verify" not in extra:
            args["verify"] = _ssl_context()
        return {**args, **extra}

    @property
    def client(self) -> httpx.Client:
        """The shared synchronous httpx client (created on first use)."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client(**self._client_args(self._client_kwargs))
                client = self._client
        return client

    @property
    def aclient(self) -> httpx.AsyncClient:
        """The httpx async client of the running event loop (created on first use)."""
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(**self._client_args(self._async_client_kwargs))
            self._aclients[loop] = client
        return client

    def close(self) -> None:
        """Close the synchronous client (async clients close with `aclose`)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the async client of the running loop, and the synchronous one."""
        with contextlib.suppress(RuntimeError):
            client = self._aclients.pop(asyncio.get_running_loop(), None)
            if client is not None:
                await client.aclose()
        self.close()

    def url(self, path: str) -> str:
        """The full address of an endpoint."""
        return f"{self.base_url}{path}"

    def run(self, flow: Flow[T]) -> T:
        """Drive a flow with blocking I/O; returns what the flow returns."""
        steps = _Steps(flow)
        while steps.running:
            steps.resume(self._io(steps.op))
        return steps.result()

    async def arun(self, flow: Flow[T]) -> T:
        """Drive a flow with asyncio; returns what the flow returns."""
        steps = _Steps(flow)
        while steps.running:
            steps.resume(await self._aio(steps.op))
        return steps.result()

    @staticmethod
    def _build(client: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
        timeout = httpx.USE_CLIENT_DEFAULT if call.timeout is None else call.timeout
        return client.build_request(
            call.method, call.path, json=call.json, headers=call.headers, timeout=timeout
        )

    def _io(self, op: Op) -> Any:
        try:
            if isinstance(op, Call):
                return self.client.send(self._build(self.client, op), stream=op.stream)
            if isinstance(op, Drain):
                with contextlib.closing(op.response):
                    op.response.read()
            else:
                time.sleep(op.seconds)
        except httpx.TransportError as e:
            return e
        return None

    async def _aio(self, op: Op) -> Any:
        try:
            if isinstance(op, Call):
                client = self.aclient
                return await client.send(self._build(client, op), stream=op.stream)
            if isinstance(op, Drain):
                async with contextlib.aclosing(op.response):
                    await op.response.aread()
            else:
                await asyncio.sleep(op.seconds)
        except httpx.TransportError as e:
            return e
        return None

    def fetch(self, method: str, path: str, body: Any = None) -> Flow[Any]:
        """The flow of one JSON request: its decoded answer.

        Waits while the model loads; maps errors to typed ones (see `exchange`).
        """
        response = yield from self.exchange(Call(method, path, body))
        return json_of(response, self.base_url)

    def exchange(self, call: Call) -> Flow[httpx.Response]:
        """The flow of one exchange: the response, once the server answers with success.

        While the server answers 503 (loading its model) its health endpoint is polled, for
        `load_timeout` seconds at most, and the request is sent again. A streamed response is
        returned unread; the status is checked first, so an error body never passes for data.

        Raises:
            ServerError: An HTTP error (`ContextOverflowError` for a prompt too long).
            ServerUnavailableError: No server, still loading, a timeout or a dropped connection.
        """
        started = time.monotonic()
        while True:
            response = yield from self._send(call)
            if response.status_code < 400:
                return response
            try:
                yield Drain(response)
            except httpx.TransportError as e:
                raise self.transport_error(e, call.path, streaming=call.stream) from e
            if response.status_code != 503:
                raise_error_body(body_of(response), response.status_code, self.url(call.path))
            yield from self._wait_loaded(started)

    def _send(self, call: Call) -> Flow[httpx.Response]:
        # Requests, streamed or not, go as any HTTP client sends them: llama.cpp's server closes
        # the connection after a stream itself, servers that keep it (uvicorn under vLLM) let
        # the next request reuse it. A pooled connection the server closed while idle (llama.cpp
        # keeps one 5 s) fails before any answer: it is retried. Several pooled connections can
        # go stale together (threads that used the server at once, then waited), so a retry may
        # meet another one: up to `_STALE_RETRIES` times, each failing at once.
        for attempt in range(_STALE_RETRIES + 1):
            try:
                response: httpx.Response = yield call
                return response
            except httpx.RemoteProtocolError as e:
                if attempt == _STALE_RETRIES:
                    raise self.transport_error(e, call.path) from e
            except httpx.TransportError as e:
                raise self.transport_error(e, call.path) from e
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_loaded(self, started: float) -> Flow[None]:
        probe = Call("GET", self.kind.health_path, timeout=self._probe_timeout())
        while True:
            waited = time.monotonic() - started
            if waited >= self.load_timeout:
                raise ServerUnavailableError(
                    f"The server at {self.base_url} is still loading its model after "
                    f"{waited:.0f} s (HTTP 503). Wait for it to finish, or raise `load_timeout`."
                )
            yield Pause(min(_POLL_INTERVAL, self.load_timeout - waited))
            response = yield from self._send(probe)
            if response.status_code == 200:
                return

    def _probe_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(min(self.timeout or 10.0, 10.0), connect=self.connect_timeout)

    def stream_events(self, path: str, body: Mapping[str, Any]) -> Generator[Any, None, None]:
        """POST `body` and yield the JSON of each Server-Sent Event until the stream ends.

        Closing the iterator closes the connection (the server stops generating).

        Raises:
            ServerError: The answer is no event stream (an HTML page, plain text), or an
                event is unreadable or reports an error.
        """
        call = Call("POST", path, body, stream=True)
        response = self.run(self.exchange(call))
        reader = EventReader(self.url(path))
        try:
            if not _is_event_stream(response):
                response.read()
                yield from self._whole_body(response, path)
                return
            for line in response.iter_lines():
                yield from reader.feed(line)
            yield from reader.flush()
        except httpx.TransportError as e:
            raise self.transport_error(e, path, streaming=True) from e
        finally:
            response.close()

    async def astream_events(self, path: str, body: Mapping[str, Any]) -> AsyncGenerator[Any, None]:
        """The async `stream_events`; cancelling the consuming task closes the connection."""
        call = Call("POST", path, body, stream=True)
        response = await self.arun(self.exchange(call))
        reader = EventReader(self.url(path))
        try:
            if not _is_event_stream(response):
                await response.aread()
                for data in self._whole_body(response, path):
                    yield data
                return
            async for line in response.aiter_lines():
                for data in reader.feed(line):
                    yield data
            for data in reader.flush():
                yield data
        except httpx.TransportError as e:
            raise self.transport_error(e, path, streaming=True) from e
        finally:
            await response.aclose()

    def _whole_body(self, response: httpx.Response, path: str) -> list[Any]:
        """The events of an answer sent whole (see `events_of_body`), or the error it is."""
        events = events_of_body(response.text, self.url(path))
        if events is None:
            content_type = response.headers.get("content-type", "")
            raise unexpected_answer(self.url(path), content_type, response.text, self.base_url)
        return events

    def transport_error(self, e: Exception, path: str, *, streaming: bool = False) -> Exception:
        """The typed error for an httpx transport failure on `path`."""
        if isinstance(e, httpx.ConnectTimeout):
            return ServerTimeoutError(
                f"No {self.kind.name} answered at {self.base_url} within "
                f"{self.connect_timeout:g} s (connect timeout); is one running? If not, "
                f"{self.kind.start_hint}."
            )
        if isinstance(e, httpx.ConnectError):
            return ServerUnavailableError(
                f"No {self.kind.name} at {self.base_url}; {self.kind.start_hint}, or pass "
                f"`base_url=` if it listens elsewhere. ({e})"
            )
        if isinstance(e, httpx.TimeoutException):
            cut = " mid-reply, so the reply was cut off" if streaming else ""
            return ServerTimeoutError(
                f"The server at {self.url(path)} sent nothing for {self.timeout:g} s "
                f"(`request_timeout`){cut}. It may be overloaded or stuck; raise "
                "`request_timeout` for long prompts on slow machines."
            )
        if isinstance(e, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            what = (
                "in the middle of a reply, so the reply was cut off"
                if streaming
                else "without answering"
            )
            detail = f" ({e})" if str(e) else ""
            return ServerDisconnectedError(
                f"The server at {self.base_url} closed the connection {what}{detail}. It may "
                "have crashed (out of memory?) or been stopped; check its log and restart it."
            )
        return ServerUnavailableError(f"Could not talk to the server at {self.url(path)}: {e}")


__all__ = [
    "Call",
    "Drain",
    "Flow",
    "HttpTransport",
    "Op",
    "Pause",
    "ServerKind",
    "TransportOptions",
]
