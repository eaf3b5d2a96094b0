"""Side-by-side benchmark of our chat server's doors and their peers, median of 3 runs.

Targets: our TCP door (``chatproto``), our WebSocket door (``chatproto-ws``),
one room with half the clients on each door (``chatproto-mixed``), the TCP
door of an earlier commit (``baseline``, with ``--baseline-rev REV``), and the
peers: a Node.js ``ws`` broadcast server (``node-ws``) and a Go gorilla/websocket hub
(``go-ws``) for the WebSocket door, ngIRCd and InspIRCd for the TCP and IRC doors.

Each run starts a fresh server pinned to CPU 0 (``taskset -c 0``) on free
loopback ports, runs the load generator (L{bench.loadgen}) pinned to CPU 1,
and stops the server. Runs of the targets are interleaved, so a slow drift of
the machine touches every target alike. Every figure of the tables is the
median over the runs; a ratio is one target's figure divided by another's.

The IRC peers run when their Debian packages are installed (``make
bench-peers``), as the unprivileged user ``irc`` (via setpriv) when we are root,
with the loopback-only configurations rendered from bench/peers/*.conf.in. The
Node peer (bench/peers/ws-broadcast.js) runs with the ``ws`` version pinned in
L{bench.builds}, which installs it with npm on first use, and the baseline
commit into a virtualenv of its own. The Go peer (bench/peers/go-hub) is built by
``make bench`` into bench/results/go-hub.

Issue 21's figures (L{bench.issue21}) close the output: joins/s, handshake p99, KiB per
idle client and chat p99 of every door beside the peers', with the goals; with
C{--idle-10k}, once per door (not per run), the memory of 10,000 idle clients; with
C{--logins}, once, L{bench.logins} against a server pinned like the others (argon2id
verifications/s, logins/s, chat p99 idle and during a login storm).

Other processes on the two cores skew every figure: before each run the
runner waits (a while) for both cores to be quiet, and it reports how much CPU
others took during each run.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import resource
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.adapters import IrcAdapter
from bench.builds import (
    GO_HUB,
    WS_VERSION,
    BuildError,
    go_version,
    gorilla_version,
    install_commit,
    install_node_ws,
    node_version,
)
from bench.figures import fmt, number
from bench.issue21 import (
    GOAL_INFLIGHT,
    IDLE_CLIENTS,
    IDLE_PHASE,
    IRC_PEERS,
    goal_lines,
    goal_report,
    logins_lines,
    summary_table,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = HERE / "peers"
RESULTS = HERE / "results"
SERVER_CPU = "0"
LOADGEN_CPU = "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

#: The rate limit is raised for the flooding senders (docs/protocol.md section 7); every
#: other limit keeps its default.
CHAT_RATE = "1000000"
CHAT_BURST = "1000000"

GOALS = {
    "deliveries_per_s": 2_000_000,
    "kib_per_client": 4.0,
    "joins_per_s": 10_000,
}


@dataclass
class Target:
    """One server under test and how to start it."""

    name: str
    #: The load generator's doors: (protocol, index into the server's ports).
    doors: list[tuple[str, int]]
    #: Handshakes in flight in the joins phase.
    inflight: int
    #: Builds the command line from (ports, scratch directory).
    command: Callable[[Sequence[int], Path], list[str]]
    #: How many loopback ports the server listens on.
    ports: int = 1
    note: str = ""
    #: Extra environment of the server process.
    env: dict[str, str] = field(default_factory=dict)
    #: The load generator's options of this target (before the runner's own, which win).
    loadgen_args: list[str] = field(default_factory=list)


#: Every target, in the order of the tables.
TARGET_NAMES = [
    "chatproto",
    "baseline",
    "chatproto-rooms",
    "chatproto-metrics",
    "chatproto-ws",
    "chatproto-mixed",
    "node-ws",
    "go-ws",
]
#: The many-room configuration (docs/performance.md, "Rooms"): the N=1000 clients dealt
#: into 100 rooms of 10 (each also joins 9 rooms shared by more: 10 room joins a client),
#: every room flooded at once by one of its members; the one-room figures in the same run.
ROOMS = 100
ROOMS_LOADGEN_ARGS = [
    "--rooms",
    str(ROOMS),
    "--rooms-per-client",
    "10",
    "--phases",
    "joins,room-joins,flood,latency,rooms-flood,rooms-latency",
]
#: Our IRC door, measured beside the IRC peers with the same generator.
IRC_DOOR = "chatproto-irc"
#: Handshakes in flight in the joins phase, the goal's (ngIRCd takes fewer, see its note).
JOIN_INFLIGHT = GOAL_INFLIGHT
#: The one-run phase of C{--idle-10k}: L{IDLE_CLIENTS} clients join (a generous time limit:
#: each join notifies every member, so joins slow down as the room grows) and stay idle.
IDLE_LOADGEN_ARGS = ["--clients", str(IDLE_CLIENTS), "--phases", "joins,rss", "--join-limit", "900"]
#: Our doors measured in that phase.
IDLE_DOORS = ["chatproto", "chatproto-ws", IRC_DOOR]


def free_ports(count: int) -> list[int]:
    """C{count} distinct TCP ports on 127.0.0.1 that nobody listens on right now."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def find_program(name: str) -> str | None:
    """The path of C{name} on PATH or in the sbin directories, if installed."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")


def as_irc_user() -> list[str]:
    """The setpriv prefix that drops to the user irc, when we are root (else nothing)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("irc")
    except KeyError:
        return []
    return ["setpriv", "--reuid=irc", "--regid=irc", "--clear-groups", "--"]


