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
TEST_SYSDEPS := openssl:openssl /usr/bin/chromium:chromium '/usr/lib/postgresql/*/bin/initdb:postgresql'

.PHONY: install lab test lint sysdeps venv-sysdeps bench clean

install: $(VENV)/.installed

venv-sysdeps:
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
	  scripts/sysdeps.sh /nonexistent-python3-venv:python3-venv

$(VENV)/.installed: pyproject.toml | venv-sysdeps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

lab: install
	$(BIN)/jupyter lab $(ROOT_FLAG) --no-browser --ServerApp.port=$(LAB_PORT)

sysdeps:
	scripts/sysdeps.sh $(TEST_SYSDEPS)

lint: install
	$(BIN)/ruff check open_notebook_ext tests bench

test: install sysdeps lint
	$(PY) -m pytest

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
