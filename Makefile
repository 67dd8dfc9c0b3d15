# The two set-up commands of the README. Each is safe to run again.
#   make demo   install, then run the main job on the embedded default: load the sample network,
#               print the variation report and the signals, build the site, serve API and site
#   make test   install, then run every test (this is what .ci/run runs)
#   make test-fast  install, then only the tests marked fast: no database, server or browser (under a minute)
#   make bench  install, then run the benchmarks of docs/performance.md (about 15 minutes)
#   make lint   install, then the layer contracts (import-linter), declared dependencies (deptry), ruff and mypy

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-fast bench lint install

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	npm ci --no-audit --no-fund --silent   # the site's search shim for file:// (package.json)

demo: install
	$(BIN)/harmonise validate --strict
	$(BIN)/harmonise load
	$(BIN)/harmonise import-activity activity/sample-activity.csv
	$(BIN)/harmonise compare --all
	$(BIN)/harmonise monitor
	$(BIN)/harmonise publish
	$(BIN)/harmonise serve

test: export HARMONISE_REQUIRE_POSTGRES = 1
test: install
	command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }
	$(BIN)/python -m pytest

# The tests of modules with `pytestmark = pytest.mark.fast` (tests/conftest.py says what that promises).
test-fast: install
	$(BIN)/python -m pytest -m fast -q

# The PostgreSQL rows need the server the tests use (127.0.0.1:5432); wrk is Debian's.
bench: install
	$(BIN)/pip install --quiet -e ".[bench]"
	command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

lint: install
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/lint-imports
	$(BIN)/deptry service
	$(BIN)/ruff check service tests benchmarks
	$(BIN)/mypy service
