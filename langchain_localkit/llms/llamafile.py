"""`Llamafile`: text in, text out, from a llamafile or a llama.cpp server over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from threading import Event
from typing import Any, ClassVar

from langchain_core.outputs import Generation

from langchain_localkit._core.generation import GenerationInfo
from langchain_localkit._faces.llm import Item, LocalLLM, TextCall
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

    Invoke, stream, async:
        .. code-block:: python

            llm.invoke("Name three rivers in Europe:")
            for chunk in llm.stream("Name three rivers in Europe:"):
                print(chunk, end="|", flush=True)
            await llm.ainvoke("Name three rivers in Europe:")

    Token counts and timings:
        .. code-block:: python

            info = llm.generate(["Hello"]).generations[0][0].generation_info
            info["usage"], info["timings"]["eval_tokens_per_second"], info["stop_type"]
    """

    streaming: bool = True
    """Stream from the server on `invoke` too, so callbacks see every token. False sends one
    non-streaming request per prompt."""

    _concurrent_prompts: ClassVar[bool] = True

    _llm_type_name: ClassVar[str] = "llamafile"
    _identifying_fields: ClassVar[str] = (
        "base_url model max_tokens temperature top_k top_p seed stop"
    )

    def _request(self, call: TextCall) -> dict[str, Any]:
        return {"prompt": call.prompt, **self._body(call.stop, call.options)}

    def _generation(self, call: TextCall, cancel: Event | None = None) -> Iterator[Item]:
        return self.engine.stream_completion(self._request(call), model_name=self.model or "")

    def _ageneration(self, call: TextCall) -> AsyncIterator[Item]:
        return self.engine.astream_completion(self._request(call), model_name=self.model or "")

    def _complete(self, call: TextCall) -> Generation:
        text, info = self.engine.complete(self._request(call), model_name=self.model or "")
        return Generation(text=text, generation_info=info.to_generation_info())

    async def _acomplete(self, call: TextCall) -> Generation:
        request = self._request(call)
        text, info = await self.engine.acomplete(request, model_name=self.model or "")
        return Generation(text=text, generation_info=info.to_generation_info())


__all__ = ["Llamafile", "LlamafileConnection", "LlamafileParams", "server_generation_info"]
