# The README's two commands: `make demo` (the main job) and `make test` (what CI runs).
# Both install what they need on a fresh machine into this folder: a Python virtual
# environment, the identity provider's npm packages and, for the Terraform checks, checkov in
# an environment of its own (it pins an old boto3 that cannot sit beside the containers').
# The one system package is Debian's chromium for the browser test, installed with apt.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
IDP := devstack/idp

.PHONY: install demo up test lint bench browser clean

$(VENV)/.installed: requirements-dev.txt containers/agent/requirements.txt \
		containers/binder/requirements.txt containers/identity_core/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

$(IDP)/node_modules/.installed: $(IDP)/package.json $(IDP)/package-lock.json
	npm ci --prefix $(IDP) --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

install: $(VENV)/.installed $(IDP)/node_modules/.installed

# Debian's chromium, for the Playwright test (Playwright's own browser download cannot work
# offline and is never used). CHROMIUM names another Chromium-based browser to use instead.
CHROMIUM ?= chromium
export CHROMIUM
browser:
	@command -v $(CHROMIUM) >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

demo: install
	$(PY) -m devstack demo

up: install
	$(PY) -m devstack up

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install $(CHECKOV_VENV)/.installed browser lint
	$(PY) -m pytest

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(IDP)/node_modules test-output .devstack .pytest_cache
