"""Scenarios beyond one call: multi-turn prefix reuse, 8 concurrent requests on a server,
embeddings throughput, and import time.

Run alone: `python -m benchmarks.bench_more`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import ScenarioResult


def _median_of(run: Callable[[], float], rounds: int) -> dict[str, float]:
    run()  # warm-up
    values = [run() for _ in range(rounds)]
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


# --- multi-turn chat: the second turn evaluates only its new tokens ---------------------------
def prefix_reuse_scenario(model_path: Path, *, tokens: int = 32) -> ScenarioResult:
    """ChatLlamaCpp turn 1, then turn 2 with turn 1 in the history: prompt tokens evaluated."""
    from langchain_localkit import ChatLlamaCpp, Timings

    chat = ChatLlamaCpp(model_path=str(model_path), n_ctx=2048, temperature=0, max_tokens=tokens)
    chat.client.reset()  # nothing cached from earlier scenarios
    history: list[Any] = [("human", "Tell me about lighthouses and the people who keep them.")]
    first = chat.invoke(history)
    t1 = Timings.from_dict(first.response_metadata["timings"])
    history += [first, ("human", "And what did they eat?")]
    second = chat.invoke(history)
    t2 = Timings.from_dict(second.response_metadata["timings"])
    assert second.usage_metadata is not None
    result = ScenarioResult(scenario=f"multi-turn prefix reuse, {model_path.name}", unit="tokens")
    result.rows.append(
        {
            "turn1_prompt_tokens": t1.prompt_tokens,
            "turn1_prompt_ms": t1.prompt_ms,
            "turn2_prompt_tokens_total": second.usage_metadata["input_tokens"],
            "turn2_prompt_tokens_evaluated": t2.prompt_tokens,  # cached ones not included
            "turn2_cached_tokens": t2.cached_tokens,
            "turn2_prompt_ms": t2.prompt_ms,
        }
    )
    return result


# --- 8 concurrent requests against llama-server -------------------------------------------------
def concurrency_scenario(
    model_path: Path, *, requests: int = 8, tokens: int = 64, rounds: int = 5
) -> ScenarioResult:
    """8 requests at once to one llama-server (8 slots): `Llamafile.abatch` and
    `ChatLlamafile.abatch` vs raw async httpx, wall time and total tokens per second.

    The chat face sends each prompt wrapped in the model's turn format, so it has more prompt
    tokens to evaluate than the bare prompt; its `same_prompt_ratio` is taken against raw
    requests carrying exactly those tokens. It runs twice: as it comes (it reads the server's
    stream, so callbacks see tokens) and with `streaming=False` (one plain answer per chat,
    as the raw requests and `Llamafile(streaming=False)` get).
    """
    from langchain_core.messages import HumanMessage

    from langchain_localkit.chat_models.llamafile import ChatLlamafile
    from langchain_localkit.llms.llamafile import Llamafile
    from langchain_localkit.testing.llama_server import LlamaServer

    prompts = [f"Story number {i}: once upon a time, in a village by the sea," for i in range(8)]
    prompts = (prompts * ((requests + 7) // 8))[:requests]
    sampling = {"temperature": 0, "repeat_penalty": 1.0, "cache_prompt": False}
    result = ScenarioResult(
        scenario=f"{requests} concurrent requests, llama-server --parallel {requests}, "
        f"{model_path.name}, {tokens} tokens each",
        unit="tokens/s",
    )
    with LlamaServer(
        model_path, n_ctx=512 * requests, extra_args=["--parallel", str(requests)]
    ) as server:
        url = server.base_url

        async def raw(bodies: list[str] | list[list[int]]) -> int:
            async with httpx.AsyncClient(base_url=url, timeout=600) as client:

                async def one(prompt: str | list[int]) -> int:
                    body = {"prompt": prompt, "n_predict": tokens, **sampling}
                    response = await client.post("/completion", json=body)
                    response.raise_for_status()
                    return int(response.json()["tokens_predicted"])

                return sum(await asyncio.gather(*(one(p) for p in bodies)))

        llm = Llamafile(base_url=url, max_tokens=tokens, streaming=False, **sampling)
        chat = ChatLlamafile(base_url=url, max_tokens=tokens, **sampling)
        quiet = ChatLlamafile(base_url=url, max_tokens=tokens, streaming=False, **sampling)
        # token ids, so a BOS written in the template is not doubled by the server
        rendered = [
            chat.engine.tokenize(chat.render([HumanMessage(p)]).prompt, add_special=False)
            for p in prompts
        ]

        async def raw_once() -> int:
            return await raw(prompts)

        async def raw_rendered_once() -> int:
            return await raw(rendered)

        async def ours_once() -> int:
            results = await llm.agenerate(prompts)
            infos = [g[0].generation_info or {} for g in results.generations]
            return sum(int(info["usage"]["output_tokens"]) for info in infos)

        async def chat_batch(model: ChatLlamafile) -> int:
            messages = await model.abatch([[("human", p)] for p in prompts])
            usages = [getattr(m, "usage_metadata", None) or {} for m in messages]
            return sum(int(u.get("output_tokens", 0)) for u in usages)

        async def chat_once() -> int:
            return await chat_batch(chat)

        async def quiet_once() -> int:
            return await chat_batch(quiet)

        raw_name = "raw httpx AsyncClient, 8 x POST /completion"
        rendered_name = "raw httpx, 8 x POST /completion, chat-rendered prompts"
        contenders: list[tuple[str, Callable[[], Any]]] = [
            (raw_name, raw_once),
            ("localkit Llamafile.agenerate(8 prompts)", ours_once),
            (rendered_name, raw_rendered_once),
            ("localkit ChatLlamafile.abatch(8 chats)", chat_once),
            ("localkit ChatLlamafile(streaming=False).abatch(8 chats)", quiet_once),
        ]
        samples: dict[str, list[tuple[float, int]]] = {name: [] for name, _ in contenders}
        count = len(contenders)
        for r in range(rounds + 1):
            for name, run in contenders[r % count :] + contenders[: r % count]:
                t0 = time.perf_counter()
                produced = asyncio.run(run())
                if r:
                    samples[name].append((time.perf_counter() - t0, produced))
        medians = {
            name: statistics.median(n / w for w, n in samples[name]) for name, _ in contenders
        }
        base, base_rendered = medians[raw_name], medians[rendered_name]
        for name, _ in contenders:
            row: dict[str, Any] = {
                "contender": name,
                "wall_s": statistics.median(w for w, _ in samples[name]),
                "tokens_per_s": medians[name],
                "ratio": medians[name] / base,
            }
            if name.startswith("localkit ChatLlamafile"):
                row["same_prompt_ratio"] = medians[name] / base_rendered
            result.rows.append(row)
    return result


# --- embeddings throughput --------------------------------------------------------------------
def embeddings_scenario(model_path: Path, *, texts: int = 64, rounds: int = 9) -> ScenarioResult:
    """Texts per second: LlamaCppEmbeddings vs raw `Llama.embed`, and LlamafileEmbeddings vs
    raw httpx `POST /embedding` (one batch of `texts` short documents)."""
    from langchain_localkit import LlamaCppEmbeddings
    from langchain_localkit.embeddings.llamafile import LlamafileEmbeddings
    from langchain_localkit.testing.corpus import DOCUMENTS
    from langchain_localkit.testing.llama_server import LlamaServer

    corpus = [d.page_content for d in DOCUMENTS]
    batch = (corpus * (texts // len(corpus) + 1))[:texts]
    ours = LlamaCppEmbeddings(model_path=str(model_path))
    llama = ours.engine.llama

    def timed(run: Callable[[], Any]) -> float:
        t0 = time.perf_counter()
        run()
        return len(batch) / (time.perf_counter() - t0)

    result = ScenarioResult(
        scenario=f"embeddings, {model_path.name}, {texts} texts", unit="texts/s"
    )
    rows: list[tuple[str, Callable[[], float]]] = [
        ("raw llama_cpp Llama.embed", lambda: timed(lambda: llama.embed(batch))),
        ("localkit LlamaCppEmbeddings", lambda: timed(lambda: ours.embed_documents(batch))),
    ]
    _add_rows(result, rows, rounds)
    with LlamaServer(
        model_path, n_ctx=512, embeddings=True, pooling="mean", extra_args=["-ub", "512"]
    ) as server:
        client = httpx.Client(base_url=server.base_url, timeout=600)
        remote = LlamafileEmbeddings(base_url=server.base_url)

        def raw_http() -> None:
            response = client.post("/embedding", json={"content": batch})
            response.raise_for_status()
            json.loads(response.content)

        server_rows: list[tuple[str, Callable[[], float]]] = [
            ("raw httpx POST /embedding", lambda: timed(raw_http)),
            ("localkit LlamafileEmbeddings", lambda: timed(lambda: remote.embed_documents(batch))),
        ]
        _add_rows(result, server_rows, rounds)
    return result


def _add_rows(
    result: ScenarioResult, rows: list[tuple[str, Callable[[], float]]], rounds: int
) -> None:
    for _, run in rows:
        run()  # warm-up
    values: dict[str, list[float]] = {name: [] for name, _ in rows}
    for r in range(rounds):
        for name, run in rows[r % len(rows) :] + rows[: r % len(rows)]:
            values[name].append(run())
    base = statistics.median(values[rows[0][0]])
    for name, _ in rows:
        rate = statistics.median(values[name])
        result.rows.append(
            {
                "contender": name,
                "texts_per_s": rate,
                "min": min(values[name]),
                "max": max(values[name]),
                "ratio": rate / base,
            }
        )


# --- import time -------------------------------------------------------------------------------
def import_scenario(rounds: int = 7) -> ScenarioResult:
    """`import langchain_localkit` vs `import langchain_community.llms`, fresh interpreters."""

    def cost(module: str) -> float:
        code = (
            "import time; t = time.perf_counter(); "
            f"import {module}; print((time.perf_counter() - t) * 1000)"
        )
        out = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", code],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return float(out.strip().splitlines()[-1])

    result = ScenarioResult(scenario="import time, fresh interpreter", unit="ms")
    for module in ("langchain_localkit", "langchain_community.llms", "langchain_core"):
        try:
            stats = _median_of(lambda m=module: cost(m), rounds)  # type: ignore[misc]
        except subprocess.CalledProcessError:
            continue
        result.rows.append({"module": module, **{f"{k}_ms": v for k, v in stats.items()}})
    return result


def main() -> None:
    from langchain_localkit.testing import gemma_model_path
    from langchain_localkit.testing.minilm import minilm_gguf_path

    for r in (
        prefix_reuse_scenario(gemma_model_path()),
        concurrency_scenario(gemma_model_path()),
        embeddings_scenario(minilm_gguf_path()),
        import_scenario(),
    ):
        print(json.dumps(r.__dict__, indent=1, default=str))


if __name__ == "__main__":
    main()
