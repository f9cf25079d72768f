"""`_core/reasoning`: the switch's values, the thought formats, the streaming splitter."""

from __future__ import annotations

import pytest

from langchain_localkit._core.generation import GenerationInfo, ReasoningDelta, TextDelta
from langchain_localkit._core.reasoning import (
    HARMONY,
    MISTRAL_THINK,
    THINK,
    ThoughtFormat,
    ThoughtSplitter,
    check_reasoning,
    keeps_thoughts,
    opens_thought,
    skip_thought,
    split_items,
    thought_format_in_template,
)
from langchain_localkit._core.timings import Timings

Events = list[TextDelta | ReasoningDelta]


def _whole(fmt: ThoughtFormat, text: str, **kw: bool) -> tuple[Events, ThoughtSplitter]:
    s = ThoughtSplitter(fmt, **kw)
    return [*s.feed(text), *s.flush()], s


def _by_char(fmt: ThoughtFormat, text: str, **kw: bool) -> tuple[Events, ThoughtSplitter]:
    s = ThoughtSplitter(fmt, **kw)
    out: Events = []
    for ch in text:
        out += s.feed(ch)
    return [*out, *s.flush()], s


def _joined(events: Events) -> tuple[str, str]:
    thought = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    return thought, answer


CASES = [
    # (format, reply, opened, (thought, answer))
    (THINK, "<think>\nhmm, Paris\n</think>\n\nParis.", False, ("hmm, Paris", "Paris.")),
    (THINK, "  \n<think> a \n\n b </think>\n\n the answer ", False, ("a \n\n b", "the answer ")),
    (
        THINK,
        "Paris. <think>not a thought</think>",
        False,
        ("", "Paris. <think>not a thought</think>"),
    ),
    (THINK, "\n\n<think></think>\n\nanswer", False, ("", "answer")),
    (THINK, "<think>\nnever closes", False, ("never closes", "")),
    (THINK, "<thi", False, ("", "<thi")),
    (THINK, "<", False, ("", "<")),
    (THINK, "", False, ("", "")),
    (THINK, "plain answer", False, ("", "plain answer")),
    (THINK, "\n inside already\n</think>\n\nout", True, ("inside already", "out")),
    (THINK, "no close in an opened reply", True, ("no close in an opened reply", "")),
    (THINK, "</think>\n\nanswer only", True, ("", "answer only")),
    (THINK, "<think>a </ b</thin</think>c", False, ("a </ b</thin", "c")),
    (MISTRAL_THINK, "[THINK]hm[/THINK]ok", False, ("hm", "ok")),
    (
        HARMONY,
        "<|channel|>analysis<|message|>We think hard.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Paris.<|return|>",
        False,
        ("We think hard.", "Paris."),
    ),
    (HARMONY, "plain answer", False, ("", "plain answer")),
    (
        HARMONY,
        "<|channel|>analysis<|message|>a <|b|> c<|end|><|start|>assistant<|channel|>final"
        "<|message|>x<y<|return|>ignored",
        False,
        ("a <|b|> c", "x<y"),
    ),
]


@pytest.mark.parametrize(("fmt", "reply", "opened", "expected"), CASES)
def test_pieces_of_any_size_split_alike(
    fmt: ThoughtFormat, reply: str, opened: bool, expected: tuple[str, str]
) -> None:
    whole, _ = _whole(fmt, reply, opened=opened)
    chars, _ = _by_char(fmt, reply, opened=opened)
    assert _joined(whole) == expected
    assert _joined(chars) == expected
    for events in (whole, chars):
        assert all(e.text for e in events)  # never an empty piece


@pytest.mark.parametrize(("fmt", "reply", "opened", "expected"), CASES)
def test_keep_false_drops_the_thoughts_only(
    fmt: ThoughtFormat, reply: str, opened: bool, expected: tuple[str, str]
) -> None:
    events, splitter = _by_char(fmt, reply, opened=opened, keep=False)
    assert _joined(events) == ("", expected[1])
    assert splitter.thought == expected[0]


