"""gpt4all bindings: raw `GPT4All.generate(streaming=True)` vs our GPT4All.stream and
ChatGPT4All.stream, and the community `GPT4All` when the compat extra is installed.

All contenders share one loaded model (the engine's). Token counts come from the bindings'
own callbacks (one call per decoded token, one per ingested prompt token), never from
counting chunks. gpt4all 2.8.2 cannot load Gemma 3, so the model is a generated llama GGUF
sized like a small real model (`make_tiny_gguf` with 512-wide, 8-layer blocks: 35 M
parameters, about 4 ms per token on 2 cores), or any gpt4all-loadable GGUF given with
--model. (On the 64-wide tiny model a token takes 0.1 ms and the bindings' own thread hand-off
dominates: raw runs alone vary twenty-fold.)

The community class has no streaming: its `stream()` yields the whole text once generation
ends, so it is reported apart (its time to the first text vs the raw call's whole time).

Run alone: `python -m benchmarks.bench_gpt4all [--rounds 5] [--tokens 256] [--model PATH]`.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.harness import Contender, Sample, ScenarioResult, run_interleaved, timed_stream

PROMPT = "Once upon a time, in a small village by the sea, there lived"


class _Counters:
    """Token counts from the bindings' callbacks of the last run."""

    def __init__(self, llmodel: Any) -> None:
        self.llmodel = llmodel
        self.prompt = 0
        self.decoded = 0

    def reset(self) -> None:
        self.prompt = self.decoded = 0

    def on_prompt(self, _token: int) -> bool:
        self.prompt += 1
        return True

    def on_token(self, _token: int, _piece: str) -> bool:
        self.decoded += 1
        return True

    def read(self) -> tuple[int, int, float]:
        return max(self.decoded - 1, 0), self.prompt, 0.0


def stream_scenario(model_path: Path, *, tokens: int, rounds: int) -> ScenarioResult:
    from langchain_localkit import ChatGPT4All, GPT4All

    sampling: dict[str, Any] = {"temp": 0.0, "top_k": 1, "repeat_penalty": 1.0, "n_batch": 64}
    ours = GPT4All(model=str(model_path), max_tokens=tokens, n_ctx=2048, **sampling)
    chat = ChatGPT4All(model=str(model_path), max_tokens=tokens, n_ctx=2048, **sampling)
    bindings = ours.engine.gpt4all  # the same loaded model serves every contender
    counters = _Counters(bindings.model)

    def raw() -> Sample:
        counters.reset()
        bindings.model._prompt_callback = counters.on_prompt
        try:
            return timed_stream(
                lambda: bindings.generate(
                    PROMPT, max_tokens=tokens, streaming=True, callback=counters.on_token,
                    **sampling,
                ),
                counters.read,
            )  # fmt: skip
        finally:
            del bindings.model._prompt_callback

    def ours_counts(last: list[dict[str, Any]]) -> tuple[int, int, float]:
        timings = last[0]["timings"]
        return max(timings["eval_tokens"] - 1, 0), timings["prompt_tokens"], 0.0

    def localkit_llm() -> Sample:
        last: list[dict[str, Any]] = []

        def run() -> Iterator[str]:
            for chunk in ours._stream(PROMPT):
                if chunk.generation_info:
                    last.append(chunk.generation_info)
                elif chunk.text:
                    yield chunk.text

        return timed_stream(run, lambda: ours_counts(last))

    def localkit_chat() -> Sample:
        last: list[dict[str, Any]] = []

        def run() -> Iterator[Any]:
            for chunk in chat.stream(PROMPT):
                if "timings" in chunk.response_metadata:
                    last.append(chunk.response_metadata)
                elif chunk.content:
                    yield chunk

        return timed_stream(run, lambda: ours_counts(last))

    contenders = [
        Contender("raw gpt4all generate(streaming)", raw),
        Contender("localkit GPT4All.stream", localkit_llm),
        Contender("localkit ChatGPT4All.stream", localkit_chat),
    ]
    result = run_interleaved(
        f"gpt4all stream, {model_path.name}, {tokens} tokens", contenders, rounds=rounds
    )
    result.notes.append(
        "ChatGPT4All renders the prompt as a chat turn (a few more prompt tokens); decode rates "
        "compare like for like."
    )
    community = _community(model_path, tokens, sampling, counters, bindings)
    if community is not None:
        first_text = sorted(community.run().ttft_s for _ in range(3))[1]
        whole = sorted(_whole(raw) for _ in range(3))[1]
        result.notes.append(
            f"community GPT4All.stream does not stream: first text after {first_text * 1000:.0f} "
            f"ms, when raw streaming has finished the whole reply in {whole * 1000:.0f} ms"
        )
    return result


def _whole(run: Any) -> float:
    sample = run()
    return float(sample.ttft_s + sample.decode_s)


def _community(
    model_path: Path, tokens: int, sampling: dict[str, Any], counters: _Counters, bindings: Any
) -> Contender | None:
    try:
        from langchain_community.llms import GPT4All as CommunityGPT4All
    except ImportError:
        return None
    community = CommunityGPT4All(
        model=str(model_path), max_tokens=tokens, n_predict=tokens, temp=0.0, top_k=1,
        repeat_penalty=1.0, n_batch=64, allow_download=False,
    )  # fmt: skip
    community.client = bindings  # no second load: the same model object
    wrapped = bindings.generate

    def counted(prompt: str, **kwargs: Any) -> Any:
        return wrapped(prompt, callback=counters.on_token, **kwargs)

    def run() -> Sample:
        counters.reset()
        bindings.model._prompt_callback = counters.on_prompt
        bindings.generate = counted
        try:
            return timed_stream(lambda: community.stream(PROMPT), counters.read)
        finally:
            bindings.generate = wrapped
            del bindings.model._prompt_callback

    return Contender("community GPT4All.stream", run)


def bench_model(directory: Path) -> Path:
    """The generated llama GGUF sized like a small real model (written once)."""
    from langchain_localkit.testing import make_tiny_gguf

    path = directory / "small-llama.gguf"
    if not path.is_file():
        make_tiny_gguf(path, n_embd=512, n_layer=8, n_head=8, n_ff=2048, name="small-llama")
    return path


def run(model: Path | None = None, *, tokens: int = 128, rounds: int = 5) -> list[ScenarioResult]:
    """Every gpt4all scenario on `model` (default: the generated small llama GGUF)."""
    from benchmarks.harness import RESULTS

    return [stream_scenario(model or bench_model(RESULTS), tokens=tokens, rounds=rounds)]


def main() -> None:
    from benchmarks.harness import machine, print_table

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_gpt4all")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    info = machine()
    print(f"machine: {info['cores']} cores, {info['platform']}, Python {info['python']}")
    for result in run(args.model, tokens=args.tokens, rounds=args.rounds):
        print_table(result)


if __name__ == "__main__":
    main()
