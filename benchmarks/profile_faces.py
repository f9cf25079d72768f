"""Where a face's time goes per token: the profiles behind "Where the last ratios under 1.0 went".

    python -m benchmarks.profile_faces chat [--rounds 9] [--gemma-rounds 15]
    python -m benchmarks.profile_faces abatch [--rounds 5]

`chat`: `ChatLlamaCpp.stream` layer by layer on the tiny model (this process's CPU per token
from bare `Llama.generate` up to LangChain's `stream`, beside raw `create_chat_completion`),
then on Gemma the decode ratio split into llama.cpp's own eval time per token and the time
spent outside it (everything Python does between two tokens). Run it with
`OMP_WAIT_POLICY=passive`: otherwise idle OpenMP workers spinning after the prompt's batch
(two threads) count as this process's CPU, and per-token figures swing fivefold with the
machine's load.

`abatch`: 8 chats at once on llama-server `--parallel 8` (Gemma, 64 tokens each), raw httpx
(bare prompts, the chat-rendered prompts unstreamed and streamed) against
`ChatLlamafile.abatch` with and without `streaming`: throughput, this process's CPU per token,
the server's CPU per token (from `/proc`) and its own decode and prompt times per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

CHAT = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


def _median_table(rows: dict[str, list[dict[str, float]]], fields: Iterable[str]) -> None:
    fields = list(fields)
    widths = [max(14, len(f) + 2) for f in fields]
    print(f"{'contender':42s}" + "".join(f"{f:>{w}s}" for f, w in zip(fields, widths, strict=True)))
    for name, samples in rows.items():
        cells = [statistics.median(s[f] for s in samples) for f in fields]
        print(f"{name:42s}" + "".join(f"{c:{w}.3f}" for c, w in zip(cells, widths, strict=True)))


def _interleaved(
    contenders: dict[str, Callable[[], dict[str, float]]], rounds: int
) -> dict[str, list[dict[str, float]]]:
    names = list(contenders)
    out: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for r in range(rounds + 1):  # round 0 warms up
        for name in names[r % len(names) :] + names[: r % len(names)]:
            sample = contenders[name]()
            if r:
                out[name].append(sample)
    return out


def chat_layers(model: Path, *, tokens: int, rounds: int, chat_format: str) -> None:
    """CPU µs per token at each layer of the chat path, and raw `create_chat_completion`."""
    import llama_cpp
    from langchain_core.messages import HumanMessage

    from langchain_localkit import ChatLlamaCpp
    from langchain_localkit.engines.llamacpp_decode import decode, sampler_kwargs

    ours = ChatLlamaCpp(
        model_path=str(model),
        n_ctx=2048,
        temperature=0,
        repeat_penalty=1.0,
        max_tokens=tokens,
        chat_format=chat_format,
    )
    llama = ours.client
    llama.chat_format = chat_format
    messages = [HumanMessage(CHAT[0]["content"])]
    plan = ours._plan(ours._parse_call(messages, None, {}))
    prompt_ids = ours.engine.tokenize(plan.prompt)

    def bare() -> Iterable[int]:  # the floor: sampling and detokenizing, nothing else
        vocab, buf = llama._model.vocab, llama_cpp.ctypes.create_string_buffer(256)
        gen = llama.generate(prompt_ids, **sampler_kwargs(plan.params), temp=0)
        for n, token in enumerate(gen, 1):
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                return
            llama_cpp.llama_token_to_piece(vocab, token, buf, 256, 0, False)
            yield token
            if n >= tokens:
                return

    layers: dict[str, Callable[[], Iterable[Any]]] = {
        "raw create_chat_completion(stream)": lambda: llama.create_chat_completion(
            CHAT, max_tokens=tokens, temperature=0, repeat_penalty=1.0, stream=True
        ),
        "bare Llama.generate + token_to_piece": bare,
        "+ decode() (stops, UTF-8, counts)": lambda: decode(
            llama,
            prompt_ids,
            plan.params,
            stop_ids={},
            cancel=None,
            start=time.perf_counter(),
            load_ms=None,
            model_name="",
        ),
        "+ engine.stream (tokenize, lease)": lambda: ours.engine.stream(plan.prompt, plan.params),
        "+ face _events (plan, split_items)": lambda: ours._events(
            ours._parse_call(messages, None, {})
        ),
        "+ skeleton _stream (chunks)": lambda: ours._stream(messages),
        "+ LangChain stream = ChatLlamaCpp.stream": lambda: ours.stream(messages),
    }

    def measure(make: Callable[[], Iterable[Any]]) -> dict[str, float]:
        llama.reset()
        llama_cpp.llama_perf_context_reset(llama.ctx)
        cpu0 = time.process_time()
        for _ in make():
            pass
        cpu = time.process_time() - cpu0
        generated = int(llama_cpp.llama_perf_context(llama.ctx).n_eval) + 1
        return {"cpu_us_per_tok": cpu / generated * 1e6, "tokens": generated}

    print(f"\n== chat path layer by layer, {model.name}, {tokens} tokens, {rounds} rounds ==")
    _median_table(
        _interleaved({k: (lambda f=f: measure(f)) for k, f in layers.items()}, rounds),
        ["cpu_us_per_tok", "tokens"],
    )


def chat_decode_split(model: Path, *, tokens: int, rounds: int) -> None:
    """Gemma: decode rate ratio, and per token llama.cpp's own eval time vs the rest."""
    import llama_cpp

    from langchain_localkit import ChatLlamaCpp

    ours = ChatLlamaCpp(
        model_path=str(model),
        n_ctx=2048,
        temperature=0,
        repeat_penalty=1.0,
        max_tokens=tokens,
        chat_format="gemma",
    )
    llama = ours.client
    llama.chat_format = "gemma"
    messages = [("human", CHAT[0]["content"])]

    def measure(make: Callable[[], Iterable[Any]]) -> dict[str, float]:
        llama.reset()
        llama_cpp.llama_perf_context_reset(llama.ctx)
        first = None
        for _ in make():
            first = first or time.perf_counter()
        end = time.perf_counter()
        perf = llama_cpp.llama_perf_context(llama.ctx)
        n, wall_ms = int(perf.n_eval), (end - (first or end)) * 1e3
        return {
            "decode_tok_s": n / wall_ms * 1e3,
            "eval_ms_per_tok": perf.t_eval_ms / n,  # inside llama_decode: the model
            "outside_ms_per_tok": (wall_ms - perf.t_eval_ms) / n,  # sampling, Python, wrapper
        }

    contenders = {
        "raw create_chat_completion(stream)": lambda: measure(
            lambda: llama.create_chat_completion(
                CHAT, max_tokens=tokens, temperature=0, repeat_penalty=1.0, stream=True
            )
        ),
        "localkit ChatLlamaCpp.stream": lambda: measure(lambda: ours.stream(messages)),
    }
    samples = _interleaved(contenders, rounds)
    print(f"\n== ChatLlamaCpp.stream vs raw, {model.name}, {tokens} tokens, {rounds} rounds ==")
    _median_table(samples, ["decode_tok_s", "eval_ms_per_tok", "outside_ms_per_tok"])
    raw, mine = samples.values()
    for field in ("decode_tok_s", "eval_ms_per_tok"):
        ratios = [m[field] / r[field] for m, r in zip(mine, raw, strict=True)]
        print(
            f"  paired ratio ours/raw of {field}: median {statistics.median(ratios):.3f} "
            f"[{min(ratios):.3f}-{max(ratios):.3f}]"
        )


