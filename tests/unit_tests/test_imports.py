import subprocess
import sys

import pytest

import langchain_localkit

EXPECTED_ALL = [
    "GPT4AllEmbeddings",
    "ChatGPT4All",
    "GPT4All",
    "ServerTimeoutError",
    "ServerDisconnectedError",
    "LlamafileEmbeddings",
    "Llamafile",
    "ChatLlamafile",
    "ChatLlamaCpp",
    "ChatOllama",
    "ChatOpenAICompatible",
    "OpenAICompatible",
    "OpenAICompatibleEmbeddings",
    "ContextOverflowError",
    "GGUFInfo",
    "GrammarError",
    "InvalidModelFileError",
    "InvalidRequestError",
    "LlamaCpp",
    "LlamaCppEmbeddings",
    "LocalKitError",
    "ModelBusyError",
    "ModelFileError",
    "ModelIsDirectoryError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelNotPulledError",
    "OllamaEmbeddings",
    "OllamaLLM",
    "RuntimeNotInstalledError",
    "ServerError",
    "ServerUnavailableError",
    "TemplateError",
    "Timings",
    "UnsupportedArchitectureError",
    "__version__",
    "clear_model_cache",
    "init_local_model",
    "read_gguf_info",
]


def test_all_imports() -> None:
    assert sorted(EXPECTED_ALL) == sorted(langchain_localkit.__all__)


def test_every_public_name_resolves() -> None:
    for name in langchain_localkit.__all__:
        assert getattr(langchain_localkit, name) is not None, name


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        langchain_localkit.NoSuchThing  # noqa: B018


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())


def test_import_loads_no_runtime() -> None:
    """Test that `import langchain_localkit` loads neither a runtime nor langchain-core."""
    mods = _modules_after("import langchain_localkit")
    for heavy in ("llama_cpp", "gpt4all", "ollama", "langchain_core", "httpx", "numpy"):
        assert heavy not in mods, heavy


def test_importing_the_class_does_not_load_llama_cpp() -> None:
    """Test that naming LlamaCpp (even constructing it) defers llama_cpp until first use."""
    mods = _modules_after("from langchain_localkit import LlamaCpp")
    assert "llama_cpp" not in mods


COMMUNITY_PATHS = {
    "langchain_localkit.llms": [
        "GPT4All",
        "LlamaCpp",
        "Llamafile",
        "OllamaLLM",
        "OpenAICompatible",
    ],
    "langchain_localkit.chat_models": [
        "ChatGPT4All",
        "ChatLlamaCpp",
        "ChatLlamafile",
        "ChatOllama",
        "ChatOpenAICompatible",
    ],
    "langchain_localkit.embeddings": [
        "GPT4AllEmbeddings",
        "LlamaCppEmbeddings",
        "LlamafileEmbeddings",
        "OllamaEmbeddings",
        "OpenAICompatibleEmbeddings",
    ],
}


@pytest.mark.parametrize("package", sorted(COMMUNITY_PATHS))
def test_community_module_paths_export_every_face(package: str) -> None:
    """Test that `from langchain_localkit.<kind> import X` works as community's path did."""
    import importlib

    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(COMMUNITY_PATHS[package])
    assert dir(module) == sorted(COMMUNITY_PATHS[package])
    for name in COMMUNITY_PATHS[package]:
        assert getattr(module, name) is getattr(langchain_localkit, name), name
    with pytest.raises(AttributeError, match="NoSuchThing"):
        module.NoSuchThing  # noqa: B018


def test_community_module_paths_load_no_runtime() -> None:
    """Test that importing the faces from the community-style paths defers every runtime."""
    mods = _modules_after(
        "from langchain_localkit.llms import LlamaCpp, GPT4All, Llamafile\n"
        "from langchain_localkit.chat_models import ChatLlamaCpp\n"
        "from langchain_localkit.embeddings import LlamaCppEmbeddings, GPT4AllEmbeddings, "
        "LlamafileEmbeddings"
    )
    for heavy in ("llama_cpp", "gpt4all", "ollama", "langchain_ollama"):
        assert heavy not in mods, heavy
