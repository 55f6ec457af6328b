# zigtune: the two commands a newcomer needs are `make run` and `make test`; both install what they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The docs: $ZIGTUNE_DOCS if set, else a local copy of the reference beside the checkout, else the official page.
ZIGTUNE_DOCS ?= $(firstword $(wildcard $(CURDIR)/../shared/data/zig-0.14.0-docs.md) https://ziglang.org/documentation/0.14.0/)
export ZIGTUNE_DOCS
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

# System packages the tests use: a headless browser (web UI test), PostgreSQL (deployment test).
SYSTEM_PACKAGES ?= chromium postgresql

.PHONY: install system-deps run test dev lint

# The data pipeline needs the package alone; tests and the UI (training assets) need the extras too.
$(BIN)/.installed-base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(BIN)/.installed: $(BIN)/.installed-base
	$(BIN)/python -m pip install -q -e '.[train,dev]'
	touch $@

install: $(BIN)/.installed

run: $(BIN)/.installed-base  ## the main job on embedded defaults: local Zig engine, offline generator, local storage
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster job execute -m zigtune.definitions -j data_pipeline

system-deps:  ## Debian packages the tests need, installed only when missing (needs root or sudo)
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	fi

test: install system-deps lint
	$(BIN)/python -m pytest

dev: install  ## the web UI on http://127.0.0.1:3000
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -m zigtune.definitions

lint: install  ## ruff: lint and formatting (part of `make test`)
	$(BIN)/ruff check zigtune tests benchmarks
	$(BIN)/ruff format --check zigtune tests benchmarks
