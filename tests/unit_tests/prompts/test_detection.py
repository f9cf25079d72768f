"""Family detection: GGUF template, GGUF metadata, file names, Ollama tags, model objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import FakeListLLM

from langchain_localkit._core.gguf import read_gguf_info
from langchain_localkit.prompts import (
    Detection,
    DetectionSource,
    ModelFamily,
    detect,
    detect_family,
    get_family,
    match_model_name,
    normalize_model_name,
    recognize_template,
    register_family,
    unregister_family,
)

from . import official_templates as official
from ._helpers import CHATML_TEMPLATE, write_gguf

# Real model file names (Hugging Face GGUF repos, GPT4All's catalogue, the source document) and
# Ollama tags, with the family whose prompt format each model was trained on (None: no
# registered family fits, so detection must say "unknown").
DETECTION_TABLE: list[tuple[str, str | None]] = [
    # file names
    ("llama-2-13b-chat.Q4_0.gguf", "llama2"),
    ("llama-2-7b.Q4_K_M.gguf", "llama2"),
    ("codellama-7b-instruct.Q4_K_M.gguf", "llama2"),
    ("openorca-platypus2-13b.gguf.q4_0.bin", "alpaca"),
    ("nous-hermes-13b.ggmlv3.q4_0.bin", "alpaca"),
    ("Nous-Hermes-Llama2-13b.Q4_K_M.gguf", "alpaca"),
    ("ggml-alpaca-7b-q4.bin", "alpaca"),
    ("Meta-Llama-3-8B-Instruct.Q4_K_M.gguf", "llama3"),
    ("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "llama3"),
    ("Llama-3.2-1B-Instruct-Q4_K_M.gguf", "llama3"),
    ("Hermes-3-Llama-3.1-8B.Q4_K_M.gguf", "chatml"),
    ("mistral-7b-instruct-v0.2.Q4_K_M.gguf", "mistral"),
    ("Mistral-7B-Instruct-v0.3.Q4_K_M.gguf", "mistral"),
    ("mixtral-8x7b-instruct-v0.1.Q4_K_M.gguf", "mistral"),
    ("Mistral-Nemo-Instruct-2407-Q4_K_M.gguf", "mistral"),
    ("openhermes-2.5-mistral-7b.Q4_K_M.gguf", "chatml"),
    ("Nous-Hermes-2-Mistral-7B-DPO.Q4_K_M.gguf", "chatml"),
    ("dolphin-2.6-mistral-7b.Q4_K_M.gguf", "chatml"),
    ("mistral-7b-openorca.Q4_0.gguf", "chatml"),
    ("qwen2.5-7b-instruct-q4_k_m.gguf", "chatml"),
    ("Qwen3-8B-Q4_K_M.gguf", "chatml"),
    ("SmolLM2-1.7B-Instruct-Q4_K_M.gguf", "chatml"),
    ("gemma-2-2b-it-Q4_K_M.gguf", "gemma"),
    ("gemma-3-270m-q4_k_m.gguf", "gemma"),
    ("Phi-3-mini-4k-instruct-q4.gguf", "phi3"),
    ("Phi-3.5-mini-instruct-Q4_K_M.gguf", "phi3"),
    ("zephyr-7b-beta.Q4_K_M.gguf", "zephyr"),
    ("tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf", "zephyr"),
    ("stablelm-zephyr-3b.Q4_K_M.gguf", "zephyr"),
    ("vicuna-13b-v1.5.Q4_K_M.gguf", "vicuna"),
    ("wizardlm-13b-v1.2.Q4_0.gguf", "vicuna"),
    ("DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", "deepseek"),
    ("DeepSeek-R1-Distill-Llama-8B-Q4_K_M.gguf", "deepseek"),
    ("deepseek-coder-6.7b-instruct.Q4_K_M.gguf", "deepseek-coder"),
    ("gpt-oss-20b-Q4_K_M.gguf", "gpt-oss"),
    ("openai_gpt-oss-120b-MXFP4.gguf", "gpt-oss"),
    ("orca-mini-3b-gguf2-q4_0.gguf", None),
    ("all-MiniLM-L6-v2-f16.gguf", None),
    # Ollama tags
    ("llama2", "llama2"),
    ("llama2:13b", "llama2"),
    ("codellama:7b-instruct", "llama2"),
    ("llama3", "llama3"),
    ("llama3.1:8b", "llama3"),
    ("llama3.2:1b", "llama3"),
    ("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "llama3"),
    ("gemma3:270m", "gemma"),
    ("gemma2:9b", "gemma"),
    ("mistral:7b", "mistral"),
    ("mixtral:8x7b", "mistral"),
    ("phi3:mini", "phi3"),
    ("phi3.5", "phi3"),
    ("qwen2.5:0.5b", "chatml"),
    ("openhermes", "chatml"),
    ("nous-hermes2:10.7b", "chatml"),
    ("dolphin-mixtral:8x7b", "chatml"),
    ("tinyllama", "zephyr"),
    ("zephyr:7b", "zephyr"),
    ("vicuna:13b", "vicuna"),
    ("wizardlm2:7b", "vicuna"),
    ("deepseek-r1:8b", "deepseek"),
    ("deepseek-coder:6.7b", "deepseek-coder"),
    ("gpt-oss:20b", "gpt-oss"),
    ("hf.co/ggml-org/gpt-oss-20b-GGUF", "gpt-oss"),
    ("phi4", None),
    ("nomic-embed-text", None),
]


def test_the_table_is_large() -> None:
    assert len(DETECTION_TABLE) >= 20
    assert sum(1 for name, _ in DETECTION_TABLE if ":" in name or "." not in name) >= 10


@pytest.mark.parametrize(("name", "expected"), DETECTION_TABLE)
def test_detection_table(name: str, expected: str | None) -> None:
    found = detect_family(name)
    assert (found.name if found else None) == expected
    d = detect(name)
    assert d.known == (expected is not None)
    if expected is None:
        assert d.source == "unknown"
        assert d.name == "unknown"
    else:
        assert d.source in ("file_name", "ollama_tag", "name")
        assert expected in str(d)


@pytest.fixture(scope="module")
def tiny_gguf(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared tiny GGUF when its generator exists; else one with the same metadata."""
    try:
        path: Path = request.getfixturevalue("tiny_gguf_path")
    except ImportError:
        path = write_gguf(
            tmp_path_factory.mktemp("tiny") / "tiny-llama.gguf",
            architecture="llama",
            name="tiny-llama",
            chat_template=CHATML_TEMPLATE,
        )
    return path


