"""Where a join's time goes: py-spy on the server during the load generator's joins.

Run from the repository root, after ``make install`` and ``make bench`` (the hot
loop) and with py-spy in the virtualenv (``.venv/bin/pip install py-spy``; a
profiler, not a dependency)::

    .venv/bin/python -m bench.profile_joins --door chat --runs 3
    .venv/bin/python -m bench.profile_joins --door irc --twistd OTHER/venv/bin/twistd

Each run starts a fresh ``twistd chat`` (pinned to CPU 0, every door open, the
options of ``make bench``), samples it with ``py-spy record --format raw`` while
``bench.loadgen --phases joins`` (pinned to CPU 1) joins N clients with 100
handshakes in flight, and stops both. The samples of all runs are put in
buckets: each sample goes to the innermost frame of its stack that names one of
the steps of a join below (for example ``Hall._welcome`` inside
``Hall._accept`` counts as the welcome, not the bookkeeping). Samples in the
leaves that follow when the generator exits are left out. The output is one
line per bucket with its share and its busiest functions, then the generator's
figures (joins/s, handshake p99 and the server's CPU per join, the figure least
disturbed by other processes on a shared machine).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from bench.run_bench import free_ports, wait_for_ports

#: The steps of a join, each with the frames (substrings of py-spy's "function
#: (file:line)") whose samples it counts; the innermost match wins.
STEPS: Final = (
    ("account lookup: database thread", ("Thread._bootstrap",)),
    (
        "account lookup: reactor side",
        ("deferToThreadPool", "Workers.run", "Accounts.account_of", "NoAccountsWatch", "skeleton"),
    ),
    ("log line per join", ("Hall._log_joined", "Logger.emit", "FileLogObserver")),
    ("welcome: the user list", ("Hall._welcome",)),
    ("join notice: made and published", ("Hall._announce_join",)),
    ("notices written to every member", ("TurnBatcher.flush", "TurnBatcher._deliver")),
    ("replay", ("Room.replay",)),
    (
        "entrance: replay, welcome and READY written",
        ("Connection.enter", "Connection._stream_in_order", "_join_answered"),
    ),
    ("reading paused while the store answers", ("hold_reading", "release_reading")),
    ("nickname claim", ("LocalPresence.claim", "is_held")),
    ("hall bookkeeping", ("Hall._accept",)),
    ("accept and transport set-up", ("Port.doRead", "connectionMade", "makeConnection")),
    (
        "handshake: reading and parsing (door)",
        ("frame_received", "line_received", "onMessage", "dataReceived", "processHandshake"),
    ),
    ("reactor loop", ("doPoll", "runUntilCurrent", "mainLoop")),
)
#: Frames of the leaves after the generator exits: not a join's.
LEAVING: Final = ("Hall.leave", "Connection.leave", "connectionLost", "QuitFilter.filter")
#: The door's port among the server's (TCP, WebSocket, IRC).
DOORS: Final = {"chat": 0, "ws": 1, "irc": 2}
ROOT: Final = Path(__file__).resolve().parent.parent


def server_command(twistd: str, ports: Sequence[int], directory: Path) -> list[str]:
    """Our server with every door, as ``make bench`` starts it."""
    tcp, ws, irc = ports
    return [
        *("taskset", "-c", "0", twistd, "--pidfile=", "-n", "chat"),
        *("--port", f"tcp:{tcp}:interface=127.0.0.1", "--history-file"),
        *(str(directory / "history.jsonl"), "--history-replay", "0"),
        *("--rate", "1000000", "--burst", "1000000"),
        *("--ws-port", f"tcp:{ws}:interface=127.0.0.1"),
        *("--irc-port", f"tcp:{irc}:interface=127.0.0.1", "--irc-channel", "#bench"),
    ]


def step_of(frames: Sequence[str]) -> str | None:
    """The step a sample's stack (outermost first) counts for; None: a leave."""
    if any(mark in frame for frame in frames for mark in LEAVING):
        return None
    for frame in reversed(frames):
        for step, marks in STEPS:
            if any(mark in frame for mark in marks):
                return step
    return "other"


def buckets(raw: str) -> tuple[collections.Counter[str], dict[str, collections.Counter[str]]]:
    """Samples per step, and per step the functions the samples were in, from py-spy's
    raw output (one "frame;frame;... count" line per stack)."""
    steps: collections.Counter[str] = collections.Counter()
    leaves: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        step = step_of(frames)
        if step is None:
            continue
        steps[step] += int(count)
        leaves[step][frames[-1].split(" (")[0]] += int(count)
    return steps, leaves


def profile_once(twistd: str, door: str, clients: int, spy: str) -> tuple[str, dict[str, float]]:
    """One fresh server: its raw samples during the joins, and the generator's figures."""
    with tempfile.TemporaryDirectory(prefix="bench-profile-joins-") as scratch:
        directory = Path(scratch)
        ports = free_ports(3)
        server = subprocess.Popen(
            server_command(twistd, ports, directory),
            cwd=directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            if not wait_for_ports(ports, server, 60.0):
                raise RuntimeError("the server did not start")
            time.sleep(1.0)  # the account store opens after the doors
            raw = directory / "samples.txt"
            recorder = subprocess.Popen(
                [
                    *(spy, "record", "-p", str(server.pid), "-r", "250", "-f", "raw"),
                    *("-o", str(raw), "--nonblocking"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.7)  # py-spy attaches
            generator = subprocess.run(
                [
                    *("taskset", "-c", "1", sys.executable, "-m", "bench.loadgen", "--proto", door),
                    *("--port", str(ports[DOORS[door]]), "--server-pid", str(server.pid)),
                    *("--clients", str(clients), "--join-inflight", "100", "--phases", "joins"),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            recorder.send_signal(2)  # SIGINT: py-spy writes what it has
            recorder.wait(30)
            joins = json.loads(generator.stdout.strip().splitlines()[-1])["joins"]
            return raw.read_text(), joins
        finally:
            server.terminate()
            server.wait(30)


def main(argv: Sequence[str] | None = None) -> int:
    """Profile the joins of C{--runs} fresh servers; print the buckets and the figures."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--door", choices=sorted(DOORS), default="chat")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--twistd", default=str(Path(sys.executable).parent / "twistd"))
    p.add_argument("--py-spy", default=str(Path(sys.executable).parent / "py-spy"))
    args = p.parse_args(argv)
    steps: collections.Counter[str] = collections.Counter()
    leaves: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for run in range(args.runs):
        raw, joins = profile_once(args.twistd, args.door, args.clients, args.py_spy)
        run_steps, run_leaves = buckets(raw)
        steps.update(run_steps)
        for step, counter in run_leaves.items():
            leaves[step].update(counter)
        # The server's CPU is read from /proc in clock ticks: a phase under 0.2 s has none.
        cpu = joins.get("server_cpu")
        cpu_text = (
            f"{cpu * joins['seconds'] / joins['clients'] * 1e6:.0f} us per join"
            if cpu is not None
            else "not read (a phase under 0.2 s)"
        )
        print(
            f"run {run + 1}: {joins['joins_per_s']:,} joins/s, handshake p50/p99 "
            f"{joins['handshake_p50_ms']} / {joins['handshake_p99_ms']} ms, server CPU "
            f"{cpu_text}, load average {os.getloadavg()[0]:.1f}"
        )
    total = sum(steps.values())
    print(f"{total} samples of the server's joins ({args.door} door, {args.runs} runs)")
    for step, count in steps.most_common():
        busiest = ", ".join(f"{name} {n}" for name, n in leaves[step].most_common(3))
        print(f"{100 * count / total:5.1f}%  {step}  [{busiest}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