def _server_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def abatch(model: Path, *, rounds: int, requests: int = 8, tokens: int = 64) -> None:
    """8 chats at once: where the client's and the server's time goes (see the docstring)."""
    import httpx
    from langchain_core.messages import HumanMessage

    from langchain_localkit.chat_models.llamafile import ChatLlamafile
    from langchain_localkit.testing.llama_server import LlamaServer

    prompts = [f"Story number {i}: once upon a time, in a village by the sea," for i in range(8)]
    prompts = (prompts * ((requests + 7) // 8))[:requests]
    sampling = {"temperature": 0, "repeat_penalty": 1.0, "cache_prompt": False}
    extra = ["--parallel", str(requests)]
    with LlamaServer(model, n_ctx=512 * requests, extra_args=extra) as server:
        url, pid = server.base_url, server.pid
        assert pid is not None
        chat = ChatLlamafile(base_url=url, max_tokens=tokens, **sampling)
        quiet = ChatLlamafile(base_url=url, max_tokens=tokens, streaming=False, **sampling)
        rendered = [
            chat.engine.tokenize(chat.render([HumanMessage(p)]).prompt, add_special=False)
            for p in prompts
        ]

        async def raw(bodies: list[Any], stream: bool) -> list[tuple[int, dict[str, Any]]]:
            async with httpx.AsyncClient(base_url=url, timeout=600) as client:

                async def one(prompt: Any) -> tuple[int, dict[str, Any]]:
                    body = {"prompt": prompt, "n_predict": tokens, **sampling, "stream": stream}
                    if not stream:
                        answer = (await client.post("/completion", json=body)).json()
                        return int(answer["tokens_predicted"]), answer["timings"]
                    final: dict[str, Any] = {}
                    async with client.stream("POST", "/completion", json=body) as response:
                        async for line in response.aiter_lines():
                            if line.startswith("data: "):
                                event = json.loads(line[6:])
                                final = event if event.get("stop") else final
                    return int(final["tokens_predicted"]), final["timings"]

                return list(await asyncio.gather(*(one(p) for p in bodies)))

        async def ours(model: ChatLlamafile) -> list[tuple[int, dict[str, Any]]]:
            replies = await model.abatch([[("human", p)] for p in prompts])
            return [
                (
                    int((m.usage_metadata or {}).get("output_tokens", 0)),
                    {
                        "predicted_ms": m.response_metadata["timings"]["eval_ms"],
                        "prompt_ms": m.response_metadata["timings"]["prompt_ms"],
                    },
                )
                for m in replies
            ]

        runs: dict[str, Callable[[], Any]] = {
            "raw httpx, bare prompts": lambda: raw(prompts, False),
            "raw httpx, chat-rendered prompts": lambda: raw(rendered, False),
            "raw httpx SSE, chat-rendered prompts": lambda: raw(rendered, True),
            "ChatLlamafile.abatch": lambda: ours(chat),
            "ChatLlamafile(streaming=False).abatch": lambda: ours(quiet),
        }

        def measure(run: Callable[[], Any]) -> dict[str, float]:
            server0, cpu0, t0 = _server_cpu_s(pid), time.process_time(), time.perf_counter()
            replies = asyncio.run(run())
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            made = sum(n for n, _ in replies)
            return {
                "tok_s": made / wall,
                "client_us_tok": cpu / made * 1e6,
                "server_us_tok": (_server_cpu_s(pid) - server0) / made * 1e6,
                "srv_decode_ms": statistics.mean(float(t["predicted_ms"]) for _, t in replies),
                "srv_prompt_ms": statistics.mean(float(t["prompt_ms"]) for _, t in replies),
            }

        samples = _interleaved({k: (lambda r=r: measure(r)) for k, r in runs.items()}, rounds)
    print(f"\n== {requests} chats at once, llama-server --parallel {requests}, {model.name} ==")
    fields = ["tok_s", "client_us_tok", "server_us_tok", "srv_decode_ms", "srv_prompt_ms"]
    _median_table(samples, fields)
    for name, rows in samples.items():
        print(f"  {name}: tok/s by round {[round(s['tok_s'], 1) for s in rows]}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_faces")
    parser.add_argument("what", choices=["chat", "abatch"])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--gemma-rounds", type=int, default=15)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()

    from benchmarks.harness import RESULTS
    from langchain_localkit.testing import gemma_model_path, make_tiny_gguf

    if args.what == "chat":
        tiny = make_tiny_gguf(RESULTS / "tiny-llama.gguf")
        chat_layers(tiny, tokens=args.tokens * 2, rounds=args.rounds, chat_format="gemma")
        if args.gemma_rounds:
            chat_decode_split(gemma_model_path(), tokens=args.tokens, rounds=args.gemma_rounds)
    else:
        abatch(gemma_model_path(), rounds=args.rounds)


if __name__ == "__main__":
    main()