def test_markers_are_held_back_only_while_they_may_form() -> None:
    s = ThoughtSplitter(THINK)
    assert s.feed("<thi") == []
    assert s.feed("nk>a") == [ReasoningDelta("a")]
    assert s.in_thought
    assert s.feed("b</th") == [ReasoningDelta("b")]
    assert s.feed("ink>") == []
    assert not s.in_thought
    assert s.feed("\n\nok") == [TextDelta("ok")]


def test_trailing_whitespace_in_a_thought_shows_only_when_more_follows() -> None:
    s = ThoughtSplitter(THINK, opened=True)
    assert s.feed("a \n") == [ReasoningDelta("a")]
    assert s.feed("b") == [ReasoningDelta(" \nb")]
    assert s.feed(" \n</think>\n") == []
    assert [*s.feed("\n x"), *s.flush()] == [TextDelta("x")]


def test_thought_pieces_count_the_pieces_that_were_thought() -> None:
    s = ThoughtSplitter(THINK)
    for piece in ["<think>", "a", " b", "</think>", "\n\n", "c", " d"]:
        s.feed(piece)
    s.flush()
    assert s.thought_pieces == 3  # "a", " b", "</think>" (fed while inside the thought)
    _, harmony = _by_char(HARMONY, CASES[14][1])
    assert harmony.thought_pieces > 0 and harmony.thought == "We think hard."


def _info() -> GenerationInfo:
    return GenerationInfo("stop", "eos", 3, 5, Timings(), "m.gguf")


def test_split_items_sets_the_reasoning_tokens() -> None:
    items = ["<think>", "a", "</think>", "b", _info()]
    out = list(split_items(iter(items), ThoughtSplitter(THINK)))
    assert out[:2] == [ReasoningDelta("a"), TextDelta("b")]
    info = out[-1]
    assert isinstance(info, GenerationInfo) and info.reasoning_tokens == 2
    assert info.usage()["output_token_details"] == {"reasoning": 2}


def test_split_items_flushes_a_held_marker_at_the_end() -> None:
    out = list(split_items(iter(["ok <", _info()]), ThoughtSplitter(THINK)))
    assert out[0] == TextDelta("ok <") and out[1].reasoning_tokens == 0


def test_split_items_without_a_splitter_passes_text_through() -> None:
    out = list(split_items(iter(["<think>", "", "x", _info()]), None))
    assert out[:2] == [TextDelta("<think>"), TextDelta("x")]
    assert "output_token_details" not in out[2].usage()


@pytest.mark.parametrize("value", [True, False, None, "low", "medium", "high"])
def test_valid_values(value: object) -> None:
    assert check_reasoning(value) == value


def test_effort_levels_are_normalised() -> None:
    assert check_reasoning(" HIGH ") == "high"


@pytest.mark.parametrize("value", ["max", "", "true", 1, 0.5, ["high"]])
def test_invalid_values_say_what_is_valid(value: object) -> None:
    with pytest.raises(ValueError, match=r"reasoning=.* is not valid.*'low', 'medium', 'high'"):
        check_reasoning(value)


def test_keeps_thoughts() -> None:
    assert [keeps_thoughts(v) for v in (True, "low", False, None)] == [True, True, False, False]


def test_formats_in_templates() -> None:
    assert thought_format_in_template(None) is None
    assert thought_format_in_template("{{ messages }}") is None
    assert thought_format_in_template("{{ c.split('</think>')[-1] }}") is THINK
    assert thought_format_in_template("[THINK]{{ t }}[/THINK]") is MISTRAL_THINK
    assert thought_format_in_template("<|channel|>analysis <think>") is HARMONY
    assert THINK.tagged and MISTRAL_THINK.tagged and not HARMONY.tagged


def test_prompts_that_open_a_thought() -> None:
    assert opens_thought("<|im_start|>assistant\n<think>\n", THINK)
    assert not opens_thought("<|im_start|>assistant\n<think>\n\n</think>\n\n", THINK)
    assert not opens_thought("<|im_start|>assistant\n<think>\n", None)
    assert not opens_thought("<|channel|>analysis<|message|>", HARMONY)
    assert skip_thought("x<think>\n", THINK) == "x<think>\n\n</think>\n\n"
