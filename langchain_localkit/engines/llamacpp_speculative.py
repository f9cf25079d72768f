"""Prompt-lookup speculative decoding for in-process llama.cpp.

Decoding on a CPU reads every weight once per token, so a step that checks several tokens at
once costs little more than a step that makes one. Prompt lookup guesses the next tokens
without a draft model: it finds the last few tokens earlier in the prompt or the reply and
proposes what followed them there. RAG answers, summaries and extractions copy long spans
of their context, so many guesses are right.

Each step evaluates the pending token and the guess in one batch, then samples every
position in order with the call's own sampler: a guessed token is kept while it equals what
the sampler picks, and the first sample that differs replaces the rest of the guess. Every
kept token is a sample of the model at its position, and with a seed the sampler draws the
same random numbers in the same order, so the output is that of decoding one token at a
time up to arithmetic: llama.cpp's kernels for a batch of tokens may round differently from
its kernels for one token (on quantized models they do), and where two candidates are that
close the reply can take the other one. The tests check token-for-token equality on the
tiny float32 model, where the rounding is the same; the benchmark compares replies with the
raw runtime's on the packaged quantized models.

Why not llama-cpp-python's `draft_model=LlamaPromptLookupDecoding(...)`: it needs
`logits_all=True`, which allocates a float32 row of the vocabulary for every context
position (2 GiB for Gemma 3's 262,144 tokens at `n_ctx=2048`) and copies all logits out of
llama.cpp on every step; it cannot be turned on per call on a shared model; and it reports
nothing about how many guesses were kept.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

MAX_NGRAM = 3
"""Longest run of recent tokens looked up; shorter runs are tried when it is not found."""

MIN_NGRAM = 1
"""Shortest run looked up."""

MIN_DRAFT = 2
"""Fewest guessed tokens checked after a miss: a batch of 3 costs about what 1 token does."""


class NgramIndex:
    """Where each short run of tokens last occurred, updated as tokens are added.

    `draft(n)` proposes the `n` tokens that followed the most recent earlier occurrence of
    the longest run (of `MIN_NGRAM` .. `MAX_NGRAM` tokens) that ends the sequence.

    Example:
        >>> index = NgramIndex([5, 6, 7, 8, 9, 5, 6])
        >>> index.draft(3)
        [7, 8, 9]
        >>> NgramIndex([1, 2, 1, 2]).draft(5)
        [1, 2, 1, 2, 1]
    """

    def __init__(self, tokens: Sequence[int] = ()) -> None:
        self.tokens: list[int] = []
        self._next: dict[tuple[int, ...], int] = {}
        self.extend(tokens)

    def extend(self, tokens: Sequence[int]) -> None:
        """Append `tokens`, indexing the runs that end just before each of them."""
        seq = self.tokens
        index = self._next
        for token in tokens:
            end = len(seq)
            for n in range(MIN_NGRAM, min(MAX_NGRAM, end) + 1):
                index[tuple(seq[end - n : end])] = end
            seq.append(token)

    def draft(self, n: int) -> list[int]:
        """Up to `n` tokens that followed the latest earlier match of the sequence's tail."""
        seq = self.tokens
        end = len(seq)
        if n <= 0:
            return []
        for size in range(min(MAX_NGRAM, end - 1), MIN_NGRAM - 1, -1):
            start = self._next.get(tuple(seq[end - size :]))
            if start is not None:
                # A match close to the end repeats itself: the guess runs on into its own
                # tokens, so a loop such as "a.a.a." is guessed `n` tokens ahead.
                guess = seq[start : min(start + n, end)]
                while len(guess) < n:
                    guess.append(guess[len(guess) - (end - start)])
                return guess
        return []


def next_draft_size(size: int, n_draft: int, drafted: int, kept: int) -> int:
    """How many tokens to guess next, after `kept` of `drafted` guessed tokens were kept.

    Each guessed token costs a few percent of a step even when it is wrong, so the guess
    doubles (up to `n_draft`) while whole guesses of the current size are kept, and falls
    back to what was kept (at least `MIN_DRAFT`) after a miss.

    Example:
        >>> next_draft_size(2, 8, drafted=2, kept=2), next_draft_size(8, 8, drafted=8, kept=3)
        (4, 4)
    """
    if kept < drafted:
        return min(n_draft, max(MIN_DRAFT, kept + 1))
    if drafted == size:
        return min(n_draft, 2 * size)
    return size


@dataclass
class DraftStats:
    """How many guessed tokens were checked and how many of them were kept."""

    drafted: int = 0
    accepted: int = 0


def speculative_tokens(
    llm: Any,
    tokens: list[int],
    sampler: dict[str, Any],
    *,
    n_draft: int,
    budget: int,
    stats: DraftStats,
) -> Generator[int, None, None]:
    """Sampled tokens after `tokens`, checking up to `n_draft` looked-up tokens per step.

    Args:
        llm: The `llama_cpp.Llama` this call holds.
        tokens: The prompt.
        sampler: `Llama.generate`'s sampling arguments (no `logits_processor`: it reads the
            token history, which holds unchecked guesses during a step).
        n_draft: Most guessed tokens checked per step.
        budget: Most tokens the caller will take; no guess reaches past it.
        stats: Counts guessed and kept tokens.

    Yields:
        Token ids, as `Llama.generate` does; the caller stops by closing the generator.

    The guess length adapts (`next_draft_size`); what is sampled does not depend on it.
    """
    first_step = llm.generate(tokens, **sampler)
    try:
        token = next(first_step)
    finally:
        first_step.close()
    smpl = llm._sampler
    ctx = llm._ctx
    batch = llm._batch
    n_ctx = min(int(llm.n_ctx()), int(llm.input_ids.shape[0]))
    index = NgramIndex(tokens)
    produced = 0
    kept = llm.n_tokens
    size = n_draft
    try:
        while True:
            produced += 1
            yield token
            index.extend((token,))
            room = min(n_ctx - llm.n_tokens - 1, budget - produced - 1, int(llm.n_batch) - 1)
            draft = index.draft(min(size, room)) if room > 0 else []
            step = [token, *draft]
            n_past = llm.n_tokens
            batch.set_batch(batch=step, n_past=n_past, logits_all=True)
            ctx.decode(batch)
            llm.input_ids[n_past : n_past + len(step)] = step
            llm.n_tokens = n_past + len(step)
            llm._requires_eval = False
            kept = n_past + 1
            stats.drafted += len(draft)
            for i, guess in enumerate(draft):
                token = smpl.sample(ctx, i)
                if token != guess:
                    size = next_draft_size(size, n_draft, len(draft), i)
                    break
                stats.accepted += 1
                kept += 1
                produced += 1
                yield token
                index.extend((token,))
            else:
                token = smpl.sample(ctx, len(draft))
                size = next_draft_size(size, n_draft, len(draft), len(draft))
                continue
            _trim(llm, kept)
    finally:
        if llm.n_tokens > kept:
            _trim(llm, kept)


def _trim(llm: Any, n: int) -> None:
    """Forget evaluated tokens from position `n` on (the rejected part of a guess)."""
    llm._ctx.kv_cache_seq_rm(-1, n, -1)
    llm.n_tokens = n
    llm._requires_eval = True


__all__ = [
    "MAX_NGRAM",
    "MIN_DRAFT",
    "MIN_NGRAM",
    "DraftStats",
    "NgramIndex",
    "next_draft_size",
    "speculative_tokens",
]
