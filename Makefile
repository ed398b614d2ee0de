# The two commands: `make demo` and `make test`. Both do all set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: setup demo test lint bench schemas clean

setup: $(STAMP)
	$(BIN)/turnout fetch

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: setup
	$(BIN)/turnout demo

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check streams tests bench
	$(BIN)/ruff format --check streams tests bench
	$(BIN)/mypy

# The fast benches (a few minutes each on 2 cores). bench/queries.py (1M electors, ~12 min)
# and bench/projection.py are run by hand; every bench prints its own same-run baseline.
bench: setup $(BENCH_STAMP)
	$(BIN)/python bench/records.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/fold.py
	$(BIN)/python bench/projection.py --seeds 3 --electors 30000

$(BENCH_STAMP): pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

clean:
	-$(BIN)/turnout down
	rm -rf $(VENV) .turnout
