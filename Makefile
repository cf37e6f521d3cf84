# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create .venv when it is missing and install mtkeras with its extras.

PYTHON ?= python3
# Test processes (pytest-xdist); each test file runs whole in one of them.
TEST_WORKERS ?= 2
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mtkeras-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: install demo test test-fast clean

install: $(STAMP)

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: install
	$(VENV)/bin/mtkeras demo

test: install
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf build dist *.egg-info .pytest_cache runs