def test_tiny_gguf_is_detected_from_its_template(tiny_gguf: Path) -> None:
    d = detect(tiny_gguf)
    assert d.name == "chatml"
    # Its name ("tiny-llama") alone would say TinyLlama/Zephyr: the template wins.
    assert d.source == "chat_template"
    assert d.template_exact
    assert d.chat_template == read_gguf_info(tiny_gguf).chat_template
    assert detect(str(tiny_gguf)).name == "chatml"


def test_gemma_3_270m_without_template(gemma_path: Path) -> None:
    d = detect(gemma_path)
    assert d.name == "gemma"
    assert d.chat_template is None
    assert d.source in ("gguf_name", "architecture")


@pytest.fixture
def gguf_dir(tmp_path: Path) -> Path:
    return tmp_path


# GGUF header metadata: (file name, architecture, general.name, general.basename) -> (family,
# deciding source). Fine-tune names beat base architectures; TheBloke's conversions often say
# "LLaMA v2" in general.name for every Llama 2 fine-tune, so a fine-tune's file name beats it.
GGUF_METADATA_CASES: list[tuple[str, str, str | None, str | None, str, DetectionSource]] = [
    ("model.gguf", "gemma3", None, None, "gemma", "architecture"),
    ("weights.gguf", "qwen2", "Unnamed", None, "chatml", "architecture"),
    ("model.gguf", "llama", "Meta Llama 3.1 8B Instruct", None, "llama3", "gguf_name"),
    ("m2.gguf", "llama", None, "Mistral-7B-Instruct", "mistral", "gguf_name"),
    ("model.gguf", "qwen2", "DeepSeek R1 Distill Qwen 7B", None, "deepseek", "gguf_name"),
    ("openorca-platypus2-13b.Q4_0.gguf", "llama", "LLaMA v2", None, "alpaca", "file_name"),
    ("llama-2-13b.Q4_0.gguf", "llama", "LLaMA v2", None, "llama2", "file_name"),
    ("zephyr-7b-beta.Q4_K_M.gguf", "llama", None, None, "zephyr", "file_name"),
    ("model.gguf", "gpt-oss", "Unnamed", None, "gpt-oss", "architecture"),
    ("weights.gguf", "gpt-oss", "Gpt Oss 20b", None, "gpt-oss", "gguf_name"),
]


