# Benchmarks (docs/performance.md), included from the top-level Makefile (which defines
# BIN, STAMP, PYTHON).
#   make bench         our server on CPU 0, the load generator on CPU 1: the TCP door, the
#                      WebSocket door, a room with half the clients on each, the Node.js `ws`
#                      peer (npm installs its pinned ws into bench/results/ on first use), a
#                      Go gorilla/websocket hub (go-ws: built here, below), the IRC door and,
#                      when installed, ngIRCd and InspIRCd under the same workload; median of
#                      BENCH_RUNS runs. Then, once: each door's memory with 10,000 idle
#                      clients (skip with BENCH_10K=no) and bench.logins --server (argon2id,
#                      logins/s, chat p99 during a login storm; skip with BENCH_LOGINS=no);
#                      issue 21's table and goals close the output. Then the several-node
#                      figures (bench-redis, below; skip them with BENCH_REDIS=no).
#   make bench BENCH_BASELINE=REV
#                      also measures the TCP door of commit REV (installed into its own
#                      virtualenv under ~/.cache/chatproto-bench/) in the same run, for the
#                      goal that the TCP door keeps >= 0.95x of its deliveries/s.
#   make bench BENCH_TARGETS=chatproto-rooms,chatproto BENCH_BASELINE=cc5132f
#                      the many-room configuration (in the default targets): 100
#                      rooms of 10 flooded at once and the one room of 1,000 in
#                      the same run, room joins/s (10 rooms a client), beside the
#                      TCP door without rooms and the commit before rooms.
#   make bench BENCH_TARGETS=chatproto,chatproto-metrics BENCH_REDIS=no
#                      the cost of the metrics (--metrics-port): the TCP door with and
#                      without them in the same run; the goal is within 3% (0.97x).
#   make bench-peers   installs ngIRCd and InspIRCd (Debian packages) and writes their
#                      loopback-only configs to bench/results/peers/ for manual runs.
# BENCH_TARGETS picks targets (comma-separated; see `python -m bench.run_bench --help`).
# Extra load-generator options go in BENCH_ARGS, e.g. BENCH_ARGS="--duration 5 --window 32".
BENCH_RUNS ?= 3
BENCH_ARGS ?=
BENCH_TARGETS ?=
BENCH_BASELINE ?=
BENCH_REDIS ?= yes
BENCH_10K ?= yes
BENCH_LOGINS ?= yes
BENCH_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The load generator's hot loop (bench/fanout_loop.c): the floods and latency probes run
# there, so that the generator needs a small share of its core (docs/performance.md).
HOT_LOOP := bench/results/fanout-loop
# The Go WebSocket peer (bench/peers/go-hub), built offline in GOPATH mode against
# Debian's golang-go and gorilla/websocket packages (installed here when missing): no
# module download.
GO_HUB := bench/results/go-hub
GO_PACKAGES := golang-go golang-github-gorilla-websocket-dev
GOPATH_DEBIAN := /usr/share/gocode
# Built only when go-ws is among the targets (the default targets include it). A failed
# install or build is not fatal: the runner then skips go-ws and says why.
BENCH_GO := $(if $(BENCH_TARGETS),$(findstring go-ws,$(BENCH_TARGETS)),go-ws)

.PHONY: bench bench-peers

$(HOT_LOOP): bench/fanout_loop.c
	@mkdir -p $(@D)
	cc -O2 -Wall -Wextra -o $@ $<

$(GO_HUB): bench/peers/go-hub/main.go
	-@command -v go >/dev/null && [ -d $(GOPATH_DEBIAN)/src/github.com/gorilla/websocket ] || \
	  ($(BENCH_SUDO) apt-get update -qq && \
	   $(BENCH_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(GO_PACKAGES))
	@mkdir -p $(@D)
	-GO111MODULE=off GOPATH=$(GOPATH_DEBIAN) go build -o $@ ./bench/peers/go-hub

bench: $(STAMP) $(HOT_LOOP) $(if $(BENCH_GO),$(GO_HUB))
	$(BIN)/python -m bench.run_bench --runs $(BENCH_RUNS) --twistd $(BIN)/twistd \
	  $(if $(BENCH_TARGETS),--targets $(BENCH_TARGETS)) \
	  $(if $(filter yes,$(BENCH_10K)),--idle-10k) $(if $(filter yes,$(BENCH_LOGINS)),--logins) \
	  $(if $(BENCH_BASELINE),--baseline-rev $(BENCH_BASELINE)) $(BENCH_ARGS)
	$(if $(filter yes,$(BENCH_REDIS)),$(MAKE) --no-print-directory bench-redis)

bench-peers:
	$(BENCH_SUDO) apt-get update -qq
	$(BENCH_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ngircd inspircd
	@# Debian may start the packaged daemons on port 6667; the bench runs its own instances.
	@$(BENCH_SUDO) systemctl disable --now ngircd inspircd >/dev/null 2>&1 || true
	$(BENCH_SUDO) $(PYTHON) -m bench.run_bench --write-peer-configs bench/results/peers

# Several nodes through Redis: one node without and with Redis, and a room split
# over two nodes; median of BENCH_RUNS runs (bench/redis_bench.py, docs/performance.md).
.PHONY: bench-redis
bench-redis: $(STAMP) $(HOT_LOOP)
	@command -v redis-server >/dev/null || ($(BENCH_SUDO) apt-get update -qq && \
	  $(BENCH_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server)
	$(BIN)/python -m bench.redis_bench --runs $(BENCH_RUNS) --twistd $(BIN)/twistd