def render_peer_config(name: str, port: int, directory: Path) -> Path:
    """Write bench/peers/NAME.conf.in with C{port} and C{directory} filled in; return it."""
    template = string.Template((PEERS / f"{name}.conf.in").read_text())
    path = directory / f"{name}.conf"
    path.write_text(template.substitute(port=port, dir=str(directory)))
    path.chmod(0o644)
    return path


def prepare_scratch(directory: Path) -> None:
    """Make C{directory} usable by the peers' unprivileged user."""
    directory.chmod(0o755)
    if os.geteuid() == 0:
        try:
            irc = pwd.getpwnam("irc")
        except KeyError:
            return
        os.chown(directory, irc.pw_uid, irc.pw_gid)


def chat_command(
    twistd: str, websocket: bool, metrics: bool = False
) -> Callable[[Sequence[int], Path], list[str]]:
    """The command line of our server: the TCP door on the first port, the WebSocket door
    on the second if C{websocket}, else --metrics-port there if C{metrics}."""

    def command(ports: Sequence[int], directory: Path) -> list[str]:
        line = [
            twistd,
            "--pidfile=",
            "-n",
            "chat",
            "--port",
            f"tcp:{ports[0]}:interface=127.0.0.1",
            "--history-file",
            str(directory / "history.jsonl"),
            "--history-replay",
            "0",
            "--rate",
            CHAT_RATE,
            "--burst",
            CHAT_BURST,
        ]
        if websocket:
            line += ["--ws-port", f"tcp:{ports[1]}:interface=127.0.0.1"]
        elif metrics:
            line += ["--metrics-port", f"tcp:{ports[1]}:interface=127.0.0.1"]
        return line

    return command


def irc_door_command(twistd: str) -> Callable[[Sequence[int], Path], list[str]]:
    """Our server with the IRC door on the measured port (the TCP door on a second port
    nobody uses), its channel the generator's."""
    chat = chat_command(twistd, False)

    def command(ports: Sequence[int], directory: Path) -> list[str]:
        return [
            *chat([ports[1]], directory),
            "--irc-port",
            f"tcp:{ports[0]}:interface=127.0.0.1",
            "--irc-channel",
            IrcAdapter().channel,
            "--irc-server-name",
            "bench.chatproto.local",
        ]

    return command


