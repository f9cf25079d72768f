"""`OllamaLLM`: langchain-ollama's text model, with timings, errors and prompt-pack raw mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Literal

from langchain_ollama import OllamaLLM as _OllamaLLM
from pydantic import field_validator

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

    def _create_generate_stream(
        self, prompt: str, stop: list[str] | None = None, **kwargs: Any
    ) -> Iterator[Mapping[str, Any] | str]:
        parent = super()._create_generate_stream
        return self._timed(lambda: parent(prompt, stop, **kwargs), kwargs, aio=False)

    def _acreate_generate_stream(
        self, prompt: str, stop: list[str] | None = None, **kwargs: Any
    ) -> AsyncIterator[Mapping[str, Any] | str]:
        parent = super()._acreate_generate_stream
        return self._timed(lambda: parent(prompt, stop, **kwargs), kwargs, aio=True)


__all__ = ["OllamaLLM"]
