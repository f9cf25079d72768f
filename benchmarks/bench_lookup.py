"""Prompt lookup on the recipes' own workloads: RAG answers and a map-reduce summary.

The calls are the ones the recipes make: `local_rag_chain` over the test corpus (MiniLM
embeddings, 3 pieces per question) and `summarize_chain` over the whole corpus with a small
window, so that it maps pieces and then combines their summaries. Their prompts are captured
from a run of the recipe, then each contender makes the same calls in turn, greedy, every
prompt evaluated afresh:

- `raw llama_cpp create_completion(stream)`: the runtime's own call;
- `community LlamaCpp.stream` (when the `compat` extra is installed);
- `localkit LlamaCpp.stream, prompt_lookup=0`: decoding one token at a time;
- `localkit LlamaCpp.stream, prompt_lookup=N`: the recipes' default.

Tokens per second count each contender's generated tokens (the runtime's tokenizer over its
text) over the wall time from each call's first token to its last; a row also says whether
every reply is the raw call's text, and how many guessed tokens were kept. The recipes
themselves are then run with and without prompt lookup, and their answers compared.

Run alone with `python -m benchmarks.bench_lookup [--rounds N]`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.harness import Contender, Sample, ScenarioResult, run_interleaved

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

ANSWER_TOKENS = 96
SUMMARY_TOKENS = 96
SUMMARY_WINDOW = 640
QUESTIONS = 3


def _handler(sent: list[str], timings: list[dict[str, Any]]) -> Any:
    """A callback handler keeping the prompts a model is sent and the timings it reports."""
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.outputs import LLMResult

    class Handler(BaseCallbackHandler):
        def on_llm_start(
            self, serialized: dict[str, Any], prompts: list[str], **kwargs: Any
        ) -> None:
            sent.extend(prompts)

        def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
            for generation in response.generations[0]:
                timings.append((generation.generation_info or {}).get("timings", {}))

    return Handler()


Recipe = Callable[["RunnableConfig"], list[str]]


def _recipes(llm: Any, minilm: Path) -> dict[str, tuple[int, Callable[[int], Recipe]]]:
    """Per workload: its output limit, and its recipe for a `prompt_lookup` (config -> replies)."""
    from langchain_localkit import LlamaCppEmbeddings
    from langchain_localkit.chains import local_rag_chain, summarize_chain
    from langchain_localkit.testing.corpus import DOCUMENTS
    from langchain_localkit.testing.corpus import QUESTIONS as CORPUS_QUESTIONS

    embeddings = LlamaCppEmbeddings(model_path=str(minilm))
    embeddings.embed_query("load the embedding model before anything is timed")
    questions = [q for q, _ in CORPUS_QUESTIONS[:QUESTIONS]]
    text = "\n\n".join(d.page_content for d in DOCUMENTS)

    def rag(prompt_lookup: int) -> Recipe:
        chain = local_rag_chain(
            llm.bind(max_tokens=ANSWER_TOKENS),
            embeddings,
            DOCUMENTS,
            k=3,
            prompt_lookup=prompt_lookup,
        )
        return lambda config: [chain.invoke(q, config)["answer"] for q in questions]

    def summary(prompt_lookup: int) -> Recipe:
        chain = summarize_chain(
            llm,
            context_window_tokens=SUMMARY_WINDOW,
            max_summary_tokens=SUMMARY_TOKENS,
            prompt_lookup=prompt_lookup,
        )
        return lambda config: [chain.invoke(text, config)]

    return {"RAG answers": (ANSWER_TOKENS, rag), "map-reduce summary": (SUMMARY_TOKENS, summary)}


def _replay(
    prompts: list[str], stream: Callable[[str], Iterator[str]], count: Callable[[str], int]
) -> tuple[Sample, list[str]]:
    """Each prompt's reply streamed in turn: summed tokens and times, and the replies."""
    decode_tokens, decode_s, ttft_s, cpu_s = 0, 0.0, 0.0, 0.0
    replies = []
    for prompt in prompts:
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        first: float | None = None
        parts = []
        for piece in stream(prompt):
            if first is None:
                first = time.perf_counter()
            parts.append(piece)
        end = time.perf_counter()
        first = first or end
        reply = "".join(parts)
        replies.append(reply)
        decode_tokens += max(count(reply) - 1, 0)
        decode_s += end - first
        ttft_s += first - t0
        cpu_s += time.process_time() - cpu0
    return Sample(decode_tokens, decode_s, ttft_s, cpu_s=cpu_s), replies


def _community(path: Path) -> Any:
    try:
        from langchain_community.llms import LlamaCpp as CommunityLlamaCpp
    except ImportError:
        return None
    return CommunityLlamaCpp(
        model_path=str(path),
        n_ctx=2048,
        n_batch=512,
        rope_freq_base=0.0,  # its default 10000 would change the model (wrong RoPE)
        rope_freq_scale=0.0,
        temperature=0,
        repeat_penalty=1.0,
        max_tokens=256,
        verbose=False,
    )


