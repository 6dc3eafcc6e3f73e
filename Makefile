# Two commands set everything up on a fresh machine: `make run` and `make test`.
# Both create .venv and install the project into it when it is missing or older than
# pyproject.toml.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/chaine up

# The browser tests drive Debian's Chromium (Playwright cannot download its own browsers
# here); as root, install it when missing. Otherwise the tests say how to get it.
browser:
	@if ! command -v chromium >/dev/null && [ -z "$$CHAINE_CHROMIUM" ] && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
		|| { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; \
	fi

test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@set -e; for bench in $(wildcard bench/*.py); do echo "== $$bench"; $(BIN)/python $$bench; done

lint: $(STAMP)
	$(BIN)/ruff check .
