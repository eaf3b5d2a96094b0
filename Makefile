# Everything a fresh machine needs: `make run`, `make client` and `make test` create .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Every pip install below is held to the versions pinned here (`make lock` refreshes them).
CONSTRAINTS := constraints.txt
PIP    := $(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS)
# What runs the server and the client (`make install`), installed normally, not editable:
# Twisted's plugin scan cannot see a flat-layout editable install.
STAMP  := $(VENV)/.installed
# The test tools (the `test` extra) on top of it, for `make test` only.
TEST_STAMP := $(VENV)/.test-tools-installed
SOURCES := setup.cfg pyproject.toml README.md $(CONSTRAINTS) \
	$(wildcard chatproto/*.py chatproto/*/*.py chatproto/*/*/*.py twisted/plugins/*.py) \
	$(wildcard chatproto/doors/websocket/static/*)

# `make run`: the doors it opens (twistd options). The banner printed before the server
# starts (chatproto/banner.py) reads the same options and says where each door listens
# and how to get in; `make client` asks it where the TCP door of PORT is.
PORT        ?= tcp:10328
WS_PORT     ?= tcp:8080
IRC_PORT    ?= tcp:6667
HISTORY     ?= chat-history.jsonl
SERVER_ARGS ?=
CLIENT_ARGS ?=
CLIENT      := make client$(if $(filter file,$(origin PORT)),, PORT=$(PORT))
DOORS       := --port '$(PORT)' --ws-port '$(WS_PORT)' --irc-port '$(IRC_PORT)'

# `make lock`: the extras resolved together with the server's own dependencies.
LOCK_EXTRAS := test
LOCK_VENV   := build/lock-venv

# `make irctest`: irctest (progval/irctest, the IRC conformance suite), read-only beside the
# project, run against the installed server through tests/irctest/chatproto_controller.py.
# What it runs and why the rest is left out: tests/irctest/selection.txt (one entry a
# line; `-` leaves one out). Implementation-specific (Ergo, Sable, ...) and deprecated
# tests are left out as every server's CI does. The whole run is cut off after
# IRCTEST_TIMEOUT seconds, so that a test waiting forever cannot hang CI.
IRCTEST_DIR       ?= ../shared/irctest
IRCTEST_SELECTION := tests/irctest/selection.txt
IRCTEST_MARKERS   := not implementation-specific and not deprecated
IRCTEST_TIMEOUT   ?= 480
IRCTEST_ARGS      ?=

.PHONY: run client test lint typecheck install lock clean test-tools irctest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

$(STAMP): $(BIN)/python $(SOURCES)
	$(PIP) .
	@# Pre-build Twisted's dropin.cache so twistd does not warn on every start.
	$(BIN)/python -c "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))"
	@rm -rf build
	touch $(STAMP)

# The test extra of the installed package: pip adds its tools without reinstalling chatproto.
$(TEST_STAMP): setup.cfg $(CONSTRAINTS) | $(STAMP)
	$(PIP) 'chatproto[test]'
	touch $(TEST_STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(BIN)/python -m chatproto.banner run $(DOORS) --history-file '$(HISTORY)' \
	  --make-client '$(CLIENT)' --venv-bin '$(BIN)'
	$(BIN)/twistd --pidfile= -n chat $(DOORS) --history-file '$(HISTORY)' $(SERVER_ARGS)

client: $(STAMP)
	$(BIN)/chatproto-client $(CLIENT_ARGS) $$($(BIN)/python -m chatproto.banner client '$(PORT)')

lint: $(TEST_STAMP)
	$(BIN)/ruff check chatproto twisted tests bench
	$(BIN)/ruff format --check chatproto twisted tests bench

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# Programs the tests drive (tmux for the terminal client, redis-server for several nodes,
# chromium for the web client, irssi for the IRC door) are checked or installed here.
# Without chromium or irssi the browser or IRC end-to-end tests skip and say why.
test-tools:
	@command -v tmux >/dev/null || (apt-get update -qq && apt-get install -y -qq tmux >/dev/null) || \
	  { echo "tmux is required for the terminal tests: install it" >&2; exit 1; }
	@command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null) || \
	  { echo "redis-server is required for the several-nodes tests: install it" >&2; exit 1; }
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "WARNING: chromium could not be installed: the browser tests will be skipped" >&2
	@command -v irssi >/dev/null || (apt-get update -qq && apt-get install -y -qq irssi >/dev/null) || \
	  echo "WARNING: irssi could not be installed: the IRC end-to-end test will be skipped" >&2

# The project's tests and irctest run side by side (each leaves a core mostly idle, waiting
# on the servers it starts), so that the whole check stays within five minutes on two
# cores; irctest's output is shown after the project's, then both must have passed.
IRCTEST_LOG := build/irctest.log
test: $(STAMP) $(TEST_STAMP) test-tools lint typecheck
	@mkdir -p $(dir $(IRCTEST_LOG))
	@$(MAKE) --no-print-directory irctest > $(IRCTEST_LOG) 2>&1 & irctest=$$!; \
	  $(BIN)/python -m pytest -p no:cacheprovider -q; tests=$$?; \
	  wait $$irctest; irc=$$?; echo "--- make irctest (run beside pytest):"; cat $(IRCTEST_LOG); \
	  test $$tests -eq 0 && test $$irc -eq 0

# irctest's directory is read-only: no bytecode, no pytest cache there. `set -f`: the
# test ids in the selection hold [brackets], which are not file name patterns.
irctest: $(STAMP) $(TEST_STAMP)
	@test -f $(IRCTEST_DIR)/conftest.py || \
	  { echo "irctest is not at $(IRCTEST_DIR): get progval/irctest and set IRCTEST_DIR" >&2; exit 1; }
	set -f; cd $(IRCTEST_DIR) && PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$(CURDIR) \
	  timeout $(IRCTEST_TIMEOUT) $(CURDIR)/$(BIN)/python -m pytest -p no:cacheprovider -q \
	  --controller tests.irctest.chatproto_controller -m '$(IRCTEST_MARKERS)' \
	  $$(sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$$/d' -e 's/^-/--deselect /' \
	     $(CURDIR)/$(IRCTEST_SELECTION)) $(IRCTEST_ARGS)

# Resolve the newest versions setup.cfg allows in a scratch venv and pin them all.
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet '.[$(LOCK_EXTRAS)]'
	{ echo "# Generated by 'make lock' (do not edit): every version chatproto and its extras"; \
	  echo "# ($(LOCK_EXTRAS)) resolved to, with $$($(LOCK_VENV)/bin/python -V). Used as pip -c."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --all --exclude chatproto --exclude setuptools; \
	} > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf $(LOCK_VENV) build

clean:
	rm -rf $(VENV) build *.egg-info _trial_temp .mypy_cache .ruff_cache .pytest_cache

include bench/bench.mk
