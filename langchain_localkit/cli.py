"""The `localkit` command: run a local model from the shell.

localkit run "The first man on the moon was"          # the embedded default (Gemma 3 270M)
localkit run --model path/to/model.gguf "Hello"       # any GGUF file
localkit chat "What is the capital of France?"        # one chat turn (SmolLM2-135M-Instruct)
localkit chat --model path/to/instruct.gguf           # a conversation, one line per turn
localkit info path/to/model.gguf                       # what a GGUF file says about itself
localkit doctor                                        # this CPU, the llama.cpp build, AMX
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_localkit._core.errors import LocalKitError


def _default_model() -> Path:
    from langchain_localkit._core.default_model import gemma_model_path

    return gemma_model_path()


def _add_generation_arguments(
    parser: argparse.ArgumentParser, *, max_tokens: int, max_tokens_help: str, temperature: float
) -> None:
    """Add the options that `_generation_options` reads, with the command's own defaults."""
    parser.add_argument("--max-tokens", "-n", type=int, default=max_tokens, help=max_tokens_help)
    parser.add_argument("--temperature", "-t", type=float, default=temperature, help="0 is greedy")
    parser.add_argument("--seed", type=int, default=-1, help="sampling seed (-1: random)")
    parser.add_argument("--n-ctx", type=int, default=None, help="context window in tokens")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads")


def _generation_options(args: argparse.Namespace) -> dict[str, Any]:
    """The load and sampling options that `run` and `chat` share."""
    return {
        "n_ctx": args.n_ctx,
        "n_threads": args.threads,
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "seed": args.seed,
    }


def _run(args: argparse.Namespace) -> int:
    from langchain_localkit._core.generation import GenerationInfo
    from langchain_localkit.llms.llamacpp import LlamaCpp

    model = Path(args.model) if args.model else _default_model()
    llm = LlamaCpp(model_path=str(model), **_generation_options(args))
    llm.engine.load()
    out = sys.stdout
    out.write(f"# {model.name} via llama.cpp\n{args.prompt}")
    out.flush()
    info: GenerationInfo | None = None
    for item in llm.engine.stream(args.prompt, llm._sampling(None, {})):
        if isinstance(item, str):
            out.write(item)
            out.flush()
        else:
            info = item
    out.write("\n")
    if info is not None and not args.quiet:
        out.write(f"\n{info.timings.report()}\n")
        out.write(
            f"finish_reason={info.finish_reason} input_tokens={info.prompt_tokens} "
            f"output_tokens={info.completion_tokens}\n"
        )
    out.flush()
    return 0


def _default_chat_model() -> Path:
    from langchain_localkit._core.default_model import smollm2_model_path

    return smollm2_model_path()


def _chat_turn(chat: Any, history: list[tuple[str, str]], out: Any, quiet: bool) -> str:
    from langchain_localkit._core.timings import Timings

    reply = ""
    last: Any = None
    for chunk in chat.stream(history):
        if chunk.content:
            out.write(str(chunk.content))
            out.flush()
            reply += str(chunk.content)
        last = chunk if chunk.response_metadata else last
    out.write("\n")
    meta = last.response_metadata if last is not None else {}
    if not quiet and meta.get("timings"):
        timings = Timings.from_dict(meta["timings"])
        rate = timings.eval_tokens_per_second
        out.write(
            f"[{meta.get('finish_reason')}; {timings.prompt_tokens} prompt tokens evaluated, "
            f"{timings.eval_tokens} generated"
            + (f" at {rate:.1f} tokens/s" if rate else "")
            + (f"; first token after {timings.ttft_ms:.0f} ms" if timings.ttft_ms else "")
            + "]\n"
        )
    out.flush()
    return reply


def _chat(args: argparse.Namespace) -> int:
    from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp

    model = Path(args.model) if args.model else _default_chat_model()
    chat = ChatLlamaCpp(model_path=str(model), **_generation_options(args))
    chat.engine.load()
    out = sys.stdout
    history: list[tuple[str, str]] = [("system", args.system)] if args.system else []
    if args.message:
        history.append(("human", " ".join(args.message)))
        out.write(f"# {model.name} via llama.cpp\n> {history[-1][1]}\n")
        _chat_turn(chat, history, out, args.quiet)
        return 0
    interactive = sys.stdin.isatty()
    if interactive:
        out.write(f"# {model.name} via llama.cpp; /reset forgets the conversation, /exit ends\n")
    while True:
        if interactive:
            out.write("> ")
            out.flush()
        line = sys.stdin.readline()
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            break
        if text == "/reset":
            del history[1 if args.system else 0 :]
            continue
        history.append(("human", text))
        history.append(("ai", _chat_turn(chat, history, out, args.quiet)))
    return 0


