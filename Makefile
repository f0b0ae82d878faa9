# WedSync Success: `make demo` runs the whole system on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench serve clean browser mutation

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## Create the SQLite database, seed synthetic suppliers, score them, serve the API
	$(BIN)/wedsync-success demo

serve: $(STAMP)
	$(BIN)/wedsync-success serve

test: $(STAMP) browser  ## Run every test (PostgreSQL and browser tests skip, with the reason, when their server or Chromium is missing)
	$(BIN)/python -m pytest -q

browser:  ## Debian's Chromium for the dashboard's browser tests (Playwright never downloads one)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is not installed: browser tests will be skipped (sudo apt-get install chromium)"; \
	  fi; }

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

bench: $(STAMP)  ## Print the spine's performance figures (SQLite and PostgreSQL)
	$(BIN)/python benchmarks/spine.py

mutation: $(STAMP)  ## Mutation testing of activity/, events/ and access/ (docs/testing.md); about 30 min on 2 cores
	rm -rf mutants
	env -u PYTHONPATH $(BIN)/mutmut run --max-children 2
	$(BIN)/python scripts/mutation_summary.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache mutants