@pytest.mark.parametrize(
    ("file_name", "architecture", "name", "basename", "family", "source"), GGUF_METADATA_CASES
)
def test_gguf_metadata(
    gguf_dir: Path,
    file_name: str,
    architecture: str,
    name: str | None,
    basename: str | None,
    family: str,
    source: DetectionSource,
) -> None:
    path = write_gguf(gguf_dir / file_name, architecture=architecture, name=name, basename=basename)
    d = detect(path)
    assert (d.name, d.source) == (family, source)
    deciding = {"architecture": architecture, "gguf_name": name or basename, "file_name": file_name}
    assert str(deciding[source]) in d.evidence


def test_template_wins_over_everything(gguf_dir: Path) -> None:
    path = write_gguf(
        gguf_dir / "llama-2-7b-chat.gguf",
        architecture="gemma3",
        name="Llama 2",
        chat_template=official.LLAMA3_INSTRUCT,
    )
    d = detect(path)
    assert (d.name, d.source, d.template_exact) == ("llama3", "chat_template", False)


def test_unknown_gguf_keeps_its_template(gguf_dir: Path) -> None:
    template = "{% for m in messages %}<<{{ m.role }}>> {{ m.content }}{% endfor %}"
    path = write_gguf(gguf_dir / "x.gguf", architecture="llama", name="x", chat_template=template)
    d = detect(path)
    assert d.family is None
    assert d.source == "unknown"
    assert d.chat_template == template
    fb = detect(path, fallback="chatml")
    assert (fb.name, fb.source, fb.chat_template) == ("chatml", "fallback", template)


def test_old_ggml_file_is_judged_by_its_name(gguf_dir: Path) -> None:
    path = gguf_dir / "nous-hermes-13b.ggmlv3.q4_0.bin"
    path.write_bytes(b"tjgg" + b"\0" * 64)
    d = detect(path)
    assert d.name == "alpaca"
    assert "header could not be read" in d.evidence


def test_missing_path_is_judged_by_its_name(tmp_path: Path) -> None:
    d = detect(tmp_path / "Meta-Llama-3-8B-Instruct.Q4_K_M.gguf")
    assert (d.name, d.source) == ("llama3", "file_name")
    assert "not found" in d.evidence


@pytest.mark.parametrize(
    ("template", "family", "exact"),
    [
        (CHATML_TEMPLATE, "chatml", True),
        (official.QWEN25_ABRIDGED, "chatml", False),
        (official.LLAMA2_CHAT, "llama2", False),
        (official.LLAMA3_INSTRUCT, "llama3", False),
        (official.MISTRAL_INSTRUCT, "mistral", False),
        (official.GEMMA_IT, "gemma", False),
        (official.ZEPHYR, "zephyr", False),
        (official.PHI3, "phi3", False),
        (official.DEEPSEEK_R1_DISTILL, "deepseek", False),
        (official.GPT_OSS_ABRIDGED, "gpt-oss", False),
        (get_family("vicuna").template, "vicuna", True),
        ("{{ messages }}", None, False),
    ],
)
def test_recognize_template(template: str, family: str | None, exact: bool) -> None:
    found, is_exact = recognize_template(template)
    assert (found.name if found else None, is_exact) == (family, exact)


def test_every_family_recognises_its_own_template() -> None:
    from langchain_localkit.prompts import list_families

    for fam in list_families():
        assert recognize_template(fam.template) == (fam, True)
        assert recognize_template(" \n" + fam.template + "\n") == (fam, True)


class _Obj:
    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)


