"""One timing record for every runtime, and its report in llama.cpp's layout.

Each runtime reports speed in its own units: llama.cpp's perf counters (ms), the llama.cpp
server's `timings` object (ms), Ollama's durations (ns). `Timings` holds them in one shape so
that callbacks, benchmarks and users read the same fields whatever ran the model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def _rate(tokens: int, ms: float) -> float | None:
    return tokens / ms * 1000.0 if ms > 0 and tokens > 0 else None


def _ms_per_token(tokens: int, ms: float) -> float | None:
    return ms / tokens if tokens > 0 else None


@dataclass(frozen=True, slots=True)
class Timings:
    """Speed figures of one generation call.

    Attributes:
        prompt_tokens: Prompt tokens evaluated by this call (tokens reused from the KV cache are
            not evaluated again and are counted in `cached_tokens`).
        prompt_ms: Time spent evaluating the prompt, in milliseconds.
        eval_tokens: Tokens generated; equals the output tokens of the usage metadata.
        eval_ms: Generation time in milliseconds, from the end of prompt evaluation to the last
            token (sampling included), as the llama.cpp server measures `predicted_ms`.
        cached_tokens: Prompt tokens reused from the KV cache (prefix match).
        load_ms: Time to load the model, when this call loaded it; otherwise None.
        sample_ms: Time spent in the sampler, when the runtime reports it (llama.cpp).
        ttft_ms: Time to first token, measured from the start of the call.
        total_ms: Wall time of the call.
        source: Where the figures come from (`"llama.cpp"`, `"llama.cpp server"`, `"ollama"`,
            `"gpt4all (measured)"`).
        draft_tokens: Tokens guessed by speculative decoding (prompt lookup) and checked.
        draft_accepted: Guessed tokens the model agreed with; each saved a decoding step.

    Example:
        >>> t = Timings(prompt_tokens=12, prompt_ms=40.0, eval_tokens=64, eval_ms=1000.0)
        >>> round(t.eval_tokens_per_second, 1)
        64.0
    """

    prompt_tokens: int = 0
    prompt_ms: float = 0.0
    eval_tokens: int = 0
    eval_ms: float = 0.0
    cached_tokens: int = 0
    load_ms: float | None = None
    sample_ms: float | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    source: str = ""
    draft_tokens: int = 0
    draft_accepted: int = 0

    @property
    def draft_acceptance(self) -> float | None:
        """Share of guessed tokens kept (None when nothing was guessed)."""
        return self.draft_accepted / self.draft_tokens if self.draft_tokens else None

    @property
    def prompt_tokens_per_second(self) -> float | None:
        """Prompt evaluation rate in tokens per second (None when nothing was evaluated)."""
        return _rate(self.prompt_tokens, self.prompt_ms)

    @property
    def eval_tokens_per_second(self) -> float | None:
        """Generation rate in tokens per second (None when nothing was generated)."""
        return _rate(self.eval_tokens, self.eval_ms)

    @property
    def prompt_ms_per_token(self) -> float | None:
        """Milliseconds per prompt token."""
        return _ms_per_token(self.prompt_tokens, self.prompt_ms)

    @property
    def eval_ms_per_token(self) -> float | None:
        """Milliseconds per generated token."""
        return _ms_per_token(self.eval_tokens, self.eval_ms)

    def to_dict(self) -> dict[str, Any]:
        """The fields and the derived rates as a JSON-ready dict (for `response_metadata`)."""
        data = dataclasses.asdict(self)
        data["prompt_tokens_per_second"] = self.prompt_tokens_per_second
        data["eval_tokens_per_second"] = self.eval_tokens_per_second
        if self.draft_tokens:
            data["draft_acceptance"] = self.draft_acceptance
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timings:
        """Rebuild a record from `to_dict()` output (derived rates are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def combine(cls, parts: Sequence[Timings]) -> Timings:
        """One record for a call made of several generations (e.g. text, then a tool call).

        Token counts and times add up; load time, time to first token and cached tokens are
        those of the first part.
        """
        if not parts:
            return cls()
        first = parts[0]
        totals = [p.total_ms for p in parts]
        return cls(
            prompt_tokens=sum(p.prompt_tokens for p in parts),
            prompt_ms=sum(p.prompt_ms for p in parts),
            eval_tokens=sum(p.eval_tokens for p in parts),
            eval_ms=sum(p.eval_ms for p in parts),
            cached_tokens=first.cached_tokens,
            load_ms=first.load_ms,
            ttft_ms=first.ttft_ms,
            total_ms=sum(t for t in totals if t is not None) if None not in totals else None,
            source=first.source,
            draft_tokens=sum(p.draft_tokens for p in parts),
            draft_accepted=sum(p.draft_accepted for p in parts),
        )

    @classmethod
    def from_llama_server(
        cls,
        timings: Mapping[str, Any],
        *,
        ttft_ms: float | None = None,
        total_ms: float | None = None,
    ) -> Timings:
        """Build from the `timings` object of the llama.cpp / llamafile server (ms units)."""
        return cls(
            prompt_tokens=int(timings.get("prompt_n", 0) or 0),
            prompt_ms=float(timings.get("prompt_ms", 0.0) or 0.0),
            eval_tokens=int(timings.get("predicted_n", 0) or 0),
            eval_ms=float(timings.get("predicted_ms", 0.0) or 0.0),
            cached_tokens=int(timings.get("cache_n", 0) or 0),
            ttft_ms=ttft_ms,
            total_ms=total_ms,
            source="llama.cpp server",
        )

    @classmethod
    def from_ollama(cls, response: Mapping[str, Any], *, ttft_ms: float | None = None) -> Timings:
        """Build from the final chunk of an Ollama `/api/generate` or `/api/chat` (ns units)."""

        def ms(key: str) -> float:
            return float(response.get(key) or 0) / 1e6

        load = response.get("load_duration")
        total = response.get("total_duration")
        return cls(
            prompt_tokens=int(response.get("prompt_eval_count") or 0),
            prompt_ms=ms("prompt_eval_duration"),
            eval_tokens=int(response.get("eval_count") or 0),
            eval_ms=ms("eval_duration"),
            load_ms=float(load) / 1e6 if load is not None else None,
            ttft_ms=ttft_ms,
            total_ms=float(total) / 1e6 if total is not None else None,
            source="ollama",
        )

    def report(self, prefix: str = "localkit_timings") -> str:
        """The figures in llama.cpp's `llama_perf_context_print` layout.

        Example:
            >>> t = Timings(prompt_tokens=5, prompt_ms=10.0, eval_tokens=4, eval_ms=20.0)
            >>> print(t.report().splitlines()[-1])
            localkit_timings:       total time =      30.00 ms /     9 tokens
        """

        def per(tokens: int, ms: float) -> str:
            mpt = _ms_per_token(tokens, ms) or 0.0
            rate = _rate(tokens, ms) or 0.0
            return f"({mpt:8.2f} ms per token, {rate:8.2f} tokens per second)"

        lines = []
        if self.load_ms is not None:
            lines.append(f"{prefix}:        load time = {self.load_ms:10.2f} ms")
        if self.sample_ms is not None:
            lines.append(
                f"{prefix}:    sampling time = {self.sample_ms:10.2f} ms / "
                f"{self.eval_tokens:5d} runs   {per(self.eval_tokens, self.sample_ms)}"
            )
        cached = f", {self.cached_tokens} cached" if self.cached_tokens else ""
        lines.append(
            f"{prefix}: prompt eval time = {self.prompt_ms:10.2f} ms / "
            f"{self.prompt_tokens:5d} tokens {per(self.prompt_tokens, self.prompt_ms)}{cached}"
        )
        lines.append(
            f"{prefix}:        eval time = {self.eval_ms:10.2f} ms / {self.eval_tokens:5d} runs   "
            f"{per(self.eval_tokens, self.eval_ms)}"
        )
        if self.ttft_ms is not None:
            lines.append(f"{prefix}: time to first token = {self.ttft_ms:7.2f} ms")
        total = self.total_ms if self.total_ms is not None else self.prompt_ms + self.eval_ms
        lines.append(
            f"{prefix}:       total time = {total:10.2f} ms / "
            f"{self.prompt_tokens + self.eval_tokens:5d} tokens"
        )
        return "\n".join(lines)


__all__ = ["Timings"]
