# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create .venv when it is missing and install mtkeras into it; `make test`
# adds the test tools (the `dev` extra), which the demo does not need.

PYTHON ?= python3
# Test processes (pytest-xdist); each test file runs whole in one of them.
TEST_WORKERS ?= 2
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mtkeras-installed
DEV_STAMP := $(VENV)/.mtkeras-dev-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: install install-dev demo test clean

install: $(STAMP)

install-dev: $(DEV_STAMP)

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(DEV_STAMP)

demo: install
	$(VENV)/bin/mtkeras demo

test: install-dev
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf build dist *.egg-info .pytest_cache runs
