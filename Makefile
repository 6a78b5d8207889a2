# Two commands on a fresh machine with Python 3.11+ and make:
#   make demo   installs rebuilder into .venv and syncs the example models into demo.db
#   make test   installs rebuilder with its test extras into .venv and runs the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The distribution was called "rebuilder" before it became "sqlite-rebuilder":
# an old development install of it is removed first.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip uninstall --quiet --yes rebuilder 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip uninstall --quiet --yes rebuilder 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

demo: $(VENV)/.installed
	rm -f demo.db
	$(BIN)/rebuilder plan examples/models.py:Base demo.db
	$(BIN)/rebuilder sync examples/models.py:Base demo.db
	$(BIN)/rebuilder check examples/models.py:Base demo.db

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench_rebuild.py --rows 100000 1000000 --rounds 3
	$(BIN)/python benchmarks/bench_startup.py

clean:
	rm -rf $(VENV) demo.db .pytest_cache
