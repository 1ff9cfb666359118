# Vigil: `make demo` runs the whole system on its embedded defaults; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
VENDOR := agent_web/static/vendor

.PHONY: demo test test-pg lint bench setup static prompts readme-settings clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR)/.built: node_modules/.installed agent_web/build_static.mjs
	node agent_web/build_static.mjs
	touch $@

setup: $(VENV)/.installed $(VENDOR)/.built

static: $(VENDOR)/.built

demo: setup
	$(VENV)/bin/vigil demo

test: setup
	$(PY) -m pytest

# The same tests against the local PostgreSQL (CI does this through .ci/run).
test-pg: setup
	VIGIL_TEST_DATABASE_URL=$${VIGIL_TEST_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/vigil_test} $(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy core crm receivers alarms cti ivr agent_web pbxsim vigil

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# IVR prompts as audio for production Asterisk (needs Debian's espeak-ng); not committed.
prompts: $(VENV)/.installed
	command -v espeak-ng >/dev/null || { echo "prompts need espeak-ng: apt-get install espeak-ng"; exit 1; }
	$(PY) -m ivr.render_prompts --out asterisk-config/sounds --check

# Regenerate the README's settings tables from the code.
readme-settings: $(VENV)/.installed
	$(PY) -m vigil.settings_doc --readme README.md

clean:
	rm -rf $(VENV) node_modules $(VENDOR) *.egg-info
