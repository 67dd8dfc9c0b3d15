# The two set-up commands of the README. Each is safe to run again.
#   make demo   install, then run the main job on the embedded default
#   make test   install, then run every test (this is what .ci/run runs)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test install

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	npm ci --no-audit --no-fund --silent   # the site's search shim for file:// (package.json)

demo: install
	$(BIN)/harmonise validate --strict
	$(BIN)/harmonise compare --all

test: export HARMONISE_REQUIRE_POSTGRES = 1
test: install
	command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }
	$(BIN)/python -m pytest
