"""Several nodes through Redis: deliveries/s with and without Redis, one and two nodes.

Three configurations, each a room of N clients (1000 by default) flooded by
10 senders exactly as ``make bench`` floods it (bench/loadgen.py, no poll gap):

  one node          one server on CPU 0, no Redis (the JSON Lines history), generator on CPU 1;
  one node + Redis  the same server with ``--redis``; redis-server and the generator on CPU 1;
  two nodes         N/2 clients on each of two servers with ``--redis``, one on CPU 0, the
                    other on CPU 1; redis-server and the generator share both cores.

Senders and the observer alternate between the nodes of a run, so every
message crosses Redis. Runs are interleaved, median of ``--runs``. Each
figure is the whole room's deliveries/s; per node is that over the number of
nodes. Redis's own CPU (its process, as a share of one core) and the round
trips it served per second (EVALSHA for writes, XREAD for reads, from its
INFO commandstats) are measured over the flood.

    python -m bench.redis_bench --twistd .venv/bin/twistd [--runs 3] [--clients 1000]

The machine has two cores: the two-node run puts the generator and Redis on
the nodes' cores, so it measures what two nodes deliver when they must share
them, not what two machines would.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.loadgen import LoadGenerator, doors, raise_fd_limit
from bench.run_bench import (
    CHAT_BURST,
    CHAT_RATE,
    RESULTS,
    free_ports,
    process_cpu_seconds,
    stop,
    wait_for_ports,
    wait_for_quiet,
)

SENDERS = 10
WINDOW = 16
SIZE = 100
WARMUP = 1.0
DURATION = 4.0
#: The goals: one node with Redis against without; two nodes against one without.
GOAL_ONE_NODE = 0.8
GOAL_TWO_NODES = 1.6


@dataclass(frozen=True)
class Config:
    """One configuration: a CPU list per node, and where Redis and the generator run."""

    name: str
    node_cpus: tuple[str, ...]
    redis: bool
    redis_cpu: str | None
    gen_cpu: str | None


CONFIGS = (
    Config("one node", ("0",), False, None, "1"),
    Config("one node + Redis", ("0",), True, "1", "1"),
    Config("two nodes", ("0", "1"), True, None, None),
)


def pinned(cpu: str | None, command: list[str]) -> list[str]:
    """C{command} pinned to C{cpu} with taskset (as it is when C{cpu} is None)."""
    return ["taskset", "-c", cpu, *command] if cpu is not None else command


def redis_info(port: int) -> dict[str, int]:
    """EVALSHA and XREAD calls and all commands Redis has served so far."""
    out = subprocess.run(
        ["redis-cli", "-p", str(port), "INFO", "all"], capture_output=True, text=True, check=True
    ).stdout
    figures = {"commands": 0, "evalsha": 0, "xread": 0}
    for line in out.splitlines():
        if line.startswith("total_commands_processed:"):
            figures["commands"] = int(line.split(":")[1])
        for command in ("evalsha", "xread"):
            if line.startswith(f"cmdstat_{command}:"):
                figures[command] = int(line.split("calls=")[1].split(",")[0])
    return figures


def start_redis(directory: Path, cpu: str | None) -> tuple[subprocess.Popen[bytes], int]:
    """redis-server as the docs recommend for chat (append-only, fsync every second)."""
    (port,) = free_ports(1)
    command = pinned(
        cpu,
        [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(directory),
        ],
    )  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    if not wait_for_ports([port], proc, 10.0):
        raise RuntimeError("redis-server did not start")
    return proc, port


def start_node(
    twistd: str, directory: Path, cpu: str, redis_port: int | None, log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """One chat server; with Redis, wait until it serves the room."""
    (port,) = free_ports(1)
    command = [
        twistd, "--pidfile=", "-n", "chat", "--port", f"tcp:{port}:interface=127.0.0.1",
        "--history-file", str(directory / f"history-{port}.jsonl"), "--history-replay", "0",
        "--rate", CHAT_RATE, "--burst", CHAT_BURST,
    ]  # fmt: skip
    if redis_port is not None:
        command += ["--redis", f"redis://127.0.0.1:{redis_port}/0"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            pinned(cpu, command), cwd=directory, stdout=out, stderr=subprocess.STDOUT
        )
    if not wait_for_ports([port], proc, 20.0):
        raise RuntimeError(f"a node did not start: see {log}")
    deadline = time.monotonic() + 20.0
    while redis_port is not None and b"serves the room through Redis" not in log.read_bytes():
        if time.monotonic() > deadline:
            raise RuntimeError(f"a node did not reach Redis: see {log}")
        time.sleep(0.1)
    return proc, port


def run_once(config: Config, twistd: str, clients: int, window: int, log: Path) -> dict[str, Any]:
    """Start the configuration, join and flood the room, stop everything; the figures."""
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as scratch:
        directory = Path(scratch)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            redis_port = None
            if config.redis:
                redis, redis_port = start_redis(directory, config.redis_cpu)
                procs.append(redis)
            nodes = [
                start_node(twistd, directory, cpu, redis_port, log) for cpu in config.node_cpus
            ]
            procs += [proc for proc, _ in nodes]
            return measure(config, nodes, redis_port, procs, clients, window)
        finally:
            for proc in reversed(procs):
                stop(proc)


def measure(
    config: Config,
    nodes: list[tuple[subprocess.Popen[bytes], int]],
    redis_port: int | None,
    procs: list[subprocess.Popen[bytes]],
    clients: int,
    window: int,
) -> dict[str, Any]:
    """Join C{clients} spread over C{nodes}, flood, and collect every figure."""
    if config.gen_cpu is not None:
        os.sched_setaffinity(0, {int(config.gen_cpu)})
    else:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    # Each node is a door of the room: clients are dealt to the nodes in turn, so
    # senders and the observer sit on every node.
    nodes_as_doors = doors("127.0.0.1", [("chat", port) for _proc, port in nodes])
    gen = LoadGenerator(nodes_as_doors, nodes[0][0].pid, SENDERS)
    per_node = clients // len(nodes)
    room, _figures = gen.join(per_node * len(nodes), 32, "N", 120.0)
    gen.settle(5.0, shortest=1.0)
    cpu_before = [process_cpu_seconds(proc.pid) for proc in procs]
    info_before = redis_info(redis_port) if redis_port is not None else None
    started = time.monotonic()
    flood = gen.flood(room, SENDERS, window, SIZE, WARMUP, DURATION, 0.0)
    wall = time.monotonic() - started
    used = [
        process_cpu_seconds(proc.pid) - before
        for proc, before in zip(procs, cpu_before, strict=True)
    ]
    cpu = [seconds / wall for seconds in used]
    result: dict[str, Any] = {
        "config": config.name,
        "nodes": len(nodes),
        "clients": len(room),
        "deliveries_per_s": flood["deliveries_per_s"],
        "per_node_deliveries_per_s": flood["deliveries_per_s"] // len(nodes),
        "messages_per_s": flood["messages_per_s"],
        "lost": flood["lost"],
        "node_cpu": [round(share, 3) for share in cpu[-len(nodes) :]],
        "gen_cpu": flood.get("gen_cpu"),
    }
    # A node's CPU per delivery it makes, and so what one busy core of it would deliver.
    node_cpu = sum(cpu[-len(nodes) :])
    if node_cpu and flood["deliveries_per_s"]:
        result["node_ns_per_delivery"] = round(node_cpu / flood["deliveries_per_s"] * 1e9, 1)
        result["deliveries_per_node_core"] = round(flood["deliveries_per_s"] / node_cpu)
    if redis_port is not None and info_before is not None:
        after = redis_info(redis_port)
        result["redis_cpu"] = round(cpu[0], 3)
        for key in ("commands", "evalsha", "xread"):
            result[f"redis_{key}_per_s"] = round((after[key] - info_before[key]) / wall)
    gen.leave(room)
    return result


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    """The median of C{key} over C{runs}."""
    values = [run[key] for run in runs if isinstance(run.get(key), int | float)]
    return statistics.median(values) if values else None


def spread(runs: list[dict[str, Any]]) -> str:
    """The lowest and highest deliveries/s of C{runs}, in millions."""
    values = [run["deliveries_per_s"] / 1e6 for run in runs]
    return f"{min(values):.2f}-{max(values):.2f}M"


def report(by_config: dict[str, list[dict[str, Any]]]) -> str:
    """The table and the goals, in words."""
    lines = [
        "| configuration | deliveries/s (room) | runs' range | per node | node CPU | "
        "generator CPU | node ns per delivery | deliveries/s per busy node core | Redis CPU | "
        "Redis round trips/s (EVALSHA + XREAD) | Redis commands/s |",
        "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    medians: dict[str, float] = {}
    for name, runs in by_config.items():
        room = median_of(runs, "deliveries_per_s") or 0.0
        medians[name] = room
        per_node = median_of(runs, "per_node_deliveries_per_s") or 0.0
        node_cpu = " / ".join(
            f"{statistics.median(run['node_cpu'][i] for run in runs):.0%}"
            for i in range(len(runs[0]["node_cpu"]))
        )
        redis_cpu = median_of(runs, "redis_cpu")
        trips = [
            run["redis_evalsha_per_s"] + run["redis_xread_per_s"]
            for run in runs
            if "redis_evalsha_per_s" in run
        ]
        commands = median_of(runs, "redis_commands_per_s")
        gen_cpu = median_of(runs, "gen_cpu") or 0.0
        cost = median_of(runs, "node_ns_per_delivery") or 0.0
        capacity = median_of(runs, "deliveries_per_node_core") or 0.0
        lines.append(
            f"| {name} | {room:,.0f} | {spread(runs)} | {per_node:,.0f} | {node_cpu} | "
            f"{gen_cpu:.0%} | "
            f"{cost:.0f} | {capacity:,.0f} | "
            f"{f'{redis_cpu:.0%}' if redis_cpu is not None else '-'} | "
            f"{f'{statistics.median(trips):,.0f}' if trips else '-'} | "
            f"{f'{commands:,.0f}' if commands is not None else '-'} |"
        )
    base = medians.get("one node") or 0.0
    if base:
        one = medians.get("one node + Redis", 0.0) / base
        two = medians.get("two nodes", 0.0) / base
        lines.append("")
        lines.append(
            f"one node + Redis / one node: {one:.2f}x (goal >= {GOAL_ONE_NODE}x: "
            f"{'met' if one >= GOAL_ONE_NODE else 'missed'})"
        )
        lines.append(
            f"two nodes / one node: {two:.2f}x (goal >= {GOAL_TWO_NODES}x: "
            f"{'met' if two >= GOAL_TWO_NODES else 'missed'})"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--twistd", required=True, help="the twistd of the installed chatproto")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--window", type=int, default=WINDOW, help="messages in flight per sender")
    p.add_argument("--quiet-wait", type=float, default=30.0, help="seconds to wait for idle cores")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every configuration, interleaved; print and save the table."""
    args = parse_args(argv)
    if shutil.which("redis-server") is None:
        print("redis-server is not installed (apt-get install redis-server)", file=sys.stderr)
        return 1
    twistd = str(Path(args.twistd).resolve())
    raise_fd_limit(args.clients * 2 + 100)
    RESULTS.mkdir(exist_ok=True)
    log = RESULTS / "redis-servers.log"
    by_config: dict[str, list[dict[str, Any]]] = {config.name: [] for config in CONFIGS}
    for run in range(args.runs):
        for config in CONFIGS:
            wait_for_quiet(args.quiet_wait)
            print(f"[redis-bench] run {run + 1}: {config.name}", file=sys.stderr, flush=True)
            by_config[config.name].append(run_once(config, twistd, args.clients, args.window, log))
    table = report(by_config)
    name = "redis" if args.window == WINDOW else f"redis-window{args.window}"
    (RESULTS / f"{name}.json").write_text(json.dumps(by_config, indent=2))
    (RESULTS / f"{name}.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