def irc_door_goals(meds: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The IRC door's goals against InspIRCd (deliveries/s at N=1000 at least 1.5x, p99 no
    worse), each (met, measured, target)."""
    ours, peer = meds.get(IRC_DOOR), meds.get("inspircd")
    if not ours or not peer:
        return {}
    checks: dict[str, Any] = {}
    wanted = [
        ("irc deliveries_per_s>=1.5x inspircd", "flood.deliveries_per_s", 1.5, True),
        ("irc p99<=inspircd", "latency.p99_ms", 1.0, False),
    ]
    for name, metric, factor, at_least in wanted:
        measured, theirs = ours.get(metric), peer.get(metric)
        if measured is None or theirs is None:
            continue
        target = theirs * factor
        checks[name] = (measured >= target if at_least else measured <= target, measured, target)
    return checks


def has_websocket_door(twistd: str) -> bool:
    """Whether this build's C{twistd chat} takes C{--ws-port} (has the WebSocket door)."""
    done = subprocess.run(
        [twistd, "chat", "--help"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return "--ws-port" in done.stdout


def targets(
    twistd: str, wanted: Sequence[str], baseline_rev: str | None, log: Path
) -> tuple[dict[str, Target], dict[str, str]]:
    """The wanted targets this machine can run, by name, and why each other one cannot run.

    The baseline and the Node peer are installed here (once) when wanted.
    """
    found: dict[str, Target] = {}
    missing: dict[str, str] = {}
    if not Path(twistd).exists():
        missing["chatproto"] = f"no {twistd} (run `make install`)"
    else:
        found["chatproto"] = Target(
            "chatproto", [("chat", 0)], JOIN_INFLIGHT, chat_command(twistd, False)
        )
        if "chatproto-rooms" in wanted:
            found["chatproto-rooms"] = Target(
                "chatproto-rooms",
                [("chat", 0)],
                JOIN_INFLIGHT,
                chat_command(twistd, False),
                note=f"the TCP door; {ROOMS} rooms of 10 flooded at once, one sender each; "
                "room latency probes in one room of 10 while the others are quiet",
                loadgen_args=ROOMS_LOADGEN_ARGS,
            )
        if "chatproto-metrics" in wanted:
            found["chatproto-metrics"] = Target(
                "chatproto-metrics",
                [("chat", 0)],
                JOIN_INFLIGHT,
                chat_command(twistd, False, metrics=True),
                ports=2,
                note="the TCP door with --metrics-port: every metric counted (none scraped)",
            )
        if IRC_DOOR in wanted:
            found[IRC_DOOR] = Target(
                IRC_DOOR, [("irc", 0)], JOIN_INFLIGHT, irc_door_command(twistd), ports=2
            )
        if {"chatproto-ws", "chatproto-mixed"} & set(wanted):
            if has_websocket_door(twistd):
                found["chatproto-ws"] = Target(
                    "chatproto-ws", [("ws", 1)], JOIN_INFLIGHT, chat_command(twistd, True), ports=2
                )
                found["chatproto-mixed"] = Target(
                    "chatproto-mixed",
                    [("chat", 0), ("ws", 1)],
                    JOIN_INFLIGHT,
                    chat_command(twistd, True),
                    ports=2,
                    note="clients alternate between the TCP and the WebSocket door; "
                    "5 senders on each",
                )
            else:
                reason = "the WebSocket door is not available: `twistd chat` rejects --ws-port"
                missing["chatproto-ws"] = missing["chatproto-mixed"] = reason
    if "baseline" in wanted:
        if not baseline_rev:
            missing["baseline"] = "no --baseline-rev given"
        else:
            try:
                commit, old_twistd = install_commit(baseline_rev, log)
            except BuildError as e:
                missing["baseline"] = str(e)
            else:
                found["baseline"] = Target(
                    "baseline",
                    [("chat", 0)],
                    JOIN_INFLIGHT,
                    chat_command(str(old_twistd), False),
                    note=f"the TCP door of {baseline_rev} ({commit[:12]})",
                )
    if "node-ws" in wanted:
        try:
            modules = install_node_ws(log)
        except BuildError as e:
            missing["node-ws"] = str(e)
        else:
            script = str(PEERS / "ws-broadcast.js")
            found["node-ws"] = Target(
                "node-ws",
                [("ws-broadcast", 0)],
                JOIN_INFLIGHT,
                lambda ports, _directory: ["node", script, str(ports[0])],
                env={"NODE_PATH": str(modules)},
                note=f"ws {WS_VERSION}; a join is the bare WebSocket upgrade (no nickname, "
                "no welcome): its joins/s is not comparable",
            )
    if "go-ws" in wanted:
        if not GO_HUB.exists():
            missing["go-ws"] = f"no {GO_HUB} (`make bench` builds it)"
        else:
            found["go-ws"] = Target(
                "go-ws",
                [("ws-broadcast", 0)],
                JOIN_INFLIGHT,
                lambda ports, _directory: [str(GO_HUB), str(ports[0])],
                note=f"gorilla/websocket {gorilla_version()} hub, {go_version()}; a join is the "
                "bare WebSocket upgrade, as node-ws's",
            )
    ngircd = find_program("ngircd")
    if ngircd:

        def ngircd_command(ports: Sequence[int], directory: Path) -> list[str]:
            conf = render_peer_config("ngircd", ports[0], directory)
            return [*as_irc_user(), ngircd, "-n", "-f", str(conf)]

        found["ngircd"] = Target(
            "ngircd",
            [("irc", 0)],
            8,
            ngircd_command,
            note="listen backlog 10: joins measured with 8 handshakes in flight",
        )
    inspircd = find_program("inspircd")
    if inspircd:

        def inspircd_command(ports: Sequence[int], directory: Path) -> list[str]:
            conf = render_peer_config("inspircd", ports[0], directory)
            return [*as_irc_user(), inspircd, "--config", str(conf), "--nofork", "--nopid"]

        found["inspircd"] = Target(
            "inspircd",
            [("irc", 0)],
            100,
            inspircd_command,
            note="completes registrations once a second: its joins/s is the 100 in flight, "
            "not comparable; its RSS grows with the handshakes in flight",
        )
    for name in IRC_PEERS:
        if name not in found:
            missing[name] = "not installed (run `make bench-peers`)"
    return found, missing


# -- machine noise ----------------------------------------------------------------------


def cpu_busy_ticks(cpus: Sequence[str] = (SERVER_CPU, LOADGEN_CPU)) -> dict[str, int]:
    """Busy clock ticks (user, nice, system, steal) of each of C{cpus} so far."""
    busy: dict[str, int] = {}
    with open("/proc/stat") as stat:
        for line in stat:
            name, *values = line.split()
            if name.startswith("cpu") and name[3:] in cpus:
                ticks = [int(v) for v in values]
                busy[name[3:]] = ticks[0] + ticks[1] + ticks[2] + ticks[7]
    return busy


def wait_for_quiet(longest: float, threshold: float = 0.10) -> float:
    """Wait (up to C{longest} s) until both cores are under C{threshold} busy for a second.

    Returns the busiest core's share in the last second measured.
    """
    deadline = time.monotonic() + longest
    while True:
        before = cpu_busy_ticks()
        time.sleep(1.0)
        after = cpu_busy_ticks()
        worst = max((after[c] - before[c]) / CLK_TCK for c in after)
        if worst < threshold or time.monotonic() >= deadline:
            return worst


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process C{pid} (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# -- one run -----------------------------------------------------------------------------


def wait_for_ports(ports: Sequence[int], proc: subprocess.Popen[bytes], limit: float) -> bool:
    """Wait until something accepts on each of C{ports}; False if C{proc} died or time ran out."""
    deadline = time.monotonic() + limit
    waiting = list(ports)
    while waiting and time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.5):
                waiting.pop(0)
        except OSError:
            time.sleep(0.1)
    return not waiting


def door_args(target: Target, ports: Sequence[int]) -> list[str]:
    """The load generator's options that name C{target}'s doors on C{ports}."""
    (proto, index), *others = target.doors
    args = ["--proto", proto, "--port", str(ports[index])]
    for other, other_index in others:
        args += ["--also", f"{other}:{ports[other_index]}"]
    return args


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> int | None:
    """SIGTERM C{proc}, then SIGKILL it after C{grace} seconds; return its status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def run_once(
    target: Target, loadgen_args: Sequence[str], log: Path, generator_root: Path = ROOT
) -> dict[str, Any]:
    """Start C{target} on CPU 0, run the generator (the C{bench} package under
    C{generator_root}) on CPU 1, stop it; return the figures."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{target.name}-") as scratch:
        directory = Path(scratch)
        prepare_scratch(directory)
        ports = free_ports(target.ports)
        command = ["taskset", "-c", SERVER_CPU, *target.command(ports, directory)]
        with open(log, "ab") as server_log:
            server_log.write(f"\n=== {' '.join(command)}\n".encode())
            server_log.flush()
            server = subprocess.Popen(
                command,
                cwd=directory,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **target.env},
            )
        try:
            if not wait_for_ports(ports, server, 20.0):
                raise RuntimeError(f"{target.name} did not start: see {log}")
            generator = [
                "taskset",
                "-c",
                LOADGEN_CPU,
                sys.executable,
                "-m",
                "bench.loadgen",
                *door_args(target, ports),
                "--server-pid",
                str(server.pid),
                "--join-inflight",
                str(target.inflight),
                *target.loadgen_args,
                *loadgen_args,
            ]
            busy_before = cpu_busy_ticks()
            server_before = process_cpu_seconds(server.pid)
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            done = subprocess.run(
                generator, cwd=generator_root, stdout=subprocess.PIPE, check=False
            )
            wall = time.monotonic() - started
            children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            server_cpu = process_cpu_seconds(server.pid) - server_before
            busy_after = cpu_busy_ticks()
            if server.poll() is not None:
                raise RuntimeError(f"{target.name} exited during the run: see {log}")
        finally:
            status = stop(server)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed against {target.name}")
    lines = done.stdout.decode().strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-1])
    generator_cpu = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    busy = sum(busy_after[c] - busy_before[c] for c in busy_after) / CLK_TCK
    result["others_cpu"] = round(max(0.0, busy - server_cpu - generator_cpu) / wall, 3)
    result["exit_status"] = status
    return result


