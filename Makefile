# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make run   - install, then build the whole warehouse on the bundled sample through Dagster
#   make test  - install, then run every test
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install run test test-spark dev lint snapshot lock bench clean

# RW_ENGINE=spark installs the `spark` extra too (dbt-spark, pyspark with its bundled Spark Connect server):
# requirements-spark.lock is requirements.lock plus those, so both engines run the same versions of the rest.
LOCK := $(if $(filter spark,$(RW_ENGINE)),requirements-spark.lock,requirements.lock)

# The environment is rebuilt only when the lock file in use or the project metadata changes.
$(VENV)/.installed-$(LOCK): $(LOCK) pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python $(LOCK)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

# dagster-dbt loads the dbt manifest: parse on every run so it never lags behind the models. The path is
# the one `make run` builds, so its dbt steps start from this parse (dbt re-parses when the profile differs).
install: $(VENV)/.installed-$(LOCK)
	@RW_DUCKDB_PATH=$(CURDIR)/data/warehouse.duckdb $(BIN)/dbt parse --project-dir dbt_project --profiles-dir dbt_project --quiet

run: install
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m orchestration build

# Two workers (pytest-xdist), a test file per worker: most tests drive one single-threaded pipeline each,
# so two cores halve the wall time. Each worker builds the shared sample warehouse once.
test: install
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not spark"

# The Spark engine against the DuckDB build (tests marked spark): starts and stops its own local Spark
# Connect server, so it needs Java 17 (.ci/run installs it).
test-spark:
	@$(MAKE) --no-print-directory install RW_ENGINE=spark
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m pytest -q -m spark

dev: install
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

# Python style, SQL style (dbt_project/.sqlfluff), then every Dagster definition loads (dg reads [tool.dg]
# in pyproject.toml).
lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/sqlfluff lint dbt_project
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs

# After an intended change to the graph (assets, checks, jobs, schedules, sensors): rewrite the snapshot
# tests/test_defs_snapshot.py compares with, and commit it with the change.
snapshot: install
	$(BIN)/python tests/defs_snapshot.py

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra spark --python-version 3.11 -c requirements.lock \
		-o requirements-spark.lock

bench: install
	$(BIN)/python -m bench.run --scale $(or $(SCALE),sample)

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
