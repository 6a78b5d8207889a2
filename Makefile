# Two commands on a fresh machine with Python 3.11+:
#   make demo   installs rebuilder into .venv and syncs the example models into demo.db
#   make test   installs rebuilder with its test extras into .venv and runs the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	rm -f demo.db
	$(BIN)/rebuilder plan examples/models.py:Base demo.db
	$(BIN)/rebuilder sync examples/models.py:Base demo.db
	$(BIN)/rebuilder check examples/models.py:Base demo.db

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_rebuild.py

clean:
	rm -rf $(VENV) demo.db .pytest_cache
