"""Prompt-lookup speculative decoding on the tiny generated llama: same output, fewer steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from langchain_localkit import ChatLlamaCpp, LlamaCpp
from langchain_localkit._core.generation import GenerationInfo
from langchain_localkit.engines.llamacpp import LlamaCppEngine, LlamaLoadOptions, SamplingParams
from langchain_localkit.engines.llamacpp_speculative import MIN_DRAFT, NgramIndex, next_draft_size

REPEATING = "the cat sat on the mat. the cat sat on the"
PROMPTS = [REPEATING, "hello world hello world hello", "a b c d e f g a b c d"]


@pytest.fixture(scope="module")
def engine(tiny_gguf_path: Path) -> LlamaCppEngine:
    return LlamaCppEngine(LlamaLoadOptions(str(tiny_gguf_path), n_ctx=512))


def run(engine: LlamaCppEngine, prompt: str, **settings: Any) -> tuple[str, GenerationInfo]:
    parts: list[str] = []
    info: GenerationInfo | None = None
    for item in engine.stream(prompt, SamplingParams(**settings)):
        if isinstance(item, str):
            parts.append(item)
        else:
            info = item
    assert info is not None
    return "".join(parts), info


def test_the_index_guesses_what_followed_the_latest_match() -> None:
    index = NgramIndex([1, 2, 3, 9, 1, 2, 4, 5, 1, 2])
    assert index.draft(2) == [4, 5]  # the latest "1 2" was followed by 4 5
    index.extend([4])
    assert index.draft(3) == [5, 1, 2]  # the longest run ("1 2 4") wins over "4" alone


def test_the_index_runs_a_loop_on_and_stays_quiet_without_a_match() -> None:
    assert NgramIndex([7, 8, 7, 8]).draft(5) == [7, 8, 7, 8, 7]
    assert NgramIndex([1, 2, 3]).draft(4) == []
    assert NgramIndex([1, 2, 1]).draft(0) == []
    assert NgramIndex([]).draft(3) == []


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("n_draft", [1, 4, 10])
def test_greedy_output_is_token_for_token_the_same(
    engine: LlamaCppEngine, prompt: str, n_draft: int
) -> None:
    plain, plain_info = run(engine, prompt, temperature=0.0, max_tokens=120)
    fast, info = run(engine, prompt, temperature=0.0, max_tokens=120, prompt_lookup=n_draft)
    assert fast == plain
    assert info.completion_tokens == plain_info.completion_tokens == 120
    assert info.finish_reason == plain_info.finish_reason
    assert info.timings.draft_tokens > 0
    assert plain_info.timings.draft_tokens == 0


def test_guesses_are_kept_and_counted(engine: LlamaCppEngine) -> None:
    _, info = run(engine, REPEATING, temperature=0.0, max_tokens=120, prompt_lookup=8)
    t = info.timings
    assert 0 < t.draft_accepted <= t.draft_tokens
    assert t.draft_acceptance == t.draft_accepted / t.draft_tokens
    assert t.to_dict()["draft_acceptance"] == t.draft_acceptance


@pytest.mark.parametrize("seed", [1, 7, 123])
def test_seeded_sampling_draws_the_same_tokens(engine: LlamaCppEngine, seed: int) -> None:
    settings: dict[str, Any] = {"temperature": 0.9, "seed": seed, "max_tokens": 80}
    plain, _ = run(engine, REPEATING, **settings)
    fast, info = run(engine, REPEATING, prompt_lookup=6, **settings)
    assert fast == plain
    assert info.timings.draft_tokens > 0


def test_stop_strings_max_tokens_and_a_full_context_end_the_same(tiny_gguf_path: Path) -> None:
    small = LlamaCppEngine(LlamaLoadOptions(str(tiny_gguf_path), n_ctx=64))
    for settings in (
        {"max_tokens": 1},
        {"max_tokens": 2},
        {"max_tokens": 0},  # until the context is full
        {"max_tokens": 50, "stop": ("cat",)},
        {"max_tokens": 50, "stop": ("sat on",)},
    ):
        plain, p_info = run(small, REPEATING, temperature=0.0, **settings)
        fast, f_info = run(small, REPEATING, temperature=0.0, prompt_lookup=8, **settings)
        assert (fast, f_info.completion_tokens, f_info.finish_reason, f_info.stop_reason) == (
            plain,
            p_info.completion_tokens,
            p_info.finish_reason,
            p_info.stop_reason,
        ), settings


def test_a_grammar_holds_on_every_kept_guess(engine: LlamaCppEngine) -> None:
    grammar = 'root ::= ("cat" | "sat" | " on" | " the" | " mat")+'
    settings: dict[str, Any] = {"temperature": 0.0, "max_tokens": 40, "grammar": grammar}
    plain, _ = run(engine, REPEATING, **settings)
    fast, _ = run(engine, REPEATING, prompt_lookup=8, **settings)
    assert fast == plain


def test_the_context_is_left_clean_for_the_next_call(engine: LlamaCppEngine) -> None:
    """Rejected guesses leave the KV cache: a later call reusing the prefix is unchanged."""
    follow_up = REPEATING + " mat. the cat"
    run(engine, "unrelated words to clear the cache", temperature=0.0, max_tokens=4)
    expected, _ = run(engine, follow_up, temperature=0.0, max_tokens=60)
    for stop_early in (True, False):
        stream = engine.stream(
            REPEATING, SamplingParams(temperature=0.0, max_tokens=60, prompt_lookup=8)
        )
        for n, _item in enumerate(stream):
            if stop_early and n == 5:
                break
        stream.close()  # type: ignore[attr-defined]
        again, info = run(engine, follow_up, temperature=0.0, max_tokens=60)
        assert again == expected
        assert info.timings.cached_tokens > 0  # the prefix was reused, not re-evaluated


def test_the_faces_take_it_as_a_field_and_a_call_option(tiny_gguf_path: Path) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), temperature=0.0, max_tokens=40)
    fast_llm = LlamaCpp(
        model_path=str(tiny_gguf_path), temperature=0.0, max_tokens=40, prompt_lookup=8
    )
    expected = llm.invoke(REPEATING)
    assert fast_llm.invoke(REPEATING) == expected
    assert llm.invoke(REPEATING, prompt_lookup=8) == expected
    result = fast_llm.generate([REPEATING])
    timings = result.generations[0][0].generation_info["timings"]  # type: ignore[index]
    assert timings["draft_tokens"] > 0

    chat = ChatLlamaCpp(model_path=str(tiny_gguf_path), temperature=0.0, max_tokens=40)
    plain = chat.invoke(REPEATING)
    fast = chat.bind(prompt_lookup=8).invoke(REPEATING)
    assert fast.content == plain.content
    assert fast.response_metadata["timings"]["draft_tokens"] > 0
    assert plain.response_metadata["timings"]["draft_tokens"] == 0


@pytest.mark.parametrize("bad", [-1, "8", 2.5, True])
def test_a_bad_call_option_says_what_to_give(tiny_gguf_path: Path, bad: Any) -> None:
    llm = LlamaCpp(model_path=str(tiny_gguf_path), max_tokens=4)
    with pytest.raises(ValueError, match=r"prompt_lookup=.* is invalid"):
        llm.invoke("hi", prompt_lookup=bad)


def test_a_negative_field_is_refused(tiny_gguf_path: Path) -> None:
    with pytest.raises(ValueError, match="prompt_lookup"):
        LlamaCpp(model_path=str(tiny_gguf_path), prompt_lookup=-2)


def test_a_logits_processor_turns_it_off(engine: LlamaCppEngine) -> None:
    """A processor reads the token history, which holds unchecked guesses during a step."""
    seen: list[int] = []

    def processor(input_ids: Any, scores: Any) -> Any:
        seen.append(len(input_ids))
        return scores

    _, info = run(
        engine,
        REPEATING,
        temperature=0.0,
        max_tokens=10,
        prompt_lookup=8,
        logits_processor=[processor],
    )
    assert info.timings.draft_tokens == 0
    assert seen == sorted(seen) and len(set(seen)) == len(seen)


def test_the_guess_grows_while_kept_and_shrinks_after_a_miss() -> None:
    assert next_draft_size(2, 8, drafted=2, kept=2) == 4
    assert next_draft_size(8, 8, drafted=8, kept=8) == 8  # never past n_draft
    assert next_draft_size(8, 8, drafted=8, kept=5) == 6  # what was kept, and one more
    assert next_draft_size(8, 8, drafted=8, kept=0) == MIN_DRAFT
    assert next_draft_size(1, 1, drafted=1, kept=0) == 1  # MIN_DRAFT never passes n_draft
    assert next_draft_size(4, 8, drafted=0, kept=0) == 4  # nothing to guess: unchanged
    assert next_draft_size(4, 8, drafted=2, kept=2) == 4  # a short guess proves nothing
