"""llama.cpp server: a raw httpx SSE client vs Llamafile.stream and ChatLlamafile.stream.

All contenders stream from the same `llama-server` process (started here on a free loopback
port with `--metrics`), interleaved round by round. Token counts and prompt times come from the
server's own counters (`/metrics`, read before and after each run), never from counting chunks.
The prompt cache is off for every contender, so each run evaluates the whole prompt.

Run alone: `python -m benchmarks.bench_llamafile [--rounds 5] [--tokens 128]`.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import Contender, Sample, ScenarioResult, run_interleaved, timed_stream

PROMPT = "Once upon a time, in a small village by the sea, there lived"
CHAT = "Write a long story about a lighthouse keeper."
SAMPLING: dict[str, Any] = {"temperature": 0, "repeat_penalty": 1.0, "cache_prompt": False}

_METRIC = re.compile(r"^llamacpp:(\w+)\s+([0-9.eE+-]+)$", re.MULTILINE)


class Counters:
    """The server's cumulative counters (`/metrics`), differenced around each run."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30)
        self.before: dict[str, float] = {}

    def read(self) -> dict[str, float]:
        text = self.client.get("/metrics").text
        return {k: float(v) for k, v in _METRIC.findall(text)}

    def mark(self) -> None:
        self.before = self.read()

    def delta(self) -> tuple[int, int, float]:
        after = self.read()

        def d(key: str) -> float:
            return after.get(key, 0.0) - self.before.get(key, 0.0)

        predicted = int(d("tokens_predicted_total"))
        return max(predicted - 1, 0), int(d("prompt_tokens_total")), d("prompt_seconds_total") * 1e3


def raw_sse(base_url: str, body: dict[str, Any]) -> Callable[[], Iterator[str]]:
    """The baseline: httpx, `POST /completion`, SSE lines parsed by hand, content yielded."""
    client = httpx.Client(base_url=base_url, timeout=600)

    def run() -> Iterator[str]:
        with client.stream("POST", "/completion", json={**body, "stream": True}) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    if event.get("content"):
                        yield event["content"]
                    if event.get("stop"):
                        break

    return run


def _measured(counters: Counters, start: Callable[[], Any]) -> Callable[[], Sample]:
    def run() -> Sample:
        counters.mark()
        return timed_stream(start, counters.delta)

    return run


def llm_stream_scenario(
    base_url: str, model_name: str, *, tokens: int, rounds: int
) -> ScenarioResult:
    """Llamafile.stream vs the raw SSE client (and community Llamafile, if installed)."""
    from langchain_localkit._faces.llm import TextCall
    from langchain_localkit.llms.llamafile import Llamafile

    counters = Counters(base_url)
    body = {"prompt": PROMPT, "n_predict": tokens, **SAMPLING}
    ours = Llamafile(base_url=base_url, max_tokens=tokens, **SAMPLING)
    engine_body = ours._request(TextCall(PROMPT, None, {}))

    def engine_stream() -> Iterator[str | Any]:
        # our HTTP client alone, without LangChain's per-chunk work (chunks, callbacks)
        return ours.engine.stream_completion(engine_body)

    contenders = [
        Contender("raw httpx SSE /completion", _measured(counters, raw_sse(base_url, body))),
        Contender("localkit Llamafile.stream", _measured(counters, lambda: ours.stream(PROMPT))),
        Contender("our engine alone (no LangChain)", _measured(counters, engine_stream)),
    ]
    notes = []
    try:
        from langchain_community.llms import Llamafile as CommunityLlamafile
    except ImportError:
        notes.append("community Llamafile not measured: install the `compat` extra")
    else:
        community = CommunityLlamafile(
            base_url=base_url, n_predict=tokens, temperature=0, repeat_penalty=1.0, streaming=True
        )

        def community_stream() -> Iterator[str]:
            # its stream yields every SSE line, blank ones included, as a chunk; the prompt
            # cache is not a field it accepts (the server's default, on, then applies)
            return iter(community.stream(PROMPT))

        contenders.append(
            Contender("community Llamafile.stream", _measured(counters, community_stream))
        )
        notes.append("community Llamafile cannot turn the prompt cache off (its TTFT is lower)")
    result = run_interleaved(
        f"Llamafile.stream vs raw SSE, {model_name}, {tokens} tokens, greedy",
        contenders,
        rounds=rounds,
    )
    result.notes.extend(notes)
    return result


def chat_stream_scenario(
    base_url: str, model_name: str, *, tokens: int, rounds: int
) -> ScenarioResult:
    """ChatLlamafile.stream vs the raw SSE client sending the same rendered prompt."""
    from langchain_localkit.chat_models.llamafile import ChatLlamafile

    counters = Counters(base_url)
    ours = ChatLlamafile(base_url=base_url, max_tokens=tokens, **SAMPLING)
    messages = [("human", CHAT)]
    rendered = ours.render(messages)  # type: ignore[arg-type]
    call = ours._parse_call(ours._convert_input(messages).to_messages(), None, {})
    plan = ours._plan(call, ours.engine.info())
    if plan.needs_bos_id:
        plan.bos_id = ours.engine.bos_token_id()
    body = {**plan.body, "prompt": plan.wire(rendered.prompt)}
    contenders = [
        Contender(
            "raw httpx SSE /completion (same prompt)", _measured(counters, raw_sse(base_url, body))
        ),
        Contender(
            "localkit ChatLlamafile.stream", _measured(counters, lambda: ours.stream(messages))
        ),
    ]
    return run_interleaved(
        f"ChatLlamafile.stream vs raw SSE, {model_name}, {tokens} tokens, greedy",
        contenders,
        rounds=rounds,
    )


def run(
    gemma: Path, tiny: Path | None = None, *, tokens: int = 128, rounds: int = 5
) -> list[ScenarioResult]:
    """Every llamafile scenario: Gemma (a real model, ~60-90 tokens/s on 2 cores) and, if
    given, the tiny model (thousands of tokens/s: it measures the client's own overhead)."""
    from langchain_localkit.testing.llama_server import LlamaServer

    results: list[ScenarioResult] = []
    with LlamaServer(gemma, n_ctx=2048, extra_args=["--metrics"]) as server:
        results.append(
            llm_stream_scenario(server.base_url, gemma.name, tokens=tokens, rounds=rounds)
        )
        results.append(
            chat_stream_scenario(server.base_url, gemma.name, tokens=tokens, rounds=rounds)
        )
    if tiny is not None:
        with LlamaServer(tiny, n_ctx=2048, extra_args=["--metrics"]) as server:
            results.append(
                llm_stream_scenario(server.base_url, tiny.name, tokens=tokens * 4, rounds=rounds)
            )
    return results


def main() -> None:
    from benchmarks.harness import machine, print_table
    from langchain_localkit.testing import gemma_model_path, make_tiny_gguf

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_llamafile")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    tiny = make_tiny_gguf(Path("benchmarks/results/tiny-llama.gguf"))
    info = machine()
    print(f"machine: {info['cores']} cores, {info['platform']}, Python {info['python']}")
    for result in run(gemma_model_path(), tiny, tokens=args.tokens, rounds=args.rounds):
        print_table(result)


if __name__ == "__main__":
    main()
