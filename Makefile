# Two commands matter: `make demo` (set up + analyse the bundled sample) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint setup schemas clean deploy-tools

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

# checkov, which the deployment files' test runs, lives in a virtualenv of its own.
TOOLS := .venv-tools
$(TOOLS)/.installed: pyproject.toml
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --upgrade pip
	$(TOOLS)/bin/pip install --quiet --group deploy-lint
	touch $@

deploy-tools: $(TOOLS)/.installed

test: setup lint deploy-tools
	$(BIN)/pytest

# The JSON Schemas of the public contracts (docs/), generated from the models.
schemas: setup
	$(BIN)/python -m bifrost.schemas docs/schemas

clean:
	rm -rf $(VENV) $(TOOLS) build *.egg-info
