# WedSync Success: `make demo` runs the whole system on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## Create the SQLite database, seed synthetic suppliers, score them, serve the API
	$(BIN)/wedsync-success demo

serve: $(STAMP)
	$(BIN)/wedsync-success serve

test: $(STAMP)  ## Run the whole test suite (PostgreSQL tests skip when no server answers)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

bench: $(STAMP)  ## Print the spine's performance figures (SQLite and PostgreSQL)
	$(BIN)/python benchmarks/spine.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
