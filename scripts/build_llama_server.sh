#!/usr/bin/env bash
# Build llama.cpp's `llama-server` from the llama.cpp sources that PyPI ships (vendored in the
# llama-cpp-python sdist), CPU only, static, for this host's instruction sets minus llama.cpp's
# AMX path (it segfaults on many virtualized Sapphire/Granite Rapids Xeons; see the Makefile),
# and cache it outside the checkout, one build per version, recipe and CPU kind:
#
#   ~/.cache/langchain-localkit/llama-server/<version>-<build key>/llama-server
#
# Usage:
#   scripts/build_llama_server.sh            # version: the installed llama-cpp-python (else 0.3.36)
#   scripts/build_llama_server.sh 0.3.36     # an explicit llama-cpp-python version
#   JOBS=4 scripts/build_llama_server.sh     # parallel compile jobs (default: nproc)
#   LOCALKIT_CACHE_DIR=/some/dir ...         # cache elsewhere
#
# Idempotent (a cached build returns at once) and atomic (built in a temporary directory beside
# the cache, moved into place with one rename, under a lock). The last line on stdout is the
# binary's path. About 5-9 minutes on 2 cores (cmake, a C++ compiler; ninja if present).
# The logic lives in langchain_localkit/testing/llama_binary.py (`build_llama_server`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
    if [[ -x "$here/.venv/bin/python" ]]; then PYTHON="$here/.venv/bin/python"; else PYTHON=python3; fi
fi
args=(build)
if [[ $# -gt 0 ]]; then args+=("$1"); fi
if [[ -n "${JOBS:-}" ]]; then args+=(--jobs "$JOBS"); fi
cd "$here"
exec "$PYTHON" -m langchain_localkit.testing.llama_server "${args[@]}"
