import pytest

from langchain_localkit import Timings


def test_rates_are_tokens_over_time() -> None:
    t = Timings(prompt_tokens=12, prompt_ms=40.0, eval_tokens=64, eval_ms=1000.0)
    assert t.eval_tokens_per_second == pytest.approx(64.0)
    assert t.prompt_tokens_per_second == pytest.approx(300.0)
    assert t.eval_ms_per_token == pytest.approx(15.625)
    assert t.prompt_ms_per_token == pytest.approx(40.0 / 12)


def test_rates_are_none_without_work() -> None:
    t = Timings()
    assert t.eval_tokens_per_second is None
    assert t.prompt_tokens_per_second is None
    assert t.eval_ms_per_token is None


def test_dict_round_trip_keeps_fields_and_adds_rates() -> None:
    t = Timings(
        prompt_tokens=3, prompt_ms=6.0, eval_tokens=5, eval_ms=10.0, load_ms=7.5, source="x"
    )
    d = t.to_dict()
    assert d["eval_tokens_per_second"] == pytest.approx(500.0)
    assert d["prompt_tokens_per_second"] == pytest.approx(500.0)
    assert Timings.from_dict(d) == t


def test_from_llama_server_timings() -> None:
    server = {
        "cache_n": 4,
        "prompt_n": 10,
        "prompt_ms": 20.0,
        "prompt_per_token_ms": 2.0,
        "prompt_per_second": 500.0,
        "predicted_n": 32,
        "predicted_ms": 400.0,
        "predicted_per_token_ms": 12.5,
        "predicted_per_second": 80.0,
    }
    t = Timings.from_llama_server(server, ttft_ms=25.0)
    assert (t.prompt_tokens, t.prompt_ms, t.eval_tokens, t.eval_ms, t.cached_tokens) == (
        10,
        20.0,
        32,
        400.0,
        4,
    )
    assert t.eval_tokens_per_second == pytest.approx(server["predicted_per_second"])
    assert t.prompt_tokens_per_second == pytest.approx(server["prompt_per_second"])
    assert t.ttft_ms == 25.0
    assert t.source == "llama.cpp server"


def test_from_ollama_converts_nanoseconds() -> None:
    final = {
        "done": True,
        "total_duration": 10706818083,
        "load_duration": 6338219291,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 130079000,
        "eval_count": 259,
        "eval_duration": 4232710000,
    }
    t = Timings.from_ollama(final)
    assert t.prompt_tokens == 26
    assert t.prompt_ms == pytest.approx(130.079)
    assert t.eval_tokens == 259
    assert t.eval_ms == pytest.approx(4232.71)
    assert t.load_ms == pytest.approx(6338.219291)
    assert t.total_ms == pytest.approx(10706.818083)
    # the docs' formula: tokens/s = eval_count / eval_duration * 1e9
    assert t.eval_tokens_per_second == pytest.approx(259 / 4232710000 * 1e9)


def test_from_ollama_tolerates_missing_metrics() -> None:
    t = Timings.from_ollama({"done": True, "done_reason": "load"})
    assert t.eval_tokens == 0
    assert t.load_ms is None
    assert t.total_ms is None


def test_report_has_llama_cpp_layout() -> None:
    t = Timings(
        prompt_tokens=8, prompt_ms=40.0, eval_tokens=40, eval_ms=500.0, load_ms=550.0, ttft_ms=45.0
    )
    lines = t.report().splitlines()
    assert lines[0] == "localkit_timings:        load time =     550.00 ms"
    assert lines[1] == (
        "localkit_timings: prompt eval time =      40.00 ms /     8 tokens "
        "(    5.00 ms per token,   200.00 tokens per second)"
    )
    assert lines[2] == (
        "localkit_timings:        eval time =     500.00 ms /    40 runs   "
        "(   12.50 ms per token,    80.00 tokens per second)"
    )
    assert lines[3] == "localkit_timings: time to first token =   45.00 ms"
    assert lines[4] == "localkit_timings:       total time =     540.00 ms /    48 tokens"


def test_report_mentions_cached_prompt_tokens() -> None:
    t = Timings(prompt_tokens=2, prompt_ms=4.0, cached_tokens=30, eval_tokens=1, eval_ms=10.0)
    assert "30 cached" in t.report()
