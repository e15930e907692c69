# One command runs the demo, one runs the tests; both install what they need first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo serve test lint bench bench-drain bench-lookup clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: install
	$(BIN)/redflag-relay demo

serve: install
	$(BIN)/redflag-relay serve

# The suite runs on SQLite, then on PostgreSQL (REDFLAG_TEST_PG_URL, default the local
# server). Without a reachable PostgreSQL the second run is skipped, except in CI.
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

test: install
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/pytest -q
	@if $(BIN)/python -m tests.pg_ready "$(PG_URL)"; then \
		REDFLAG_TEST_DATABASE=postgresql REDFLAG_TEST_PG_URL="$(PG_URL)" $(BIN)/pytest -q; \
	elif [ -n "$$CI" ]; then \
		echo "PostgreSQL is not reachable at $(PG_URL); CI needs it" >&2; exit 1; \
	else \
		echo "PostgreSQL is not reachable at $(PG_URL): the PostgreSQL run is skipped"; \
	fi

bench: install
	$(BIN)/python bench/ingest.py

bench-drain: install
	$(BIN)/python -m bench.drain

bench-lookup: install
	taskset -c 0 $(BIN)/python bench/lookup.py --seconds 2

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
