"""`OllamaLLM`: langchain-ollama's text model, with timings, errors and prompt-pack raw mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.outputs import GenerationChunk
from langchain_ollama import OllamaLLM as _OllamaLLM
from pydantic import field_validator

from langchain_localkit._core.reasoning import Reasoning, check_reasoning, keeps_thoughts
from langchain_localkit._ollama import OllamaExtras


class OllamaLLM(OllamaExtras, _OllamaLLM):
    """langchain-ollama's `OllamaLLM`, unchanged, plus what every model of this package has.

    Everything `langchain_ollama.OllamaLLM` does works the same. Added:

    - `generation_info["timings"]` (a `Timings` dict from Ollama's nanosecond durations and
      the time to first token measured here) and `generation_info["usage"]`, so
      `TimingCallbackHandler` reports Ollama like llama.cpp.
    - Clear errors (`ModelNotPulledError`, `ServerUnavailableError`,
      `ServerDisconnectedError`, `ServerError`) and `pull=True` to pull a missing model.
    - `raw=True`: Ollama applies no template; the prompt pack formats the prompt in the model
      family's format instead (detected from the tag, e.g. `llama3.1:8b` is Llama 3, or set by
      `chat_format=`) and adds the family's stop strings. A prompt that already carries the
      format's control strings (a prompt written for the model) is sent as it is.
    - Reasoning, as on every face (`reasoning=` field or call option): True or an effort
      level (`"low"`, `"medium"`, `"high"`, which langchain-ollama's field refuses) sends
      `think` and keeps the thoughts out of the text, in `generation_info["reasoning_content"]`
      (langchain-ollama's `generation_info["thinking"]` stays); False sends `think: false`.
      `generation_info["usage"]["output_token_details"]["reasoning"]` counts the thought
      tokens Ollama streamed.

    Example:
        .. code-block:: python

            from langchain_localkit import OllamaLLM

            llm = OllamaLLM(model="llama3.1:8b")
            llm.invoke("The first man on the moon was")
            for chunk in llm.stream("The first man on the moon was"):
                print(chunk, end="|", flush=True)

            raw = OllamaLLM(model="llama2:13b", raw=True)  # [INST] ... [/INST] by the pack
    """

    raw: bool = False
    """Send prompts in raw mode, formatted by the prompt pack for the model's family."""
    chat_format: str | None = None
    """The family ("llama2", "llama3", "gemma", ...) for raw mode, instead of the detected one."""
    guard: Literal["escape", "strip", "allow"] = "escape"
    """Raw mode: what to do with the format's control strings inside a plain prompt."""

    reasoning: Reasoning = None  # type: ignore[assignment]
    """Thinking models: None leaves the output as Ollama gives it (no `think` sent); True keeps
    the thoughts apart (`generation_info["reasoning_content"]`); False sends `think: false`;
    "low", "medium" or "high" is the effort of models with levels (gpt-oss). Also a call
    option: `invoke(..., reasoning="high")`."""

    @field_validator("reasoning", mode="before")
    @classmethod
    def _check_reasoning(cls, value: Any) -> Reasoning:
        return check_reasoning(value)

    @field_validator("chat_format")
    @classmethod
    def _known_family(cls, value: str | None) -> str | None:
        if value is not None:
            from langchain_localkit.prompts import get_family

            get_family(value)
        return value

    def _generate_params(
        self, prompt: str, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        raw = bool(kwargs.pop("raw", self.raw))
        params = super()._generate_params(prompt, stop=stop, **kwargs)
        if not raw:
            return params
        from langchain_localkit.prompts import format_prompt_for

        rendered = format_prompt_for(self, prompt, guard=self.guard)
        params["prompt"] = rendered.prompt
        params["raw"] = True
        options = params["options"]
        stops = list(options.stop or [])
        options.stop = stops + [s for s in rendered.stop if s not in stops] or None
        return params

    def _kept(self, chunk: GenerationChunk, kwargs: Mapping[str, Any]) -> GenerationChunk:
        """The joined reply, its thoughts also under `reasoning_content` when they are kept."""
        info = chunk.generation_info
        if (
            info
            and info.get("thinking")
            and keeps_thoughts(kwargs.get("reasoning", self.reasoning))
        ):
            info["reasoning_content"] = info["thinking"]
        return chunk

    def _stream_with_aggregation(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        verbose: bool = False,
        **kwargs: Any,
    ) -> GenerationChunk:
        chunk = super()._stream_with_aggregation(prompt, stop, run_manager, verbose, **kwargs)
        return self._kept(chunk, kwargs)

    async def _astream_with_aggregation(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        verbose: bool = False,
        **kwargs: Any,
    ) -> GenerationChunk:
        chunk = await super()._astream_with_aggregation(
            prompt, stop, run_manager, verbose, **kwargs
        )
        return self._kept(chunk, kwargs)

    def _create_generate_stream(
        self, prompt: str, stop: list[str] | None = None, **kwargs: Any
    ) -> Iterator[Mapping[str, Any] | str]:
        kwargs = self._call_kwargs(kwargs)
        parent = super()._create_generate_stream
        return self._timed(lambda: parent(prompt, stop, **kwargs), kwargs, aio=False)

    def _acreate_generate_stream(
        self, prompt: str, stop: list[str] | None = None, **kwargs: Any
    ) -> AsyncIterator[Mapping[str, Any] | str]:
        kwargs = self._call_kwargs(kwargs)
        parent = super()._acreate_generate_stream
        return self._timed(lambda: parent(prompt, stop, **kwargs), kwargs, aio=True)


__all__ = ["OllamaLLM"]
