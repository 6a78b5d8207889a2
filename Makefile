# Two commands on a fresh machine with Python 3.11+ and make:
#   make demo   installs rebuilder into .venv and syncs the example models into demo.db
#   make test   installs rebuilder with its test extras into .venv and runs the whole suite,
#               spread over the cores by pytest-xdist: the main suite, then the scenario,
#               property and SQLite-version suites again on pysqlite3-binary's newer SQLite;
#               the defensive-mode tests need Python 3.12+, found by tests/interpreters.py
#               (pyenv or python3.12/python3.13 on PATH) into .venv-py312, and are skipped,
#               saying how to get one, on a machine that has none
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV312 := .venv-py312
SECOND_SQLITE_SUITES := tests/test_sqlite_versions.py tests/test_scenarios.py tests/test_properties.py \
	tests/test_edit_in_place.py tests/test_index_reuse.py

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

# A Python 3.12+ for the defensive-mode tests. A machine with none still tests: the
# defensive-mode test is then skipped, and says how to get one.
$(VENV312)/.installed: pyproject.toml
	@if py312="$$($(PYTHON) tests/interpreters.py)"; then \
		echo "$(VENV312): $$py312" && \
		$$py312 -m venv $(VENV312) && \
		$(VENV312)/bin/python -m pip install --quiet --upgrade pip && \
		$(VENV312)/bin/python -m pip install --quiet -e . 'pytest>=8' && \
		touch $@; \
	else echo "warning: the defensive-mode tests will be skipped" >&2; fi

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

demo: $(VENV)/.installed
	rm -f demo.db
	$(BIN)/rebuilder plan examples/models.py:Base demo.db
	$(BIN)/rebuilder sync examples/models.py:Base demo.db
	$(BIN)/rebuilder check examples/models.py:Base demo.db

test: $(VENV)/.installed-test $(VENV312)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n auto
	REBUILDER_TEST_SQLITE=pysqlite3 REBUILDER_PROPERTY_EXAMPLES=8 \
		$(BIN)/python -m pytest -q -n auto -p no:cacheprovider $(SECOND_SQLITE_SUITES)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench_rebuild.py --rows 100000 1000000 --rounds 3
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_live.py --rows 1000000
	$(BIN)/python benchmarks/bench_fleet.py
	$(BIN)/python benchmarks/bench_scale.py

clean:
	rm -rf $(VENV) $(VENV312) demo.db .pytest_cache
