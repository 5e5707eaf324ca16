# VoicesCount: the two set-up commands in the README are `make demo` and `make test`.
# Everything is installed into .venv (Python) and node_modules (front-end assets from npm).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The suite runs in parallel (pytest-xdist), one process per core, whole files at a time (their module
# fixtures, e.g. a served demo, are built once); PYTEST_WORKERS=0 runs it in this process.
PYTEST_WORKERS ?= auto

.PHONY: install install-test demo serve test lint pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

src/voicescount/publishing/static/vendor/versions.json: node_modules/.package-lock.json scripts/vendor_assets.py
	$(BIN)/python scripts/vendor_assets.py

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	-sh scripts/install_browser.sh || echo "Browser tests will be skipped: Debian's chromium could not be installed."
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed src/voicescount/publishing/static/vendor/versions.json

install-test: $(VENV)/.installed-test src/voicescount/publishing/static/vendor/versions.json

## Install, then set up the demo (SQLite, reference and demo data) and serve it on http://127.0.0.1:$(PORT)
demo: install
	$(BIN)/voicescount demo --port $(PORT)

serve: install
	$(BIN)/voicescount serve --port $(PORT)

## Install with test tools, then lint and run the whole suite (DATABASE_URL=postgres://… for PostgreSQL)
test: install-test lint pytest

lint:
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy src/voicescount/stats

pytest:
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

bench: install-test
	$(BIN)/python benchmarks/bench_stats.py
	$(BIN)/python benchmarks/bench_import.py --records 100000 --database both
	$(BIN)/python benchmarks/bench_indicators.py --respondents 1000000
	$(BIN)/python benchmarks/bench_tracker.py

clean:
	rm -rf $(VENV) node_modules src/voicescount/publishing/static/vendor .pytest_cache .ruff_cache .mypy_cache
