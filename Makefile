# rfidwms - `make demo` runs the whole system, `make test` runs every check.
# Both create .venv (Python 3.11+) and install the project into it when needed.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit system-deps bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "rfidwms needs Python 3.11 or newer on PATH"; exit 1; }
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV); \
		$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "could not create .venv: install Python's venv module (Debian, Ubuntu: apt install python3-venv)"; \
		exit 1; }; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rfidwms demo

system-deps:
	@scripts/install-system-deps

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) system-deps
	$(BIN)/python -m pytest -p no:cacheprovider --durations=20

test: lint typecheck unit

# Every bench/bench_*.py; each writes bench/results/<name>.json, then docs/benchmarks.md
# is rebuilt from them all. Benches target only 127.0.0.1 and stop by themselves.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .rfidwms .pytest_cache .mypy_cache .ruff_cache
