"""`Llamafile`: text in, text out, from a llamafile or a llama.cpp server over HTTP."""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Generator
from typing import Any, ClassVar

from langchain_core.outputs import Generation

from langchain_localkit._core.generation import GenerationInfo
from langchain_localkit._faces.llm import LocalLLM
from langchain_localkit._llamafile import LlamafileConnection, LlamafileParams


def server_generation_info(info: GenerationInfo) -> dict[str, Any]:
    """The `generation_info` of a finished server call.

    The keys every LLM face has (`finish_reason`, `stop_reason`, `model_name`, `usage`,
    `timings`), plus the server's own (`stop_type`, `tokens_cached`, ...).

    Example:
        >>> from langchain_localkit.engines.llamafile import generation_from_final
        >>> info = generation_from_final(
        ...     {"stop_type": "limit", "tokens_predicted": 3}, model_name="m"
        ... )
        >>> server_generation_info(info)["finish_reason"]
        'length'
    """
    return info.to_generation_info()


class Llamafile(LlamafileParams, LocalLLM):
    """A model served by a llamafile or by llama.cpp's `llama-server`, over HTTP.

    The successor of langchain-community's `Llamafile`: the same parameters and the same
    no-argument start (`Llamafile()` talks to `http://localhost:8080`), with native async
    streaming on httpx (stopping the stream stops the server's generation), the server's
    token counts, stop reason and timings in `generation_info`, and errors that say what to
    do (no server, still loading, crashed mid-reply, an HTTP error with the server's message).
    Prompts are sent as they are, to the native `/completion` endpoint.

    Setup:
        Run a llamafile as a server, `./model.llamafile --server --nobrowser`, or llama.cpp's
        `llama-server -m model.gguf --port 8080`. No extra Python package is needed.

    Key init args:
        base_url: the server (default `http://localhost:8080`). request_timeout: seconds.
        max_tokens (or n_predict), temperature, top_k, top_p, min_p, repeat_penalty, seed,
        stop, grammar, json_schema: sampling, in the server's names.

    Instantiate:
        .. code-block:: python

            from langchain_localkit import Llamafile

            llm = Llamafile()  # http://localhost:8080

    Invoke:
        .. code-block:: python

            llm.invoke("The first man on the moon was")

    Stream:
        .. code-block:: python

            for chunk in llm.stream("The first man on the moon was"):
                print(chunk, end="|", flush=True)

    Async:
        .. code-block:: python

            await llm.ainvoke("The first man on the moon was")

    Token counts and timings:
        .. code-block:: python

            info = llm.generate(["Hello"]).generations[0][0].generation_info
            info["usage"], info["timings"]["eval_tokens_per_second"], info["stop_type"]
    """

    streaming: bool = True
    """Stream from the server on `invoke` too, so callbacks see every token. False sends one
    non-streaming request per prompt."""

    _concurrent_prompts: ClassVar[bool] = True

    @property
    def _llm_type(self) -> str:
        return "llamafile"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "model": self.model,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": self.stop,
        }

    def _request(self, prompt: str, stop: list[str] | None, kwargs: dict[str, Any]) -> Any:
        return {"prompt": prompt, **self._body(stop, kwargs)}

    def _generation(
        self,
        prompt: str,
        stop: list[str] | None,
        kwargs: dict[str, Any],
        cancel: threading.Event | None = None,
    ) -> Generator[str | GenerationInfo, None, None]:
        body = self._request(prompt, stop, kwargs)
        yield from self.engine.stream_completion(body, model_name=self.model or "")

    def _ageneration(
        self, prompt: str, stop: list[str] | None, kwargs: dict[str, Any]
    ) -> AsyncGenerator[str | GenerationInfo, None]:
        body = self._request(prompt, stop, kwargs)
        return self.engine.astream_completion(body, model_name=self.model or "")

    def _complete(self, prompt: str, stop: list[str] | None, kwargs: dict[str, Any]) -> Generation:
        body = self._request(prompt, stop, kwargs)
        text, info = self.engine.complete(body, model_name=self.model or "")
        return Generation(text=text, generation_info=info.to_generation_info())

    async def _acomplete(
        self, prompt: str, stop: list[str] | None, kwargs: dict[str, Any]
    ) -> Generation:
        body = self._request(prompt, stop, kwargs)
        text, info = await self.engine.acomplete(body, model_name=self.model or "")
        return Generation(text=text, generation_info=info.to_generation_info())


__all__ = ["Llamafile", "LlamafileConnection", "LlamafileParams", "server_generation_info"]