# -- medians and the table --------------------------------------------------------------

#: (label, path in a run's JSON, better direction: +1 higher is better, -1 lower is better)
METRICS: list[tuple[str, tuple[str, str], int]] = [
    ("joins/s N={big}", ("joins", "joins_per_s"), 1),
    ("  handshakes in flight", ("joins", "inflight"), 0),
    ("  handshake p50 ms", ("joins", "handshake_p50_ms"), -1),
    ("  handshake p99 ms", ("joins", "handshake_p99_ms"), -1),
    ("  generator CPU", ("joins", "gen_cpu"), 0),
    ("RSS KiB per idle client N={big}", ("rss", "kib_per_client"), -1),
    (f"RSS KiB per idle client N={IDLE_CLIENTS:,} (1 run)", (IDLE_PHASE, "kib_per_client"), -1),
    (f"  joins/s N={IDLE_CLIENTS:,}", (IDLE_PHASE, "joins_per_s"), 1),
    ("  generator CPU", (IDLE_PHASE, "gen_cpu"), 0),
    ("deliveries/s N={big}", ("flood", "deliveries_per_s"), 1),
    ("  server core busy", ("flood", "server_core"), 0),
    ("  server core ns per delivery", ("flood", "server_ns_per_delivery"), -1),
    ("  generator CPU", ("flood", "gen_cpu"), 0),
    ("  generator core busy", ("flood", "gen_core"), 0),
    ("deliveries/s N={big} poll gap", ("flood-gap", "deliveries_per_s"), 1),
    ("  server core busy", ("flood-gap", "server_core"), 0),
    ("  generator CPU", ("flood-gap", "gen_cpu"), 0),
    ("  generator core busy", ("flood-gap", "gen_core"), 0),
    ("deliveries/s N={small}", ("small_flood", "deliveries_per_s"), 1),
    ("  server core busy", ("small_flood", "server_core"), 0),
    ("  server core ns per delivery", ("small_flood", "server_ns_per_delivery"), -1),
    ("  generator CPU", ("small_flood", "gen_cpu"), 0),
    ("deliveries/s N={small} poll gap", ("small_flood-gap", "deliveries_per_s"), 1),
    ("  server core busy", ("small_flood-gap", "server_core"), 0),
    ("  generator CPU", ("small_flood-gap", "gen_cpu"), 0),
    ("latency p50 ms N={big} 50/s", ("latency", "p50_ms"), -1),
    ("latency p99 ms N={big} 50/s", ("latency", "p99_ms"), -1),
    ("  p50 as read by generator", ("latency", "read_p50_ms"), -1),
    ("  p99 as read by generator", ("latency", "read_p99_ms"), -1),
    ("  generator CPU", ("latency", "gen_cpu"), 0),
    ("room joins/s, 10 rooms per client", ("room_joins", "joins_per_s"), 1),
    ("  generator CPU", ("room_joins", "gen_cpu"), 0),
    ("deliveries/s, 100 rooms of 10 at once", ("rooms_flood", "deliveries_per_s"), 1),
    ("  server core busy", ("rooms_flood", "server_core"), 0),
    ("  server core ns per delivery", ("rooms_flood", "server_ns_per_delivery"), -1),
    ("  generator CPU", ("rooms_flood", "gen_cpu"), 0),
    ("  generator core busy", ("rooms_flood", "gen_core"), 0),
    ("latency p50 ms in a room of 10, 50/s", ("rooms_latency", "p50_ms"), -1),
    ("latency p99 ms in a room of 10, 50/s", ("rooms_latency", "p99_ms"), -1),
    ("  generator CPU", ("rooms_latency", "gen_cpu"), 0),
    ("others' CPU (noise), core-seconds/s", ("others_cpu", ""), 0),
]


