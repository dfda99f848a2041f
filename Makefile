# Syndicate Pulse. Everything runs from .venv/, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format bench chaos browser screenshots clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/pulse demo $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Two processes for most tests, then the timing-sensitive ones (marked serial) alone. Exit 5 (none
# selected, as when PYTEST_ARGS names other tests) is not a failure of either half.
test: lint
	$(BIN)/pytest -n 2 --dist loadfile -m "not serial" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/pytest -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench.run $(ARGS)

chaos: install
	$(BIN)/python -m bench.chaos $(ARGS)

# Debian's chromium for the console's browser tests (Playwright drives it; it downloads no browser).
browser:
	@command -v chromium >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null))
	@command -v chromium

# The console's screenshots in docs/CONSOLE.md, taken by its browser tests.
screenshots: install browser
	PULSE_SCREENSHOTS=docs/console $(BIN)/pytest -q -p no:cacheprovider tests/e2e

clean:
	rm -rf $(VENV) .pulse .pytest_cache .ruff_cache