def _scenario(
    ours: Any,
    community: Any,
    workload: str,
    max_tokens: int,
    build: Callable[[int], Recipe],
    *,
    draft: int,
    rounds: int,
) -> ScenarioResult:
    """One model and workload: the recipe with and without, then the contenders replayed."""
    llama = ours.client
    prompts: list[str] = []
    timings: list[dict[str, Any]] = []
    llama.reset()
    started = time.perf_counter()
    recipe_off = build(0)({"callbacks": [_handler(prompts, timings)]})
    off_s = time.perf_counter() - started
    llama.reset()
    timings.clear()
    started = time.perf_counter()
    recipe_on = build(draft)({"callbacks": [_handler([], timings)]})
    on_s = time.perf_counter() - started
    drafted = sum(t.get("draft_tokens", 0) for t in timings)
    kept = sum(t.get("draft_accepted", 0) for t in timings)

    def count(text: str) -> int:
        return len(llama.tokenize(text.encode(), add_bos=False, special=False))

    def raw(prompt: str) -> Iterator[str]:
        llama.reset()
        for chunk in llama.create_completion(
            prompt, max_tokens=max_tokens, temperature=0, repeat_penalty=1.0, stream=True
        ):
            yield chunk["choices"][0]["text"]

    def ours_with(lookup: int) -> Callable[[str], Iterator[str]]:
        def stream(prompt: str) -> Iterator[str]:
            llama.reset()
            yield from ours.stream(prompt, max_tokens=max_tokens, prompt_lookup=lookup)

        return stream

    def community_stream(prompt: str) -> Iterator[str]:
        community.client.reset()
        yield from community.stream(prompt, max_tokens=max_tokens)

    runs: list[tuple[str, str, Callable[[str], Iterator[str]]]] = [
        ("raw", "raw llama_cpp create_completion(stream)", raw)
    ]
    if community is not None:
        runs.append(("community", "community LlamaCpp.stream", community_stream))
    runs += [
        ("off", "localkit LlamaCpp.stream, prompt_lookup=0", ours_with(0)),
        ("on", f"localkit LlamaCpp.stream, prompt_lookup={draft}", ours_with(draft)),
    ]
    replies: dict[str, list[str]] = {}

    def contender(key: str, name: str, stream: Callable[[str], Iterator[str]]) -> Contender:
        def run() -> Sample:
            sample, texts = _replay(prompts, stream, count)
            if replies.setdefault(key, texts) != texts:
                replies[key] = ["(the replies changed between rounds)"]
            return sample

        return Contender(name, run)

    result = run_interleaved(
        f"prompt lookup, {workload}, {Path(llama.model_path).name}, {len(prompts)} calls, greedy",
        [contender(*run) for run in runs],
        rounds=rounds,
    )
    for row, (key, _, _) in zip(result.rows, runs, strict=True):
        row["same_text_as_raw"] = replies[key] == replies["raw"]
    result.rows[-1].update(
        {
            "workload": workload,
            "draft_tokens": drafted,
            "draft_accepted": kept,
            "recipe_s_off": off_s,
            "recipe_s_on": on_s,
            "recipe_same_reply": recipe_on == recipe_off,
            "recipe_tokens_off": sum(count(r) for r in recipe_off),
            "recipe_tokens_on": sum(count(r) for r in recipe_on),
        }
    )
    same = ", ".join(f"{k} {replies[k] == replies['raw']}" for k, _, _ in runs[1:])
    result.notes.append(
        f"the recipe itself: {off_s:.1f} s without prompt lookup, {on_s:.1f} s with it "
        f"({kept} of {drafted} guessed tokens kept; replies of "
        f"{result.rows[-1]['recipe_tokens_off']} and {result.rows[-1]['recipe_tokens_on']} "
        f"tokens); same replies with and without: "
        f"{recipe_on == recipe_off}; every reply the raw call's text: {same}"
    )
    return result


def lookup_scenarios(
    models: Sequence[Path], minilm: Path, *, rounds: int = 3, n_draft: int | None = None
) -> list[ScenarioResult]:
    """Per model and workload, the contenders interleaved; see the module's docstring."""
    from langchain_localkit import LlamaCpp
    from langchain_localkit.chains import RECIPE_PROMPT_LOOKUP

    results = []
    for path in models:
        ours = LlamaCpp(model_path=str(path), n_ctx=2048, temperature=0, max_tokens=256)
        community = _community(path)
        for workload, (max_tokens, build) in _recipes(ours, minilm).items():
            results.append(
                _scenario(
                    ours,
                    community,
                    workload,
                    max_tokens,
                    build,
                    draft=n_draft or RECIPE_PROMPT_LOOKUP,
                    rounds=rounds,
                )
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_lookup")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--draft", type=int, default=None, help="guessed tokens per step")
    args = parser.parse_args()
    from benchmarks.harness import print_table
    from langchain_localkit.testing import gemma_model_path, smollm2_model_path
    from langchain_localkit.testing.minilm import minilm_gguf_path

    models = [smollm2_model_path(), gemma_model_path()]
    for result in lookup_scenarios(
        models, minilm_gguf_path(), rounds=args.rounds, n_draft=args.draft
    ):
        print_table(result)


if __name__ == "__main__":
    main()
