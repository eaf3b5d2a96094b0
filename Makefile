# Everything a fresh machine needs: `make run` and `make test` create .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# A normal (non-editable) install: Twisted's plugin scan cannot see a flat-layout editable install.
STAMP  := $(VENV)/.installed
SOURCES := setup.cfg pyproject.toml README.md $(wildcard chatproto/*.py chatproto/*/*.py chatproto/*/*/*.py \
           chatproto/doors/websocket/static/* twisted/plugins/*.py)
PORT   ?= tcp:10328

.PHONY: run test lint typecheck install clean test-tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python $(SOURCES)
	$(BIN)/python -m pip install --quiet --upgrade '.[test]'
	@# Pre-build Twisted's dropin.cache so twistd does not warn on every start.
	$(BIN)/python -c "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))"
	@rm -rf build
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/twistd --pidfile= -n chat --port $(PORT) --history-file chat-history.jsonl

lint: $(STAMP)
	$(BIN)/ruff check chatproto twisted tests bench
	$(BIN)/ruff format --check chatproto twisted tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Programs the tests drive (tmux for the terminal client, chromium for the web client) are
# checked or installed here. Without chromium the browser tests skip and say why.
test-tools:
	@command -v tmux >/dev/null || (apt-get update -qq && apt-get install -y -qq tmux >/dev/null) || \
	  { echo "tmux is required for the terminal tests: install it" >&2; exit 1; }
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "WARNING: chromium could not be installed: the browser tests will be skipped" >&2

test: $(STAMP) test-tools lint typecheck
	$(BIN)/python -m pytest -p no:cacheprovider -q

clean:
	rm -rf $(VENV) build *.egg-info _trial_temp .mypy_cache .ruff_cache .pytest_cache

include bench/bench.mk
