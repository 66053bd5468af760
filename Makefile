# Two commands for users: `make lab` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
LAB_PORT ?= 8888
# Jupyter refuses to run as root unless told; CI and sessions here run as root.
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

# Debian packages the tests need, as command:package pairs (installed when missing).
# A path may be a glob: PostgreSQL's server lives under a versioned directory.
# The isolation tests run processes as users they create (useradd, setpriv) from a
# world-readable venv built from Debian's python3 (python3-venv; tests/support/unpriv.py).
TEST_SYSDEPS := openssl:openssl /usr/bin/chromium:chromium /usr/sbin/nginx:nginx-light \
  docker-compose:docker-compose '/usr/lib/postgresql/*/bin/initdb:postgresql' \
  /usr/bin/python3:python3 '/usr/lib/python3.*/ensurepip/__init__.py:python3-venv' \
  useradd:passwd setpriv:util-linux pkill:procps

# The JupyterLab panel: TypeScript in labextension/, built into
# open_notebook_ext/labextension/ (gitignored) with the venv's jlpm (Yarn 3, its
# cache in labextension/.yarn/) and jupyter-builder.
LABEXT_DIR := labextension
LABEXT_OUT := open_notebook_ext/labextension/package.json
# Its sources, one folder deep (src/api, src/model, ...); the jest tests in
# src/__tests__ are not part of the build.
LABEXT_SRC := $(filter-out $(LABEXT_DIR)/src/__tests__/%,$(wildcard \
  $(LABEXT_DIR)/src/*.ts* $(LABEXT_DIR)/src/*/*.ts* $(LABEXT_DIR)/style/*)) \
  $(addprefix $(LABEXT_DIR)/,package.json yarn.lock tsconfig.json .yarnrc.yml)
JLPM := cd $(LABEXT_DIR) && PATH="$(abspath $(BIN)):$$PATH" jlpm

.PHONY: jupyter-ai-venv hub-proxy install lab test test-fast test-ts lint lint-py lint-ts sysdeps venv-sysdeps labextension bench stress deploy-check docs clean

install: $(VENV)/.installed $(LABEXT_OUT)

venv-sysdeps:
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
	  scripts/sysdeps.sh /nonexistent-python3-venv:python3-venv
	@command -v node >/dev/null || { echo "Node.js (20.19+) is needed to build the JupyterLab panel" >&2; exit 1; }

# `pip install -e` builds the panel once (the hatch-jupyter-builder hook, when
# open_notebook_ext/labextension is missing); `jupyter-builder develop` links the
# build output into the venv so later rebuilds show up on a browser reload. The
# link goes before pip runs: pip would copy its data files through it into the
# build output (and its uninstall would delete them there).
LABEXT_LINK := $(VENV)/share/jupyter/labextensions/open-notebook-ext
$(VENV)/.installed: pyproject.toml | venv-sysdeps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	if [ -L $(LABEXT_LINK) ]; then rm $(LABEXT_LINK); fi
	$(PY) -m pip install --quiet -e '.[test,docs]'
	$(BIN)/jupyter-builder develop --overwrite . >/dev/null
	touch $@

# Rebuild the panel when its sources changed (production build, ~10 s).
$(LABEXT_OUT): $(LABEXT_SRC) | $(VENV)/.installed
	$(JLPM) install --immutable
	$(JLPM) build:prod
	touch $@

labextension: $(LABEXT_OUT)

# jupyter-ai v3 (Jupyternaut, %%ai) with this package, in a venv of its own that the
# jupyter-ai tests start servers from (tests/integration/test_jupyter_ai.py): its ~150 packages
# (litellm, langchain) stay out of the test venv. The constraints file keeps pip from
# backtracking over litellm (docs/users/jupyter-ai.md has the install times).
AI_VENV := .venv-ai
$(AI_VENV)/.installed: pyproject.toml constraints/jupyter-ai.txt | venv-sysdeps $(LABEXT_OUT)
	test -x $(AI_VENV)/bin/python || $(PYTHON) -m venv $(AI_VENV)
	$(AI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AI_VENV)/bin/python -m pip install --quiet -e '.[jupyter-ai]' 'ipykernel>=6.29' \
	  -c constraints/jupyter-ai.txt
	touch $@

jupyter-ai-venv: $(AI_VENV)/.installed

# configurable-http-proxy, the proxy JupyterHub starts, from npm into .hub/ (gitignored)
# for the live hub tests (tests/support/hub.py); Node.js is already needed for the panel.
HUB_PREFIX := .hub
CHP_VERSION := 5.3.0
CHP := $(HUB_PREFIX)/node_modules/.bin/configurable-http-proxy
$(CHP): | venv-sysdeps
	npm install --prefix $(HUB_PREFIX) --no-audit --no-fund --no-save --loglevel=error \
	  configurable-http-proxy@$(CHP_VERSION)

hub-proxy: $(CHP)

lab: install
	$(BIN)/jupyter lab $(ROOT_FLAG) --no-browser --ServerApp.port=$(LAB_PORT)

sysdeps:
	scripts/sysdeps.sh $(TEST_SYSDEPS)

lint-py: install
	$(BIN)/ruff check open_notebook_ext tests bench
	$(BIN)/ruff format --check open_notebook_ext tests bench
	$(BIN)/mypy

# eslint, prettier and stylelint in check mode (`jlpm lint` fixes instead).
lint-ts: install
	$(JLPM) lint:check

lint: lint-py lint-ts

# The panel's jest tests (src/__tests__: validation, API client, model hooks).
test-ts: install
	$(JLPM) test

# Two workers (pytest-xdist), a test file per worker at a time: most tests wait
# on real servers, browsers and databases, so two run side by side in about
# two thirds of the time. PYTEST_ARGS adds or overrides (e.g. PYTEST_ARGS=-n0).
PYTEST_ARGS ?=
test: install sysdeps hub-proxy lint test-ts docs jupyter-ai-venv
	ON_DOCS_HTML=$(abspath $(DOCS_HTML)) $(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# The documentation (docs/), warnings as errors and every cross-reference checked.
# A clean build each time: the reference pages come from the code, which Sphinx
# does not watch, and a removed page must not linger. tests/packaging/test_docs.py checks the result (ON_DOCS_HTML).
DOCS_HTML := docs/_build/html
docs: install
	rm -rf docs/_build
	$(BIN)/sphinx-build -E -W --keep-going -n -q -b html -d docs/_build/doctrees docs $(DOCS_HTML)

# The everyday loop: unit, store and in-process API tests on SQLite; no system
# package, no subprocess server, no browser (~1,200 tests, each with its own
# in-process server: under a minute on 2 cores once its bytecode is cached). Its
# temporary files go to tmpfs when there is one (/dev/shm): pytest deletes old runs'
# directories, ~40,000 files each, which on disk took longer than some runs.
# Compiled modules, pytest's rewritten test modules included, are kept in the venv
# (PYTHONPYCACHEPREFIX) even where PYTHONDONTWRITEBYTECODE is set: without them each
# run compiles ~330 modules again, and collection takes twice as long.
FAST_TESTS := tests/unit tests/store tests/api
FAST_BASETEMP := $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo --basetemp=/dev/shm/open-notebook-ext-test-fast-$$(id -u))
test-fast: $(VENV)/.installed
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(abspath $(VENV))/pycache \
	  $(PY) -m pytest -n 2 --dist loadfile -m "not postgresql" $(FAST_BASETEMP) $(FAST_TESTS) $(PYTEST_ARGS)

# The deployment checks alone (they also run in `make test`): compose validation and
# hardening, Dockerfile lint, nginx config, and the live proxy + production server.
deploy-check: install sysdeps
	$(PY) -m pytest tests/deploy

# The full-size write storm of tests/integration/test_concurrency.py: 32 clients x 500 requests
# against each configuration (~8 min; `make test` runs 60 requests per client).
stress: install sysdeps
	ON_STORM_REQUESTS=500 $(PY) -m pytest tests/integration/test_concurrency.py

# Measurements, not tests: prints the table and writes bench/results.md (~5 min).
# wrk drives the HTTP benchmarks (Debian package, installed when missing).
bench: install
	scripts/sysdeps.sh wrk:wrk
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(AI_VENV) $(HUB_PREFIX) build dist .pytest_cache .ruff_cache docs/_build \
	  $(LABEXT_DIR)/lib $(LABEXT_DIR)/tsconfig.tsbuildinfo open_notebook_ext/labextension