def test_objects_by_attribute(tiny_gguf: Path, tmp_path: Path) -> None:
    assert detect(_Obj(model_path=str(tiny_gguf))).name == "chatml"
    assert detect(_Obj(model_path=tiny_gguf)).name == "chatml"
    assert detect(_Obj(model="llama3.1:8b", base_url="http://localhost:11434")).name == "llama3"
    assert detect(_Obj(model="llama3.1:8b")).source == "ollama_tag"
    gpt4all = _Obj(model=str(tmp_path / "nous-hermes-13b.ggmlv3.q4_0.bin"))
    assert detect(gpt4all).name == "alpaca"
    assert detect(_Obj(model=tiny_gguf)).name == "chatml"
    assert detect(_Obj(model_name="meta-llama/Llama-2-7b-chat-hf")).name == "llama2"


def test_overrides_on_the_object(tiny_gguf: Path) -> None:
    forced = _Obj(model_path=str(tiny_gguf), chat_format="llama-2")
    d = detect(forced)
    assert (d.name, d.source) == ("llama2", "chat_format")
    custom = _Obj(model_path=str(tiny_gguf), chat_template=official.GEMMA_IT, chat_format="llama2")
    d = detect(custom)
    assert (d.name, d.source, d.chat_template) == ("gemma", "override", official.GEMMA_IT)
    # A chat_format llama-cpp-python knows but no family does: fall through to the file.
    assert detect(_Obj(model_path=str(tiny_gguf), chat_format="functionary")).name == "chatml"


def test_server_only_object_is_unknown_with_advice() -> None:
    d = detect(_Obj(base_url="http://localhost:8080"))
    assert d.family is None
    assert "chat_format" in d.evidence
    assert detect(_Obj()).source == "unknown"
    assert detect_family(_Obj(), fallback="mistral") == get_family("mistral")


def test_bound_models_are_unwrapped() -> None:
    class NamedLLM(FakeListLLM):
        model: str = "gemma3:270m"

    llm = NamedLLM(responses=["x"])
    assert detect(llm.bind(stop=["\n"])).name == "gemma"
    assert detect(llm.with_config(tags=["t"])).name == "gemma"


def test_family_names_and_instances() -> None:
    assert detect("chatml").source == "family"
    assert detect("alpaca-instruct").name == "alpaca"
    fam = get_family("phi3")
    assert detect(fam).family is fam
    assert detect_family(fam) is fam
    d = detect("vicuna")
    assert detect(d) is d
    assert detect("").source == "unknown"


@pytest.fixture
def granite() -> Iterator[ModelFamily]:
    family = register_family(
        ModelFamily(
            name="granite-test",
            template=(
                "{% for m in messages %}<|start_of_role|>{{ m.role }}<|end_of_role|>"
                "{{ m.content }}<|end_of_text|>\n{% endfor %}"
                "{% if add_generation_prompt %}<|start_of_role|>assistant<|end_of_role|>{% endif %}"
            ),
            stop=("<|end_of_text|>",),
            control_strings=("<|start_of_role|>", "<|end_of_role|>", "<|end_of_text|>"),
            name_patterns=(r"granite",),
            architectures=("granite",),
            template_markers=(("<|start_of_role|>",),),
        )
    )
    yield family
    unregister_family("granite-test")


def test_user_family_is_detected(granite: ModelFamily, tmp_path: Path) -> None:
    assert detect_family("granite3.1-dense:8b") is granite
    path = write_gguf(tmp_path / "m.gguf", architecture="granite")
    assert detect_family(path) is granite
    assert recognize_template("x <|start_of_role|> y")[0] is granite


def test_user_families_are_checked_first(tmp_path: Path) -> None:
    mine = register_family(
        ModelFamily(name="my-llama3", template="{{ messages }}", name_patterns=(r"llama-?3",))
    )
    try:
        assert detect_family("llama3.1:8b") is mine
    finally:
        unregister_family("my-llama3")
    assert detect_family("llama3.1:8b") == get_family("llama3")


def test_normalize_and_match() -> None:
    assert normalize_model_name("C:\\models\\Llama_2 7B.gguf") == "llama-2-7b.gguf"
    assert normalize_model_name("hf.co/x/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M") == (
        "qwen2.5-0.5b-instruct-gguf:q4-k-m"
    )
    assert match_model_name("llama-30b") is None  # LLaMA 1, not Llama 3
    assert match_model_name("deepseek-coder-v2-lite") is None  # a different format


def test_detection_dataclass() -> None:
    d = Detection(None, "unknown", "nothing")
    assert not d.known
    assert str(d) == "unknown (unknown: nothing)"
