"""docs/openai-compatible.md says what the presets say."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_localkit.engines.http.servers import PRESETS

PAGE = (Path(__file__).parents[3] / "docs" / "openai-compatible.md").read_text(encoding="utf-8")


def _row(name: str) -> str:
    rows = [line for line in PAGE.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, name
    return rows[0]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_preset_table_matches_the_preset(name: str) -> None:
    preset = PRESETS[name]
    cells = [c.strip() for c in _row(name).split("|")[1:-1]]
    assert f"`{preset.reasoning_fields[0]}`" in cells[1] or preset.name == "koboldcpp"
    assert cells[2].startswith("yes" if preset.tools else "no")
    assert cells[3].startswith("yes" if preset.tool_choice_required else "no")
    assert ("`json_schema`" in cells[4]) == preset.json_schema
    assert ("`json_object`" in cells[4]) == preset.json_object
    assert cells[5] == (f"`{preset.grammar_field}`" if preset.grammar_field else "none")
    assert cells[6] == ("yes" if preset.stream_usage else "no")
    assert (cells[7] == "llama.cpp's") == preset.timings


@pytest.mark.parametrize("name", sorted(set(PRESETS) - {"generic", "jan"}))
def test_every_start_command_is_on_the_page(name: str) -> None:
    start = PRESETS[name].start.split("  (")[0]
    assert f"`{start}`" in PAGE, start
