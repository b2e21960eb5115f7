# Trợ lý Một cửa — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test setup browser lint typecheck bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium for the browser tests (never a browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium package for the browser tests..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: $(STAMP)
	$(BIN)/motcua kb init
	$(BIN)/motcua serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

test: $(STAMP) browser lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check --quiet bot knowledge channels tests benchmarks
	$(BIN)/mypy --no-error-summary

bench: $(STAMP)
	cd benchmarks && ../$(BIN)/python kb_import.py && ../$(BIN)/python nlu.py && \
	  ../$(BIN)/python assistant.py && ../$(BIN)/python web_load.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
