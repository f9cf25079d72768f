"""The family registry: data, validation, duplicates, user families."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_localkit._core.errors import TemplateError
from langchain_localkit.prompts import (
    BUILTIN_FAMILIES,
    FAMILIES,
    FamilyRegistry,
    ModelFamily,
    get_family,
    list_families,
    register_family,
    render_chat,
    unregister_family,
)

BUILTIN_NAMES = {
    "llama2",
    "llama3",
    "chatml",
    "gemma",
    "mistral",
    "phi3",
    "zephyr",
    "vicuna",
    "alpaca",
    "deepseek",
    "deepseek-coder",
    "gpt-oss",
}


def _family(name: str = "test-fam", **kw: object) -> ModelFamily:
    base: dict[str, object] = {
        "template": "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}",
        "control_strings": ("[user]", "[assistant]"),
    }
    base.update(kw)
    return ModelFamily(name=name, **base)  # type: ignore[arg-type]


@pytest.fixture
def registry() -> Iterator[FamilyRegistry]:
    yield FAMILIES
    for name in ("test-fam", "test-fam-2"):
        if name in FAMILIES and not FAMILIES.is_builtin(name):
            unregister_family(name)


def test_builtin_families() -> None:
    assert {f.name for f in BUILTIN_FAMILIES} == BUILTIN_NAMES
    for fam in BUILTIN_FAMILIES:
        assert FAMILIES.is_builtin(fam.name)
        assert fam.description
        assert fam.eos
        assert fam.name_patterns or fam.finetune_patterns
        assert fam.template_markers
    assert not get_family("gemma").supports_system
    assert not get_family("mistral").supports_system
    assert get_family("llama2").supports_system
    assert get_family("chatml").supports_tools


def test_special_tokens_of_the_issue() -> None:
    assert get_family("llama2").bos == "<s>"
    assert "[/INST]" in get_family("llama2").control_strings
    assert "<|im_end|>" in get_family("chatml").control_strings
    assert "<end_of_turn>" in get_family("gemma").control_strings
    assert get_family("gemma").bos == "<bos>"
    assert get_family("llama3").bos == "<|begin_of_text|>"
    assert "<|channel|>" in get_family("gpt-oss").control_strings
    assert get_family("gpt-oss").stop == ("<|return|>", "<|call|>")


def test_lookup_by_alias_is_case_insensitive() -> None:
    assert get_family("LLaMA-2") is get_family("llama2")
    assert get_family("Qwen") is get_family("chatml")
    assert get_family("Harmony") is get_family("gptoss") is get_family("gpt-oss")
    assert get_family(get_family("gemma")) is get_family("gemma")
    with pytest.raises(ValueError, match=r"Known families: .*llama2"):
        get_family("nope")
    assert "qwen" in FAMILIES
    assert 3 not in FAMILIES
    assert FAMILIES.find(3) is None  # type: ignore[arg-type]


def test_register_and_unregister(registry: FamilyRegistry) -> None:
    fam = register_family(_family(aliases=("tf",)))
    assert get_family("TF") is fam
    assert list_families()[0] is fam  # yours are checked first
    assert len(FAMILIES) == len(BUILTIN_FAMILIES) + 1
    assert "test-fam" in registry.names()
    assert unregister_family("tf") is fam
    assert "test-fam" not in FAMILIES
    assert "tf" not in FAMILIES
    with pytest.raises(ValueError, match="Unknown model family"):
        unregister_family("test-fam")


def test_duplicates_are_refused(registry: FamilyRegistry) -> None:
    register_family(_family())
    with pytest.raises(ValueError, match="already registered"):
        register_family(_family())
    with pytest.raises(ValueError, match="already names the model family 'llama2'"):
        register_family(_family("test-fam-2", aliases=("llama-2",)))
    with pytest.raises(ValueError, match="already names"):
        register_family(_family("llama-2"))
    replaced = register_family(_family(stop=("x",)), overwrite=True)
    assert get_family("test-fam") is replaced


def test_overwriting_a_builtin(registry: FamilyRegistry) -> None:
    original = get_family("vicuna")
    order = FAMILIES.names()
    mine = register_family(_family("vicuna", aliases=("vicuna-v1.1",)), overwrite=True)
    try:
        assert get_family("vicuna") is mine
        assert not FAMILIES.is_builtin("vicuna")
        assert FAMILIES.names()[0] == "vicuna"  # now checked first, as a user family
        assert render_chat([HumanMessage("Hi")], "vicuna").prompt == "[user]Hi"
    finally:
        FAMILIES.unregister("vicuna")
        FAMILIES.register(original, builtin=True)
        FAMILIES._builtin_order[:] = [n for n in order if FAMILIES.is_builtin(n)]
    assert get_family("vicuna") is original
    assert FAMILIES.names() == order


def test_validation() -> None:
    with pytest.raises(ValueError, match="Invalid family name"):
        _family("Bad Name!")
    with pytest.raises(ValueError, match="non-empty Jinja"):
        _family(template="  ")
    with pytest.raises(ValueError, match="bad name pattern"):
        _family(name_patterns=("(",))
    with pytest.raises(ValueError, match="non-empty strings"):
        _family(stop=("",))
    with pytest.raises(ValueError, match="system_fold"):
        _family(system_fold="middle")
    with pytest.raises(ValueError, match="marker group"):
        _family(template_markers=((),))
    with pytest.raises(TypeError):
        register_family("llama2")  # type: ignore[arg-type]


def test_template_must_compile_to_register(registry: FamilyRegistry) -> None:
    with pytest.raises(TemplateError, match="not valid Jinja"):
        register_family(_family(template="{% if %}"))
    assert "test-fam" not in FAMILIES


def test_names_are_normalised_and_lists_become_tuples() -> None:
    fam = _family("  Test-Fam ", stop=["a"], aliases=["X"], template_markers=[["m"]])
    assert fam.name == "test-fam"
    assert fam.stop == ("a",)
    assert fam.aliases == ("x",)
    assert fam.template_markers == (("m",),)
    assert fam.all_control_strings == ("[user]", "[assistant]")
    with_bos = _family(bos="<b>", eos="</b>")
    assert with_bos.all_control_strings == ("[user]", "[assistant]", "<b>", "</b>")


def test_user_family_without_system_role_folds_it(registry: FamilyRegistry) -> None:
    fam = register_family(
        _family(supports_system=False, system_fold="last_user", system_separator=" | ")
    )
    msgs = [SystemMessage("S"), HumanMessage("A"), HumanMessage("B")]
    assert render_chat(msgs, fam).prompt == "[user]A[user]S | B"
    fam2 = _family(supports_system=False)
    assert render_chat(msgs, fam2).prompt == "[user]S | A[user]B".replace(" | ", "\n\n")


def test_user_family_tool_result_format() -> None:
    from langchain_core.messages import AIMessage, ToolMessage

    fam = _family(tool_result_format="<<{name}#{tool_call_id}>> {content}")
    msgs = [
        AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "7"}]),
        ToolMessage("ok", tool_call_id="7"),
    ]
    assert (
        render_chat(msgs, fam).prompt == '[assistant]{"name": "f", "arguments": {}}[user]<<f#7>> ok'
    )


def _template_files() -> dict[str, str]:
    folder = resources.files("langchain_localkit.prompts") / "chat_templates"
    return {
        f.name.removesuffix(".jinja"): f.read_text(encoding="utf-8")
        for f in folder.iterdir()
        if f.name.endswith(".jinja")
    }


def test_builtin_templates_are_package_data_with_a_source() -> None:
    files = _template_files()
    for fam in BUILTIN_FAMILIES:
        text = files.pop(fam.name)
        header, _, body = text.partition("#}\n")
        assert header.startswith("{#")
        assert f'"{fam.name}" family' in header
        assert re.search(r"https://\S+", header), fam.name
        assert body == fam.template
        assert "{#" not in fam.template
    assert set(files) == {"chatml-standard"}  # a known template, not a family's own
    assert get_family("chatml").known_templates == (files["chatml-standard"].partition("#}\n")[2],)
