"""Scale-out, measured: many chats at once on one llama-server, and how its slots scale.

Part 1: N (8, then 16) concurrent chats against one `llama-server --parallel 4` (`-c` is split
across the slots, so the server gets 4 x the per-slot context), sent by
`ChatOpenAICompatible.abatch`, by `asyncio.gather` over `ainvoke`, and by raw async httpx
posting, byte for byte, the streaming `/v1/chat/completions` bodies our class sends (captured
on the wire during the warm-up round). Throughput is completion tokens (the server's `usage`)
over the wall time of the whole batch, and requests per second; the ratio to raw is the median
over rounds of each round's ratio (rounds rotate which contender goes first, as the harness
does), so the machine's drift between rounds cancels.

Part 2: the same 8 chats against servers started with `--parallel 1`, `2` and `4` (the same
context per slot): tokens/s and the speed-up over one slot, ours and raw. On a 2-core host the
slots share the same two cores, so the speed-up saturates early: that is the figure to read.

Run alone: `python -m benchmarks.bench_scaleout [--rounds 5] [--tokens 32]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import ScenarioResult

TOPICS = [
    "a lighthouse keeper",
    "a clockmaker",
    "a lost dog",
    "a mountain village",
    "a river pilot",
    "a baker at dawn",
    "a painter of ships",
    "a train in the snow",
    "a beekeeper",
    "a night market",
    "an old library",
    "a fisherman's daughter",
    "a glass blower",
    "a desert well",
    "a kite festival",
    "a ferry captain",
]
CHAT_PATH = "/v1/chat/completions"
PER_SLOT_CTX = 512  # context per slot; the server's `-c` is slots x this

Run = Callable[[], Awaitable[int]]  # one batch of chats; returns the completion tokens


def prompts(n: int) -> list[str]:
    """`n` distinct chat prompts (the topics repeat, numbered, past 16)."""
    return [f"Write a story about {TOPICS[i % len(TOPICS)]} (number {i})." for i in range(n)]


def chat_model(base_url: str, tokens: int, **kwargs: Any) -> Any:
    """Our chat model, greedy, seeded, prompt cache off (each run evaluates its whole prompt)."""
    from langchain_localkit.chat_models.openai_compat import ChatOpenAICompatible

    return ChatOpenAICompatible(
        base_url=base_url,
        server="llama.cpp",
        temperature=0,
        seed=42,
        max_tokens=tokens,
        extra_body={"cache_prompt": False},
        **kwargs,
    )


async def captured_bodies(base_url: str, texts: Sequence[str], tokens: int) -> list[bytes]:
    """The request bodies our class sends for `texts`, as they went on the wire.

    One `abatch` through a model whose async client records every chat request; it doubles as
    the server's warm-up. The bodies come back in the order of `texts`.
    """
    seen: dict[str, bytes] = {}

    async def record(request: httpx.Request) -> None:
        if request.url.path.endswith(CHAT_PATH):
            body = request.content
            seen[json.loads(body)["messages"][-1]["content"]] = body

    recorder = chat_model(
        base_url, tokens, async_client_kwargs={"event_hooks": {"request": [record]}}
    )
    await recorder.abatch(list(texts))
    await recorder.aclose()
    return [seen[text] for text in texts]


def raw_client(base_url: str) -> tuple[httpx.AsyncClient, Callable[[Sequence[bytes]], Run]]:
    """The baseline: one pooled `httpx.AsyncClient`, SSE parsed by hand, content joined."""
    # llama-server closes a connection idle for 5 s; one reused just then fails before any
    # answer (our faces retry that). The baseline lets idle connections go sooner instead.
    client = httpx.AsyncClient(
        base_url=base_url, timeout=600, limits=httpx.Limits(keepalive_expiry=1.0)
    )
    headers = {"content-type": "application/json"}

    async def one(body: bytes) -> int:
        completion, pieces = 0, []
        async with client.stream("POST", CHAT_PATH, content=body, headers=headers) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                for choice in chunk.get("choices") or ():
                    if text := (choice.get("delta") or {}).get("content"):
                        pieces.append(text)
                if usage := chunk.get("usage"):
                    completion = int(usage["completion_tokens"])
        _text = "".join(pieces)  # what a client would keep
        return completion

    def batch(bodies: Sequence[bytes]) -> Run:
        async def run() -> int:
            return sum(await asyncio.gather(*(one(b) for b in bodies)))

        return run

    return client, batch


def ours(chat: Any, texts: Sequence[str]) -> dict[str, Run]:
    """`abatch` and `gather(ainvoke)` on one model (its pooled async client is reused)."""

    def tokens(messages: Sequence[Any]) -> int:
        return sum(int((m.usage_metadata or {}).get("output_tokens", 0)) for m in messages)

    async def batch() -> int:
        return tokens(await chat.abatch(list(texts)))

    async def gathered() -> int:
        return tokens(await asyncio.gather(*(chat.ainvoke(t) for t in texts)))

    return {"abatch": batch, "gather": gathered}


async def interleaved(
    contenders: Sequence[tuple[str, Run]], rounds: int
) -> dict[str, list[tuple[float, int]]]:
    """(wall s, completion tokens) per round and contender; the first round of each is a warm-up
    and each round starts with the next contender."""
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name, _ in contenders}
    count = len(contenders)
    for r in range(rounds + 1):
        for name, run in list(contenders[r % count :]) + list(contenders[: r % count]):
            t0 = time.perf_counter()
            produced = await run()
            if r:
                samples[name].append((time.perf_counter() - t0, produced))
    return samples


def summarize(
    samples: dict[str, list[tuple[float, int]]], base: str, requests: int
) -> dict[str, dict[str, Any]]:
    """Per contender: throughput (median, min, max), requests/s, and ratios to `base`."""
    rates = {name: [n / w for w, n in ss] for name, ss in samples.items()}
    base_median = statistics.median(rates[base])
    out: dict[str, dict[str, Any]] = {}
    for name, ss in samples.items():
        paired = [r / b for r, b in zip(rates[name], rates[base], strict=True)]
        median = statistics.median(rates[name])
        out[name] = {
            "tokens_per_s": median,
            "min": min(rates[name]),
            "max": max(rates[name]),
            "requests_per_s": statistics.median(requests / w for w, _ in ss),
            "wall_s": statistics.median(w for w, _ in ss),
            "throughput_ratio": statistics.median(paired),
            "ratio_of_medians": median / base_median,
            "completion_tokens": statistics.median(n for _, n in ss),
        }
    return out


RAW = "raw httpx AsyncClient, same /v1 bodies"
ABATCH = "localkit ChatOpenAICompatible.abatch"
GATHER = "localkit gather(ChatOpenAICompatible.ainvoke)"


async def _measure(
    base_url: str, requests: Sequence[int], *, tokens: int, rounds: int, gather: bool
) -> dict[int, dict[str, dict[str, Any]]]:
    """For each count of concurrent chats, the contenders on the server at `base_url`."""
    chat = chat_model(base_url, tokens)
    client, raw_batch = raw_client(base_url)
    out: dict[int, dict[str, dict[str, Any]]] = {}
    try:
        for n in requests:
            texts = prompts(n)
            bodies = await captured_bodies(base_url, texts, tokens)
            runs = ours(chat, texts)
            contenders: list[tuple[str, Run]] = [(RAW, raw_batch(bodies)), (ABATCH, runs["abatch"])]
            if gather:
                contenders.append((GATHER, runs["gather"]))
            out[n] = summarize(await interleaved(contenders, rounds), RAW, n)
    finally:
        await client.aclose()
        await chat.aclose()
    return out


def _server(model: Path, slots: int) -> Any:
    from langchain_localkit.testing.llama_server import LlamaServer

    return LlamaServer(model, parallel=slots, n_ctx=slots * PER_SLOT_CTX)


def concurrency_scenario(
    model: Path,
    *,
    requests: Sequence[int] = (8, 16),
    slots: int = 4,
    tokens: int = 32,
    rounds: int = 5,
    gather: bool = True,
) -> ScenarioResult:
    """Part 1: N concurrent chats on one `--parallel slots` server, ours vs raw httpx."""
    result = ScenarioResult(
        scenario=f"scale-out: concurrent chats, llama-server --parallel {slots} "
        f"(-c {slots * PER_SLOT_CTX}), {model.name}, {tokens} tokens each",
        unit="completion tokens/s",
    )
    with _server(model, slots) as server:
        measured = asyncio.run(
            _measure(server.base_url, requests, tokens=tokens, rounds=rounds, gather=gather)
        )
    for n, by_name in measured.items():
        for name, figures in by_name.items():
            result.rows.append({"contender": name, "requests": n, "slots": slots, **figures})
    result.notes.append(
        f"{rounds} rounds after a warm-up, order rotated per round; throughput = completion "
        "tokens (server usage) / wall time of the whole batch; throughput_ratio = median of "
        "per-round ratios to raw"
    )
    return result


def slots_scenario(
    model: Path,
    *,
    slot_counts: Sequence[int] = (1, 2, 4),
    requests: int = 8,
    tokens: int = 32,
    rounds: int = 3,
    reuse: ScenarioResult | None = None,
) -> ScenarioResult:
    """Part 2: the same `requests` chats on servers with 1, 2, 4 slots; speed-up over 1 slot.

    `reuse`: part 1's result; a slot count it already measured with `requests` chats is
    taken from it instead of starting that server again.
    """
    import os

    result = ScenarioResult(
        scenario=f"scale-out: {requests} chats on --parallel {', '.join(map(str, slot_counts))} "
        f"({PER_SLOT_CTX} ctx per slot), {model.name}, {tokens} tokens each, "
        f"{os.cpu_count()} cores",
        unit="completion tokens/s",
    )
    measured: dict[int, dict[str, dict[str, Any]]] = {}
    reused: list[int] = []
    for s in slot_counts:
        earlier = [
            row
            for row in (reuse.rows if reuse else [])
            if row.get("slots") == s and row.get("requests") == requests
        ]
        if earlier:
            measured[s] = {row["contender"]: row for row in earlier}
            reused.append(s)
            continue
        with _server(model, s) as server:
            got = asyncio.run(
                _measure(server.base_url, [requests], tokens=tokens, rounds=rounds, gather=False)
            )
        measured[s] = got[requests]
    one = measured[slot_counts[0]]
    for s in slot_counts:
        for name in (RAW, ABATCH):
            f = measured[s][name]
            result.rows.append(
                {
                    "contender": name,
                    "slots": s,
                    "tokens_per_s": f["tokens_per_s"],
                    "min": f["min"],
                    "max": f["max"],
                    "requests_per_s": f["requests_per_s"],
                    "speedup_vs_1_slot": f["tokens_per_s"] / one[name]["tokens_per_s"],
                    "ratio_to_raw": f["throughput_ratio"],
                }
            )
    if reused:
        result.notes.append(
            f"--parallel {', '.join(map(str, reused))}: taken from the concurrent-chats "
            "scenario (same server settings, same chats, its rounds)"
        )
    result.notes.append(
        f"the slots share this host's {os.cpu_count()} cores (and the client): on a small "
        "machine the speed-up saturates; more slots pay only with idle compute to fill"
    )
    return result


def run(
    model: Path, *, tokens: int = 32, rounds: int = 5, scaling_rounds: int = 3
) -> list[ScenarioResult]:
    """Both parts: concurrent chats on 4 slots (8 and 16 at once), then 1 -> 2 -> 4 slots."""
    first = concurrency_scenario(model, tokens=tokens, rounds=rounds)
    second = slots_scenario(model, tokens=tokens, rounds=scaling_rounds, reuse=first)
    return [first, second]


def main() -> None:
    from benchmarks.__main__ import show
    from benchmarks.harness import machine
    from langchain_localkit.testing import gemma_model_path

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scaleout")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scaling-rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    info = machine()
    print(f"machine: {info['cores']} cores, {info['platform']}, {info['cpu']}")
    started = time.perf_counter()
    for result in run(
        args.model or gemma_model_path(),
        tokens=args.tokens,
        rounds=args.rounds,
        scaling_rounds=args.scaling_rounds,
    ):
        show(result)
    print(f"\ntook {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