def _info(args: argparse.Namespace) -> int:
    from langchain_localkit._core.gguf import ArraySummary, read_gguf_info

    info = read_gguf_info(args.model)
    out = sys.stdout
    out.write(f"path: {info.path}\nsize: {info.file_size / 1e6:.1f} MB\n")
    out.write(f"GGUF version: {info.version}, tensors: {info.tensor_count}\n")
    out.write(f"architecture: {info.architecture}\nname: {info.name}\n")
    out.write(f"context length: {info.context_length}\n")
    template = info.chat_template
    out.write(
        f"chat template: {'yes (' + str(len(template)) + ' chars)' if template else 'none'}\n"
    )
    if args.all:
        for key, value in info.metadata.items():
            shown = f"[{value.length} items]" if isinstance(value, ArraySummary) else repr(value)
            out.write(f"  {key} = {shown[:200]}\n")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    import shlex

    from langchain_localkit._core.cpu import build_has_amx, portable_cmake_args, read_host_cpu

    if args.cmake_args:
        sys.stdout.write(shlex.join(portable_cmake_args()) + "\n")
        return 0
    from langchain_localkit.engines import llamacpp_amx as amx
    from langchain_localkit.engines.llamacpp import import_llama_cpp

    out = sys.stdout
    cpu = read_host_cpu()
    amx_cpu = "yes" if cpu.has_amx else "no" if cpu.flags_known else "unknown"
    out.write(f"CPU: {cpu.describe()}\nAMX on this CPU: {amx_cpu}\n")
    llama_cpp = import_llama_cpp()
    features = amx.build_features(llama_cpp)
    shown = " ".join(f"{k}={v}" for k, v in features.items() if v not in ("0", ""))
    version = amx.llama_cpp_python_version() or "(version unknown)"
    out.write(f"llama-cpp-python {version} ({Path(llama_cpp.__file__).parent})\n")
    out.write(f"llama.cpp build: {shown}\n")
    out.write(f"AMX path in this build: {'yes' if build_has_amx(features) else 'no'}\n")
    decision = amx.decide_extra_bufts(llama_cpp=llama_cpp, refresh=args.refresh)
    state = "on" if decision.use_extra_bufts else "OFF"
    out.write(f"extra buffer types (weight repacking): {state} ({decision.reason})\n")
    probes = [("cached" if decision.cached else "just now", decision.probe)]
    if args.probe:
        probes.append(("forced", amx.probe_extra_bufts()))
    for when, probe in probes:
        if probe is not None:
            out.write(f"probe ({when}): {probe.verdict}, {probe.detail} ")
            out.write(f"[{probe.elapsed_ms:.0f} ms]\n")
    if not decision.use_extra_bufts or build_has_amx(features):
        out.write(
            "to rebuild llama-cpp-python for this CPU without the AMX path:\n"
            f"  {amx.rebuild_command()}\n"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `localkit` command."""
    parser = argparse.ArgumentParser(
        prog="localkit", description="Run LLMs on your own machine (langchain-localkit)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="stream a completion and print llama.cpp's timing report")
    run.add_argument("prompt", help="the prompt text")
    run.add_argument("--model", "-m", help="a GGUF file (default: the embedded Gemma 3 270M)")
    _add_generation_arguments(
        run, max_tokens=128, max_tokens_help="tokens to generate", temperature=0.8
    )
    run.add_argument("--quiet", "-q", action="store_true", help="no timing report")
    run.set_defaults(func=_run)

    chat = sub.add_parser(
        "chat",
        help="chat with a model in its own chat template: one turn, or a conversation on stdin",
    )
    chat.add_argument(
        "message", nargs="*", help="one message to answer (none: read one turn per line)"
    )
    chat.add_argument(
        "--model", "-m", help="a GGUF file (default: the embedded SmolLM2-135M-Instruct)"
    )
    chat.add_argument("--system", "-s", help="a system message")
    _add_generation_arguments(
        chat, max_tokens=256, max_tokens_help="tokens per reply", temperature=0.0
    )
    chat.add_argument("--quiet", "-q", action="store_true", help="no timing line")
    chat.set_defaults(func=_chat)

    info = sub.add_parser("info", help="show what a GGUF file's header says")
    info.add_argument("model", help="a GGUF file")
    info.add_argument("--all", action="store_true", help="print every metadata key")
    info.set_defaults(func=_info)

    doctor = sub.add_parser(
        "doctor", help="this CPU, the llama.cpp build, and whether weight repacking (AMX) is safe"
    )
    doctor.add_argument(
        "--refresh", action="store_true", help="probe again instead of reading a cached verdict"
    )
    doctor.add_argument(
        "--probe",
        action="store_true",
        help="run the extra-buffer-type probe even where it is not needed (about a second)",
    )
    doctor.add_argument(
        "--cmake-args",
        action="store_true",
        help="print the CMake arguments that build llama.cpp for this CPU without AMX",
    )
    doctor.set_defaults(func=_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `localkit` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (LocalKitError, ImportError) as e:
        sys.stderr.write(f"localkit: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
