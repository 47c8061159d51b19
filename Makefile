# The README's two commands: `make demo` (the main job) and `make test` (what CI runs).
# Both install what they need on a fresh machine; nothing is installed outside this folder
# except Debian's chromium, which the browser test needs and `make test` installs with apt.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
CHECKOV_VENV := .venv-checkov

.PHONY: install demo up test lint bench clean

$(VENV)/.installed: requirements-dev.txt containers/agent/requirements.txt containers/binder/requirements.txt containers/identity_core/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) -m devstack demo

up: install
	$(PY) -m devstack up

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install lint
	$(PY) -m pytest

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) test-output .pytest_cache
