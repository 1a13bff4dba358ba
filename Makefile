# m2mportal: `make run` serves the platform with a demo partner, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint unit audit lock bench bench-inventory clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]' -c requirements.lock
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/m2mportal run

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# The suite on every CPU (pytest-xdist; each worker has its own PostgreSQL database and
# temp folder): 385 s against 690 s serially on two CPUs (docs/testing.md).
# TEST_WORKERS=0 runs it serially.
TEST_WORKERS ?= auto
unit: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

# pip-audit on the pinned runtime dependencies; tests/guards/audit.py says what an
# unreachable vulnerability service means (a warning; M2MP_AUDIT_STRICT=1 makes it fail).
audit: install
	$(BIN)/python -m tests.guards.audit check

# requirements.lock anew: the runtime dependencies' closure at the versions installed
# (installed here without the old lock, so a changed pyproject.toml can be satisfied).
lock:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip freeze --exclude-editable > $(VENV)/installed.txt
	$(BIN)/python -m pip install -q --dry-run --ignore-installed -c $(VENV)/installed.txt \
		--report $(VENV)/lock-report.json .
	$(BIN)/python -m tests.guards.audit lock $(VENV)/lock-report.json

test: lint unit audit

# Every benchmark (hot path on SQLite and PostgreSQL, inventory at 1,000,000 SIMs, a
# 1,000-SIM action, 2,000 streams, the limiter), one table against references measured in
# the same run (docs/benchmarks.md). Needs wrk, PostgreSQL and Redis on loopback
# (M2MP_BENCH_PG_URL, M2MP_BENCH_REDIS_URL); BENCH_ARGS="--only hot --quick" for a try.
bench: install
	$(BIN)/python bench/suite.py $(BENCH_ARGS)

bench-inventory: install
	$(BIN)/python bench/inventory.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