def pick(run: dict[str, Any], path: tuple[str, str]) -> float | None:
    """The figure at C{path} of one run's JSON, if there."""
    value: Any = run.get(path[0])
    if path[1]:
        value = value.get(path[1]) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else None


def medians(runs: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The median of every metric over C{runs}, keyed 'phase.figure'."""
    result: dict[str, float] = {}
    for _label, path, _better in METRICS:
        values = [v for v in (pick(r, path) for r in runs) if v is not None]
        if values:
            result[".".join(p for p in path if p)] = statistics.median(values)
    return result


@dataclass(frozen=True)
class Table:
    """One side-by-side table: its targets, and the ratios worth a column."""

    title: str
    names: list[str]
    ratios: list[tuple[str, str]]


TABLES = [
    Table(
        "rooms on the TCP door",
        ["chatproto-rooms", "chatproto", "baseline"],
        [("chatproto-rooms", "baseline"), ("chatproto", "baseline")],
    ),
    Table(
        "the TCP door with metrics on and off",
        ["chatproto-metrics", "chatproto"],
        [("chatproto-metrics", "chatproto")],
    ),
    Table(
        "the TCP door, the IRC door and the IRC peers",
        ["chatproto", IRC_DOOR, *IRC_PEERS],
        [("chatproto", peer) for peer in IRC_PEERS] + [(IRC_DOOR, peer) for peer in IRC_PEERS],
    ),
    Table(
        "the doors and the WebSocket peers (Node ws, Go gorilla/websocket)",
        [n for n in TARGET_NAMES if n not in ("chatproto-rooms", "chatproto-metrics")],
        [
            ("chatproto", "baseline"),
            ("chatproto-ws", "chatproto"),
            ("chatproto-ws", "node-ws"),
            ("chatproto-ws", "go-ws"),
            ("chatproto-mixed", "chatproto"),
        ],
    ),
]


def tables_to_show(measured: Sequence[str]) -> list[Table]:
    """The tables cut to the measured targets: those that compare two or more, else one."""
    cut = []
    for t in TABLES:
        names = [n for n in t.names if n in measured]
        if names:
            ratios = [(a, b) for a, b in t.ratios if a in names and b in names]
            cut.append(Table(t.title, names, ratios))
    return [t for t in cut if len(t.names) > 1] or cut[:1]


def table(
    names: Sequence[str],
    meds: dict[str, dict[str, float]],
    ratios: Sequence[tuple[str, str]],
    big: int = 1000,
    small: int = 100,
) -> str:
    """The side-by-side table: one column per target, then a column per (a, b): a/b."""
    header = ["metric", *names] + [f"{a}/{b}" for a, b in ratios]
    rows = [header]
    for label, path, better in METRICS:
        key = ".".join(p for p in path if p)
        if all(meds[n].get(key) is None for n in names):
            continue  # a phase that was not run
        row = [label.format(big=big, small=small)] + [fmt(meds[n].get(key)) for n in names]
        for a_name, b_name in ratios:
            a, b = meds[a_name].get(key), meds[b_name].get(key)
            row.append(f"{a / b:.2f}x" if better and a is not None and b else "")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def goals(meds: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The fan-out goals (at N=1000: 2M deliveries/s, 4 KiB per idle client, 10k joins/s, p99
    no worse than InspIRCd's), checked against the medians.

    Each check maps to (met, measured, target); a goal that is not measured is left out.
    """
    ours = meds.get("chatproto")
    if not ours:
        return {}
    peer_p99 = meds.get("inspircd", {}).get("latency.p99_ms")
    wanted = [
        ("deliveries_per_s>=2M", "flood.deliveries_per_s", GOALS["deliveries_per_s"], True),
        ("rss<=4KiB", "rss.kib_per_client", GOALS["kib_per_client"], False),
        ("joins_per_s>=10k", "joins.joins_per_s", GOALS["joins_per_s"], True),
        ("p99<=inspircd", "latency.p99_ms", peer_p99, False),
    ]
    checks: dict[str, Any] = {}
    for name, metric, target, at_least in wanted:
        measured = ours.get(metric)
        if measured is None or target is None:
            continue
        met = measured >= target if at_least else measured <= target
        checks[name] = (met, measured, target)
    return checks


@dataclass(frozen=True)
class RatioGoal:
    """A goal that one target's deliveries/s at N=1000 be a multiple of another's."""

    name: str
    numerator: str
    denominator: str
    factor: float
    #: "beats": strictly more, rather than at least.
    strict: bool = False


#: The doors' goals: the TCP door keeps at least 0.95x of the commit before the split into
#: doors, the WebSocket door reaches 0.8x the TCP door and beats the Node peer.
DOOR_GOALS = [
    RatioGoal("tcp>=0.95x baseline", "chatproto", "baseline", 0.95),
    RatioGoal("ws>=0.8x tcp", "chatproto-ws", "chatproto", 0.8),
    RatioGoal("ws beats node-ws", "chatproto-ws", "node-ws", 1.0, strict=True),
    # Metrics cost the hot path almost nothing: within 3% of the deliveries/s without.
    RatioGoal("metrics>=0.97x tcp", "chatproto-metrics", "chatproto", 0.97),
]
DOOR_METRIC = "flood.deliveries_per_s"
#: A flood whose generator core was this busy while the server's was not is
#: generator-bound: its deliveries/s is a lower bound of the server's.
GENERATOR_BOUND = 0.9


def door_goals(meds: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    """The doors' goals against the medians; a goal whose targets were not both measured
    is left out."""
    checks: dict[str, dict[str, Any]] = {}
    for goal in DOOR_GOALS:
        a = meds.get(goal.numerator, {}).get(DOOR_METRIC)
        b = meds.get(goal.denominator, {}).get(DOOR_METRIC)
        if a is None or not b:
            continue
        ratio = a / b
        met = ratio > goal.factor if goal.strict else ratio >= goal.factor
        pair = (goal.numerator, goal.denominator)
        costs = [meds[n].get("flood.server_ns_per_delivery") for n in pair]
        checks[goal.name] = {
            "met": met,
            goal.numerator: a,
            goal.denominator: b,
            "ratio": round(ratio, 3),
            "needed": goal.factor,
            "generator_bound": [
                n
                for n in pair
                if meds[n].get("flood.gen_core", 0.0) >= GENERATOR_BOUND
                and meds[n].get("flood.server_core", 1.0) < GENERATOR_BOUND
            ],
            "server_ns_per_delivery": costs if None not in costs else None,
        }
    return checks


def describe_door_goal(goal: RatioGoal, check: dict[str, Any] | None, why: str) -> str:
    """One door goal's verdict: both figures, their ratio, and by how much it is met or missed."""
    if check is None:
        return f"{goal.name}: not measured ({why})"
    a, b = check[goal.numerator], check[goal.denominator]
    margin = check["ratio"] / goal.factor - 1
    verdict = f"ok by {margin:.0%}" if check["met"] else f"MISSED by {-margin:.0%}"
    text = (
        f"{goal.name} {verdict} ({goal.numerator} {number(a)} / {goal.denominator} "
        f"{number(b)} = {check['ratio']:.2f}x, needs {'>' if goal.strict else '>='}"
        f"{goal.factor:g}x)"
    )
    costs = check["server_ns_per_delivery"]
    if check["generator_bound"] and costs:
        text += (
            f"; generator-bound ({', '.join(check['generator_bound'])}): server core per "
            f"delivery {costs[0]:,.0f} / {costs[1]:,.0f} ns = {costs[0] / costs[1]:.2f}x"
        )
    return text


def describe_goal(name: str, check: tuple[bool, float, float]) -> str:
    """One goal's verdict, with by how much it is met or missed."""
    met, measured, target = check
    verdict = "ok" if met else "MISSED"
    return f"{name} {verdict} ({number(measured)} vs {number(target)}: {measured / target:.2f}x)"


def environment(available: dict[str, Target]) -> dict[str, str]:
    """What the figures were measured on: kernel, CPU model, Python, peer versions."""
    info = {"kernel": os.uname().release, "python": sys.version.split()[0]}
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    info["cores"] = str(os.cpu_count())
    if "node-ws" in available:
        info["node"] = node_version()
        info["ws"] = WS_VERSION
    if "go-ws" in available:
        info["go"] = go_version()
        info["gorilla_websocket"] = gorilla_version()
    if "baseline" in available:
        info["baseline"] = available["baseline"].note
    for name, flag in (("ngircd", "--version"), ("inspircd", "--version")):
        program = find_program(name)
        if name in available and program:
            out = subprocess.run([program, flag], capture_output=True, text=True, check=False)
            lines = (out.stdout or out.stderr).strip().splitlines()
            info[name] = lines[0] if lines else "?"
    return info


# -- issue 21's one-run measurements ------------------------------------------------------


def with_room_for_idle_clients(target: Target) -> Target:
    """C{target} (one of our doors) admitting L{IDLE_CLIENTS} clients and a few more
    (C{--max-clients}: its default is exactly 10,000), joined with the goal's handshakes in
    flight, for the C{--idle-10k} phase."""

    def command(ports: Sequence[int], directory: Path) -> list[str]:
        return [*target.command(ports, directory), "--max-clients", str(IDLE_CLIENTS + 200)]

    return replace(target, command=command, inflight=GOAL_INFLIGHT, loadgen_args=[])


def idle_figures(result: dict[str, Any]) -> dict[str, Any]:
    """The C{idle10k} figures of one run at L{IDLE_CLIENTS}: its joins phase's (joins/s,
    handshake times, the generator's CPU) and its memory per idle client."""
    return {**result.get("joins", {}), **result.get("rss", {})}


def measure_idle(
    names: Sequence[str], available: dict[str, Target], log: Path, args: argparse.Namespace
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """One run of each of our doors among C{names} with L{IDLE_CLIENTS} idle clients (not
    repeated when noisy: memory hardly moves with the machine's load); their figures, and
    the errors of those that failed."""
    once = argparse.Namespace(**{**vars(args), "noisy_retries": 0})
    figures: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for name in [n for n in IDLE_DOORS if n in names]:
        target = with_room_for_idle_clients(available[name])
        result = measure(target, IDLE_LOADGEN_ARGS, log, once, f"{IDLE_CLIENTS:,} idle")
        if isinstance(result, str):
            errors[name] = result
        else:
            figures[name] = idle_figures(result)
    return figures, errors


def measure_logins(log: Path, args: argparse.Namespace) -> dict[str, Any] | str:
    """One run of L{bench.logins} C{--server} (the server on CPU 0, the clients on CPU 1);
    its figures, or why it failed."""
    wait_for_quiet_cores(args)
    print("[bench] logins: bench.logins --server", file=sys.stderr, flush=True)
    command = ["taskset", "-c", LOADGEN_CPU, sys.executable, "-m", "bench.logins"]
    command += ["--server", "--server-cpu", SERVER_CPU]
    with open(log, "ab") as server_log:
        server_log.write(f"\n=== {' '.join(command)}\n".encode())
        server_log.flush()
        try:
            done = subprocess.run(
                command,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=server_log,
                timeout=600,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"bench.logins took more than 600 s: see {log}"
    lines = done.stdout.decode().strip().splitlines()
    if done.returncode != 0 or not lines:
        return f"bench.logins failed (exit status {done.returncode}): see {log}"
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


# -- command line ------------------------------------------------------------------------


def write_peer_configs(directory: Path, ports: dict[str, int]) -> None:
    """Render the peers' configurations into C{directory} with fixed ports (for manual runs)."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    prepare_scratch(directory)
    for name, port in ports.items():
        path = render_peer_config(name, port, directory)
        print(f"wrote {path} (port {port})")
    user = " ".join(as_irc_user())
    print("run them pinned, for example:")
    print(f"  taskset -c 0 {user} ngircd -n -f {directory / 'ngircd.conf'}")
    print(f"  taskset -c 0 {user} inspircd --config {directory / 'inspircd.conf'} --nofork --nopid")


def wait_for_quiet_cores(args: argparse.Namespace) -> None:
    """Wait (up to C{args.quiet_wait} s) for both cores to be quiet; say if they are not."""
    busiest = wait_for_quiet(args.quiet_wait)
    if busiest >= 0.10:
        print(f"[bench] cores busy ({busiest:.0%}): measuring anyway", file=sys.stderr)


def measure(
    target: Target,
    loadgen_args: Sequence[str],
    log: Path,
    args: argparse.Namespace,
    label: str,
    generator_root: Path = ROOT,
) -> dict[str, Any] | str:
    """One run of C{target}, repeated while others loaded the cores; the quietest, or an error.

    A run during which other processes took more than C{args.max_noise} core-seconds
    per second is repeated, up to C{args.noisy_retries} times.
    """
    best: dict[str, Any] | None = None
    for attempt in range(args.noisy_retries + 1):
        wait_for_quiet_cores(args)
        again = f" (again: others used {best['others_cpu']:.2f} cores)" if best else ""
        print(f"[bench] run {label}: {target.name}{again}", file=sys.stderr, flush=True)
        try:
            result = run_once(target, loadgen_args, log, generator_root)
        except (RuntimeError, json.JSONDecodeError, IndexError) as e:
            print(f"[bench] {target.name}: {e}", file=sys.stderr)
            return str(e)
        result["attempts"] = attempt + 1
        if best is None or result["others_cpu"] < best["others_cpu"]:
            best = result
        if best["others_cpu"] <= args.max_noise:
            break
    assert best is not None
    return best


def skip_reason(name: str, available: dict[str, Target], missing: dict[str, str]) -> str:
    """Why target C{name} has no figures."""
    if name in missing:
        return missing[name]
    if name in available:
        return "every run failed"
    if name in [*TARGET_NAMES, IRC_DOOR, *IRC_PEERS]:
        return "not in --targets"
    return "unknown target"


def add_noise_options(p: argparse.ArgumentParser) -> None:
    """The options of L{measure}: how long to wait for quiet cores, and what is too noisy."""
    p.add_argument("--quiet-wait", type=float, default=60.0, help="seconds to wait for idle cores")
    p.add_argument(
        "--max-noise",
        type=float,
        default=0.05,
        help="repeat a run during which other processes used more cores than this",
    )
    p.add_argument("--noisy-retries", type=int, default=2, help="repeats of a noisy run, at most")


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """The runner's options; unknown ones go to the load generator."""
    p = argparse.ArgumentParser(
        description="Benchmark our chat server side by side with ngIRCd and InspIRCd.",
        epilog="Other options (e.g. --duration 2 --clients 500) are passed to bench.loadgen.",
    )
    p.add_argument("--runs", type=int, default=3)
    p.add_argument(
        "--targets",
        default=",".join(n for n in [*TARGET_NAMES, IRC_DOOR, *IRC_PEERS] if n != "baseline"),
        help="comma-separated, of: " + ", ".join([*TARGET_NAMES, IRC_DOOR, *IRC_PEERS]),
    )
    p.add_argument("--twistd", default=str(ROOT / ".venv" / "bin" / "twistd"))
    p.add_argument(
        "--baseline-rev",
        metavar="REV",
        help="also measure the TCP door of commit REV (target 'baseline'), installed into "
        "its own virtualenv under $XDG_CACHE_HOME/chatproto-bench/",
    )
    add_noise_options(p)
    p.add_argument(
        "--idle-10k",
        action="store_true",
        help=f"once per door: the server's memory with {IDLE_CLIENTS:,} idle clients "
        f"({GOAL_INFLIGHT} handshakes in flight)",
    )
    p.add_argument(
        "--logins",
        action="store_true",
        help="once: bench.logins --server (argon2id, logins/s, chat p99 during a login storm)",
    )
    p.add_argument("--write-peer-configs", metavar="DIR", help="only render the peer configs")
    return p.parse_known_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table and one JSON line."""
    args, loadgen_args = parse_args(argv)
    if args.write_peer_configs:
        write_peer_configs(Path(args.write_peer_configs), {"ngircd": 16667, "inspircd": 16668})
        return 0
    if os.cpu_count() is None or (os.cpu_count() or 0) < 2:
        print("the benchmark needs two cores (server on 0, generator on 1)", file=sys.stderr)
        return 2
    wanted = [n for n in args.targets.split(",") if n]
    if args.baseline_rev and "baseline" not in wanted:
        wanted.insert(1, "baseline")
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log = RESULTS / f"servers-{stamp}.log"
    available, missing = targets(os.path.abspath(args.twistd), wanted, args.baseline_rev, log)
    names = [n for n in wanted if n in available]
    for name in wanted:
        if name not in available:
            print(
                f"[bench] {name}: skipped: {skip_reason(name, available, missing)}", file=sys.stderr
            )
    if not names:
        return 2
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    failures: dict[str, list[str]] = {n: [] for n in names}
    for round_ in range(1, args.runs + 1):
        for name in names:
            result = measure(available[name], loadgen_args, log, args, f"{round_}/{args.runs}")
            if isinstance(result, str):
                failures[name].append(result)
            else:
                runs[name].append(result)
    idle, idle_errors = measure_idle(names, available, log, args) if args.idle_10k else ({}, {})
    for name, error in idle_errors.items():
        failures[name].append(f"{IDLE_CLIENTS:,} idle: {error}")
    logins = measure_logins(log, args) if args.logins else None
    names = [n for n in names if runs[n]]
    if not names:
        print("[bench] every run failed", file=sys.stderr)
        return 1
    meds = {n: medians([*runs[n], {IDLE_PHASE: idle[n]}] if n in idle else runs[n]) for n in names}
    print()
    print(f"median of {args.runs} runs; server on CPU {SERVER_CPU}, generator on CPU {LOADGEN_CPU}")
    first = runs[names[0]][0]
    big = first.get("joins", {}).get("clients", 1000)
    small = first.get("small_joins", {}).get("clients", 100)
    for shown in tables_to_show(names):
        print(f"\n{shown.title}")
        print(table(shown.names, meds, shown.ratios, big, small))
    print()
    for name in names:
        if available[name].note:
            print(f"note: {name}: {available[name].note}")
    # The goals are stated for N=1000.
    checks = goals(meds) if big == 1000 else {}
    if checks:
        print("fan-out goals: " + ", ".join(describe_goal(k, v) for k, v in checks.items()))
        if not all(met for met, _, _ in checks.values()):
            print("why the misses: docs/performance.md, 'What the misses mean'")
    irc_checks = irc_door_goals(meds) if big == 1000 else {}
    if irc_checks:
        print("IRC door goals: " + ", ".join(describe_goal(k, v) for k, v in irc_checks.items()))
    door_checks = door_goals(meds) if big == 1000 else {}
    if big == 1000:
        print("door goals, deliveries/s N=1000:")
        for goal in DOOR_GOALS:
            absent = [n for n in (goal.numerator, goal.denominator) if n not in meds]
            why = "; ".join(f"{n}: {skip_reason(n, available, missing)}" for n in absent)
            print("  " + describe_door_goal(goal, door_checks.get(goal.name), why))
    print("\nissue 21: joins, handshakes, memory, chat p99 (generator CPU beside each figure)")
    print(summary_table(meds, big))
    if not args.idle_10k:
        print(f"(KiB per idle client at N={IDLE_CLIENTS:,}: skipped, BENCH_10K=no)")
    print("issue 21 goals:")
    for line in goal_lines(meds, big):
        print("  " + line)
    if isinstance(logins, dict):
        print(
            "\nissue 21 item 6: logins (bench.logins --server, server on CPU 0, clients on CPU 1)"
        )
        print("\n".join(logins_lines(logins)))
    elif logins is not None:
        print(f"\nissue 21 item 6: logins: {logins}")
    report = {
        "runs": args.runs,
        "loadgen_args": loadgen_args,
        "environment": environment(available),
        "median": meds,
        "goals": checks,
        "door_goals": door_checks,
        "irc_goals": irc_checks,
        "issue21_goals": goal_report(meds, big),
        "idle_10k": idle,
        "logins": logins,
        "skipped": {n: skip_reason(n, available, missing) for n in wanted if n not in names},
        "failures": {n: f for n, f in failures.items() if f},
        "raw": runs,
    }
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, separators=(",", ":")))
    return 0 if names and not any(failures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
