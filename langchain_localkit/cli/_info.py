"""`localkit info MODEL`: what a model says about itself.

For a GGUF (a path or a name `localkit models` lists): its header's facts, what it can do
(family, quantization, parameters, capabilities) and the chat model's `profile`, all read
without loading it. For a server's model (`ollama:qwen3:4b`, `lmstudio:qwen3-4b`, ...): the
profile the server gives now (`resolve_profile()`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from langchain_localkit.cli._common import add_model_dirs
from langchain_localkit.cli._models import human_size
from langchain_localkit.cli._resolve import ResolvedModel, resolve_model


def add_parser(sub: Any) -> None:
    """Add the `info` command to the subcommands `sub`."""
    info = sub.add_parser(
        "info",
        help="what a model says about itself: header, capabilities, profile",
        description=(
            "Show what a model says about itself. MODEL is a GGUF file, a name `localkit "
            "models` lists, or a provider string (a server's model: its profile is asked now)."
        ),
    )
    info.add_argument("model", help="a GGUF file, a model name, or a provider string")
    info.add_argument("--all", action="store_true", help="print every metadata key")
    info.add_argument("--json", action="store_true", help="print JSON")
    add_model_dirs(info)
    info.set_defaults(func=run_info)


def gguf_facts(path: Path, *, metadata: bool = False) -> dict[str, Any]:
    """What a GGUF's header says, what it can do, and `ChatLlamaCpp`'s profile of it.

    Args:
        path: The GGUF file.
        metadata: Add every metadata key under "metadata" (an array as its length:
            `{"array_items": 151936}`).
    """
    from langchain_localkit._core.gguf import ArraySummary, read_gguf_info
    from langchain_localkit.prompts.capabilities import gguf_capabilities

    info = read_gguf_info(path)
    caps = gguf_capabilities(info)
    template = info.chat_template
    facts: dict[str, Any] = {
        "path": str(info.path),
        "size": info.file_size,
        "gguf_version": info.version,
        "tensors": info.tensor_count,
        "architecture": info.architecture,
        "name": info.name,
        "context_length": info.context_length,
        "chat_template_chars": len(template) if template else 0,
        "family": caps.family,
        "quantization": caps.quantization,
        "parameters": caps.parameters,
        "capabilities": list(caps.names()),
        "profile": chat_profile(path),
    }
    if metadata:
        facts["metadata"] = {
            key: {"array_items": value.length} if isinstance(value, ArraySummary) else value
            for key, value in info.metadata.items()
        }
    return facts


def chat_profile(path: Path) -> dict[str, Any] | None:
    """`ChatLlamaCpp(model_path=path).profile` (read from the header; no load), if any."""
    try:
        from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp

        profile = ChatLlamaCpp(model_path=str(path)).profile
    except ImportError:
        return None
    return dict(profile) if profile else None


def server_facts(model: ResolvedModel) -> dict[str, Any]:
    """The profile a server gives for its model now (a request to the server).

    Raises:
        ServerUnavailableError: The server does not answer (the message says how to start it).
    """
    assert model.spec is not None
    chat = model.chat_model()
    resolve = getattr(chat, "resolve_profile", None)
    facts: dict[str, Any] = {
        "provider": model.spec.provider,
        "model": model.spec.model,
        "base_url": model.spec.base_url or getattr(chat, "base_url", None),
    }
    profile = resolve() if resolve is not None else getattr(chat, "profile", None)
    facts["profile"] = dict(profile) if profile else None
    return facts


def run_info(args: argparse.Namespace) -> int:
    """`localkit info`."""
    model = resolve_model(args.model, dirs=args.dir)
    if model.path is None:
        facts = server_facts(model)
    else:
        facts = gguf_facts(model.path, metadata=args.all)
        if model.entry is not None:
            facts = {"model": model.entry.name, "source": model.entry.source, **facts}
    out = sys.stdout
    if args.json:
        json.dump(facts, out, indent=2, default=str)
        out.write("\n")
    elif model.path is None:
        write_server_facts(facts, out)
    else:
        write_gguf_facts(facts, out)
    return 0


def write_gguf_facts(facts: Mapping[str, Any], out: IO[str]) -> None:
    """`gguf_facts` as lines of text."""
    if "model" in facts:
        out.write(f"model: {facts['model']} ({facts['source']})\n")
    out.write(f"path: {facts['path']}\nsize: {human_size(facts['size'])}\n")
    out.write(f"GGUF version: {facts['gguf_version']}, tensors: {facts['tensors']}\n")
    out.write(f"architecture: {facts['architecture']}\nname: {facts['name']}\n")
    out.write(f"context length: {facts['context_length']}\n")
    chars = facts["chat_template_chars"]
    out.write(f"chat template: {f'yes ({chars} chars)' if chars else 'none'}\n")
    for key in ("family", "quantization", "parameters"):
        out.write(f"{key}: {facts[key] or 'unknown'}\n")
    out.write(f"capabilities: {', '.join(facts['capabilities']) or 'none'}\n")
    write_profile(facts.get("profile"), out)
    for key, value in (facts.get("metadata") or {}).items():
        array = isinstance(value, dict) and "array_items" in value
        shown = f"[{value['array_items']} items]" if array else repr(value)
        out.write(f"  {key} = {shown[:200]}\n")


def write_server_facts(facts: Mapping[str, Any], out: IO[str]) -> None:
    """`server_facts` as lines of text."""
    out.write(f"provider: {facts['provider']}\n")
    if facts.get("model"):
        out.write(f"model: {facts['model']}\n")
    if facts.get("base_url"):
        out.write(f"server: {facts['base_url']}\n")
    write_profile(facts.get("profile"), out)


def write_profile(profile: Mapping[str, Any] | None, out: IO[str]) -> None:
    """The chat model's profile, one key a line (nothing when there is none)."""
    if not profile:
        return
    out.write("profile:\n")
    for key, value in profile.items():
        out.write(f"  {key}: {value}\n")


__all__ = [
    "add_parser",
    "chat_profile",
    "gguf_facts",
    "run_info",
    "server_facts",
    "write_gguf_facts",
    "write_profile",
    "write_server_facts",
]
