"""Capacity: hold 10,000 idle joined clients on one server, then churn 10,000 connections.

Run from the repository root, after ``make install``::

    .venv/bin/python -m bench.capacity            # 10,000 idle, 10,000 churn cycles
    .venv/bin/python -m bench.capacity --clients 2000 --churn 2000   # a quick look

It starts the installed ``twistd -n chat`` on a loopback port with
``--max-clients`` raised, in a temporary directory, and drives it from this one
process with non-blocking sockets on one selector:

1. ``idle``: N clients connect and join (a bounded number of handshakes in
   flight), then stay joined and read whatever the room sends them (every
   later join and leave). A few parse what they read; the rest only count
   bytes, so that this process keeps up.
2. ``churn``: M connect/disconnect cycles, a bounded number at once, while the
   N idle clients stay. Even cycles leave mid-handshake (after the greeting;
   every other one first sends half of a nickname frame); odd cycles join,
   then leave, alternately with BYE and by just closing the socket.
3. ``fresh``: a new client joins, says something, and gets it back with an id;
   an idle client sees it too.

The server's memory comes from /proc/PID/status: VmRSS once the room is quiet
after each phase, and VmHWM (the peak). "No leak" means the RSS after the churn
is within 10% of the RSS before it. Each phase has a deadline; the whole run is
bounded by ``--time-limit``. The output is a table, then one JSON line.

Loopback addresses 127.0.0.0/8 are all local on Linux: clients bind to many of
them so that 20,000 connections and their TIME_WAIT states never exhaust the
ephemeral ports of one source address.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import re
import resource
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Final

#: The twistd of the virtualenv that runs this script (the installed plugin).
TWISTD: Final = Path(sys.executable).parent / "twistd"
#: Source addresses the clients bind to, in turn.
SOURCE_ADDRESSES: Final = [f"127.0.{n // 250}.{n % 250 + 2}" for n in range(500)]
#: How long the room must send nothing before its memory is read.
QUIET_SECONDS: Final = 1.0
#: A handshake not done within this many seconds is stalled (a listen backlog overflow).
HANDSHAKE_SECONDS: Final = 10.0
#: Idle clients that parse every frame (the others only count bytes).
OBSERVERS: Final = 3
LEAK_TOLERANCE: Final = 0.10
_PREFIX: Final = struct.Struct(">H")


class State(Enum):
    """Where one client connection is."""

    CONNECTING = "connecting"
    GREETING = "greeting"  # waiting for HELLO and NICK
    CHOOSING = "choosing"  # greeted, holding a connection slot without choosing a nickname
    READY = "ready"  # nickname sent, waiting for READY and the welcome
    JOINED = "joined"
    CLOSED = "closed"


@dataclass
class Client:
    """One client socket and what the run wants from it."""

    sock: socket.socket
    nickname: str
    #: Parse every frame (observers and the fresh client) instead of only counting bytes.
    parse: bool = False
    #: Churn: leave right after the greeting instead of joining.
    mid_handshake: bool = False
    #: Churn, mid-handshake: first send half of a nickname frame.
    partial_frame: bool = False
    #: Stay choosing after the greeting (to count the server's free connection slots).
    hold: bool = False
    #: The server said server-full and closed.
    refused: bool = False
    #: The state the connection was in when it closed.
    closed_while: State | None = None
    state: State = State.CONNECTING
    opened: float = field(default_factory=time.monotonic)
    buffer: bytearray = field(default_factory=bytearray)
    frames: list[bytes] = field(default_factory=list)
    received: int = 0


class BenchError(RuntimeError):
    """The run could not do what it measures (deadline, refused connection, server died)."""


def frame(text: str) -> bytes:
    """One word-packet frame."""
    data = text.encode("utf-8")
    return _PREFIX.pack(len(data)) + data


def proc_status_kib(pid: int, field_name: str) -> int:
    """A KiB figure (VmRSS, VmHWM) of process C{pid}."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise BenchError(f"no {field_name} for pid {pid}")


def proc_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process C{pid} so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kernel_tcp_kib() -> int | None:
    """Memory the kernel holds in TCP socket buffers, system-wide (both ends of loopback)."""
    try:
        for line in Path("/proc/net/sockstat").read_text().splitlines():
            if line.startswith("TCP:"):
                fields = line.split()
                pages = int(fields[fields.index("mem") + 1])
                return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError):
        pass
    return None


def raise_own_fd_limit(needed: int) -> int:
    """Lift this process's RLIMIT_NOFILE to the hard limit; fail early when it is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else hard
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        raise BenchError(f"this process may open {soft} files, the run needs {needed}")
    return soft


class Server:
    """The installed `twistd -n chat`, logging to a file in its own directory."""

    def __init__(self, workdir: Path, max_clients: int, backlog: int) -> None:
        self.log_path = workdir / "twistd.log"
        port = f"tcp:0:interface=127.0.0.1:backlog={backlog}"
        args = [str(TWISTD), "--pidfile=", "-n", "chat"]
        args += ["--port", port, "--history-file", "history.jsonl"]
        args += ["--max-clients", str(max_clients), "--shutdown-grace", "0"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.pid = self.process.pid

    def log(self) -> str:
        """What the server has logged so far."""
        return self.log_path.read_text(errors="replace")

    def wait_listening(self, deadline: float) -> tuple[int, int | None]:
        """The port it listens on and the open-file limit it logged."""
        while time.monotonic() < deadline:
            found = re.search(r"WordPacketFactory starting on (\d+)", self.log())
            if found:
                limit = re.search(r"open-file limit is (\d+)", self.log())
                return int(found.group(1)), int(limit.group(1)) if limit else None
            if self.process.poll() is not None:
                raise BenchError(f"twistd exited at start:\n{self.log()}")
            time.sleep(0.05)  # a subprocess's log file cannot be selected on
        raise BenchError("twistd did not start listening in time")

    def check_alive(self) -> None:
        """Fail the run if the server died."""
        if self.process.poll() is not None:
            raise BenchError(f"twistd died ({self.process.returncode}):\n{self.log()[-2000:]}")

    def stop(self) -> int | None:
        """SIGINT, a bounded wait, then SIGKILL; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class Driver:
    """Every client socket of the run, on one selector."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.selector = selectors.DefaultSelector()
        self.scratch = bytearray(1 << 18)
        self.view = memoryview(self.scratch)
        self.bytes_received = 0
        self.refused = 0
        self.dropped: list[str] = []  # joined clients the server closed
        self._next_source = 0

    # -- connections ---------------------------------------------------------

    def open(self, client_name: str, **options: Any) -> Client:
        """Start a non-blocking connect from the next loopback source address."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        source = SOURCE_ADDRESSES[self._next_source % len(SOURCE_ADDRESSES)]
        self._next_source += 1
        sock.bind((source, 0))
        code = sock.connect_ex(("127.0.0.1", self.port))
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            raise BenchError(f"connect: {os.strerror(code)}")
        client = Client(sock, client_name, **options)
        self.selector.register(sock, selectors.EVENT_WRITE, client)
        return client

    def close(self, client: Client, bye: bool = False) -> None:
        """Close a client (after a BYE frame when C{bye})."""
        if client.state is State.CLOSED:
            return
        if bye:
            with contextlib.suppress(OSError):
                client.sock.send(frame("BYE"))
        self.selector.unregister(client.sock)
        client.sock.close()
        client.closed_while, client.state = client.state, State.CLOSED

    def send(self, client: Client, data: bytes) -> None:
        """Send a small frame; a fresh socket's buffer always takes it whole."""
        if client.sock.send(data) != len(data):
            raise BenchError(f"short send to {client.nickname}")

    # -- the event loop ------------------------------------------------------

    def poll(self, timeout: float) -> int:
        """Handle what is ready within C{timeout} seconds; the number of events."""
        events = self.selector.select(timeout)
        for key, mask in events:
            client: Client = key.data
            if client.state is State.CONNECTING:
                self._connected(client)
            elif mask & selectors.EVENT_READ:
                self._readable(client)
        return len(events)

    def run_until(self, done: Any, deadline: float, what: str, server: Server) -> None:
        """Poll until C{done()} is true, failing at C{deadline}."""
        checked = time.monotonic()
        while not done():
            now = time.monotonic()
            if now > deadline:
                raise BenchError(f"deadline passed during {what}")
            if now - checked > 1.0:
                server.check_alive()
                checked = now
            self.poll(0.2)

    def wait_quiet(self, deadline: float, server: Server) -> None:
        """Read until nothing arrives for L{QUIET_SECONDS}: the room has sent all it owes."""
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < QUIET_SECONDS:
            if time.monotonic() > deadline:
                raise BenchError("the room never went quiet")
            before = self.bytes_received
            self.poll(0.1)
            if self.bytes_received != before:
                quiet_since = time.monotonic()
        server.check_alive()

    def _connected(self, client: Client) -> None:
        code = client.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise BenchError(f"connect failed: {os.strerror(code)}")
        client.state = State.GREETING
        self.selector.modify(client.sock, selectors.EVENT_READ, client)

    def _readable(self, client: Client) -> None:
        try:
            count = client.sock.recv_into(self.scratch)
        except ConnectionError:
            count = 0
        if count == 0:
            if client.state is State.JOINED:
                self.dropped.append(client.nickname)
            self.close(client)
            return
        self.bytes_received += count
        client.received += count
        if client.state is State.JOINED and not client.parse:
            return  # an idle client only reads
        client.buffer += self.view[:count]
        for data in _split_frames(client.buffer):
            self._frame(client, data)
        if client.state is State.JOINED and not client.parse:
            client.buffer.clear()  # what followed the welcome: counted, not parsed

    def _frame(self, client: Client, data: bytes) -> None:
        if client.state is State.GREETING:
            if data == b"NICK":
                if client.hold:
                    client.state = State.CHOOSING
                    return
                if client.mid_handshake:
                    if client.partial_frame:
                        self.send(client, frame(client.nickname)[:3])
                    self.close(client)
                    return
                self.send(client, frame(client.nickname))
                client.state = State.READY
            elif data.startswith(b"{"):  # server-full is the only packet before NICK
                self.refused += 1
                client.refused = True
                self.close(client)
        elif client.state is State.READY:
            if b'"event":"welcome"' in data:
                client.state = State.JOINED
            elif data not in (b"READY",) and b'"history":true' not in data:
                raise BenchError(f"{client.nickname} got {data[:80]!r} while joining")
        elif client.parse:
            client.frames.append(data)


def _split_frames(buffer: bytearray) -> Iterator[bytes]:
    """Take every complete frame off the front of C{buffer}."""
    offset = 0
    while len(buffer) - offset >= 2:
        (length,) = _PREFIX.unpack_from(buffer, offset)
        if len(buffer) - offset - 2 < length:
            break
        yield bytes(buffer[offset + 2 : offset + 2 + length])
        offset += 2 + length
    del buffer[:offset]


# -- the phases ----------------------------------------------------------------


def check_stalled(handshaking: list[Client]) -> None:
    """Fail when a handshake has taken longer than L{HANDSHAKE_SECONDS}."""
    now = time.monotonic()
    stalled = [c for c in handshaking if now - c.opened > HANDSHAKE_SECONDS]
    if stalled:
        states = sorted({c.state.value for c in stalled})
        raise BenchError(
            f"{len(stalled)} handshakes stalled ({', '.join(states)}); "
            "a connection the listen backlog dropped never hears from the server"
        )


def join_idle(
    driver: Driver, server: Server, count: int, in_flight: int, deadline: float
) -> list[Client]:
    """Open C{count} clients that join and stay; at most C{in_flight} handshakes at once."""
    clients: list[Client] = []
    joining: list[Client] = []

    def progress() -> bool:
        joining[:] = [c for c in joining if c.state not in (State.JOINED, State.CLOSED)]
        check_stalled(joining)
        while len(joining) < in_flight and len(clients) < count:
            client = driver.open(f"i{len(clients)}", parse=len(clients) < OBSERVERS)
            clients.append(client)
            joining.append(client)
        return len(clients) == count and not joining

    driver.run_until(progress, deadline, "the idle joins", server)
    joined = sum(c.state is State.JOINED for c in clients)
    if joined != count:
        raise BenchError(
            f"only {joined} of {count} idle clients joined (refused: {driver.refused})"
        )
    return clients


def churn(
    driver: Driver, server: Server, cycles: int, in_flight: int, deadline: float
) -> dict[str, int]:
    """Run C{cycles} connect/disconnect cycles, at most C{in_flight} at once."""
    started = 0
    live: list[tuple[Client, int]] = []
    finished = {"mid_handshake": 0, "joined_bye": 0, "joined_drop": 0, "refused": 0}

    def progress() -> bool:
        nonlocal started
        check_stalled([client for client, _ in live])
        still: list[tuple[Client, int]] = []
        for client, n in live:
            if client.state is State.CLOSED:
                if client.refused:  # the server has not yet seen enough of the closes
                    finished["refused"] += 1
                elif client.mid_handshake:
                    finished["mid_handshake"] += 1
                else:
                    raise BenchError(f"{client.nickname} closed while {client.closed_while}")
            elif client.state is State.JOINED:
                bye = n % 4 == 1
                driver.close(client, bye=bye)
                finished["joined_bye" if bye else "joined_drop"] += 1
            else:
                still.append((client, n))
        live[:] = still
        while len(live) < in_flight and started < cycles:
            mid = started % 2 == 0
            partial = started % 4 == 2
            client = driver.open(f"c{started}", mid_handshake=mid, partial_frame=partial)
            live.append((client, started))
            started += 1
        return started == cycles and not live

    driver.run_until(progress, deadline, "the churn", server)
    return finished


def count_free_slots(
    driver: Driver, server: Server, free: int, in_flight: int, deadline: float
) -> dict[str, Any]:
    """Take the C{free} connection slots --max-clients leaves, then ask for one more.

    If the churn leaked a slot (a connection the server still counts), one of
    the C{free} is refused; the one more must be refused with server-full.
    """
    holders: list[Client] = []

    def progress() -> bool:
        check_stalled([c for c in holders if c.state is State.CONNECTING])
        waiting = sum(c.state in (State.CONNECTING, State.GREETING) for c in holders)
        while waiting < in_flight and len(holders) < free:
            holders.append(driver.open(f"h{len(holders)}", hold=True))
            waiting += 1
        return len(holders) == free and not waiting

    driver.run_until(progress, deadline, "taking the free slots", server)
    admitted = sum(c.state is State.CHOOSING for c in holders)
    extra = driver.open("h-extra", hold=True)
    driver.run_until(
        lambda: extra.state is not State.GREETING and extra.state is not State.CONNECTING,
        deadline,
        "the extra connection",
        server,
    )
    for client in [*holders, extra]:
        driver.close(client)
    return {"free": free, "admitted": admitted, "one_more_refused": extra.refused}


def fresh_chat(driver: Driver, server: Server, observer: Client, deadline: float) -> dict[str, Any]:
    """A new client joins, chats, and gets its message back; an idle observer sees it."""
    observer.frames.clear()
    fresh = driver.open("fresh", parse=True)
    driver.run_until(
        lambda: fresh.state in (State.JOINED, State.CLOSED), deadline, "fresh join", server
    )
    if fresh.state is not State.JOINED:
        raise BenchError("the fresh client could not join")
    text = "still serving after the churn"
    driver.send(fresh, frame(json.dumps({"message": text})))

    def echo(client: Client) -> dict[str, Any] | None:
        for data in client.frames:
            packet = json.loads(data)
            if packet.get("message") == text and "id" in packet:
                return dict(packet)
        return None

    driver.run_until(lambda: echo(fresh) and echo(observer), deadline, "the fresh chat", server)
    packet = echo(fresh)
    assert packet is not None
    driver.close(fresh, bye=True)
    return {"ok": True, "id": packet["id"], "nickname": packet["nickname"]}


# -- the run -------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every phase; the figures as a dict."""
    budget_end = time.monotonic() + args.time_limit
    own_limit = raise_own_fd_limit(args.clients + 6 * args.in_flight + 200)
    result: dict[str, Any] = {"clients": args.clients, "churn_cycles": args.churn}
    result["bench_fd_limit"] = own_limit
    with tempfile.TemporaryDirectory(prefix="chat-capacity-") as workdir:
        # Room for the churn: a busy server sees new connections before old ones' closes.
        max_clients = args.clients + 5 * args.in_flight + 100
        result["max_clients"] = max_clients
        server = Server(Path(workdir), max_clients, args.backlog)
        try:
            if args.pin and (os.cpu_count() or 1) >= 2:
                os.sched_setaffinity(server.pid, {0})
                os.sched_setaffinity(0, {1})
            port, server_limit = server.wait_listening(time.monotonic() + 30)
            result["server_fd_limit"] = server_limit
            driver = Driver(port)
            result["rss_start_kib"] = proc_status_kib(server.pid, "VmRSS")

            phase_start, cpu_start = time.monotonic(), proc_cpu_seconds(server.pid)
            idle = join_idle(driver, server, args.clients, args.in_flight, budget_end)
            driver.wait_quiet(budget_end, server)
            result["join_seconds"] = round(time.monotonic() - phase_start, 1)
            result["join_server_cpu_seconds"] = round(proc_cpu_seconds(server.pid) - cpu_start, 1)
            result["rss_idle_kib"] = proc_status_kib(server.pid, "VmRSS")
            result["kernel_tcp_idle_kib"] = kernel_tcp_kib()
            idle_kib = result["rss_idle_kib"] - result["rss_start_kib"]
            result["kib_per_idle_client"] = round(idle_kib / args.clients, 2)

            phase_start, cpu_start = time.monotonic(), proc_cpu_seconds(server.pid)
            result["churn"] = churn(driver, server, args.churn, args.in_flight, budget_end)
            driver.wait_quiet(budget_end, server)
            result["churn_seconds"] = round(time.monotonic() - phase_start, 1)
            result["churn_server_cpu_seconds"] = round(proc_cpu_seconds(server.pid) - cpu_start, 1)
            result["rss_after_churn_kib"] = proc_status_kib(server.pid, "VmRSS")
            result["rss_peak_kib"] = proc_status_kib(server.pid, "VmHWM")
            growth = result["rss_after_churn_kib"] / result["rss_idle_kib"] - 1
            result["rss_growth_after_churn"] = round(growth, 4)
            result["no_leak"] = growth <= LEAK_TOLERANCE

            result["idle_still_joined"] = sum(c.state is State.JOINED for c in idle)
            free = max_clients - result["idle_still_joined"]
            result["slots"] = count_free_slots(driver, server, free, args.in_flight, budget_end)
            driver.wait_quiet(budget_end, server)
            result["dropped_by_server"] = len(driver.dropped)
            result["fresh_client"] = fresh_chat(driver, server, idle[0], budget_end)
            result["bytes_read_by_clients"] = driver.bytes_received
        finally:
            result["server_exit"] = server.stop()
    slots = result["slots"]
    result["ok"] = bool(
        result["no_leak"]
        and result["idle_still_joined"] == args.clients
        and slots["admitted"] == slots["free"]
        and slots["one_more_refused"]
        and result["fresh_client"]["ok"]
    )
    return result


def table(result: dict[str, Any]) -> str:
    """The figures for people."""
    mib = 1024
    r = result
    churn = r["churn"]
    fresh = r["fresh_client"]
    rows = [
        ("open-file limit, server / bench", f"{r['server_fd_limit']} / {r['bench_fd_limit']}"),
        ("server RSS at start", f"{r['rss_start_kib'] / mib:.1f} MiB"),
        ("server RSS, idle clients joined", f"{r['rss_idle_kib'] / mib:.1f} MiB"),
        ("per idle client", f"{r['kib_per_idle_client']:.2f} KiB"),
        (
            "kernel TCP buffers, idle (system-wide)",
            f"{(r['kernel_tcp_idle_kib'] or 0) / mib:.1f} MiB",
        ),
        ("joins took (server CPU)", f"{r['join_seconds']} s ({r['join_server_cpu_seconds']} s)"),
        (
            "churn: mid-handshake / BYE / drop / full",
            f"{churn['mid_handshake']} / {churn['joined_bye']} / {churn['joined_drop']}"
            f" / {churn['refused']}",
        ),
        ("churn took (server CPU)", f"{r['churn_seconds']} s ({r['churn_server_cpu_seconds']} s)"),
        (
            "server RSS after churn",
            f"{r['rss_after_churn_kib'] / mib:.1f} MiB ({r['rss_growth_after_churn']:+.1%})",
        ),
        ("server RSS peak (VmHWM)", f"{r['rss_peak_kib'] / mib:.1f} MiB"),
        ("idle clients still joined", f"{r['idle_still_joined']} of {r['clients']}"),
        (
            f"free slots to --max-clients {r['max_clients']}",
            f"{r['slots']['admitted']} of {r['slots']['free']} admitted, one more "
            + ("refused" if r["slots"]["one_more_refused"] else "ADMITTED"),
        ),
        ("fresh client chats after churn", f"yes, id {fresh['id']}" if fresh["ok"] else "NO"),
        ("verdict", "ok" if r["ok"] else "FAILED"),
    ]
    lines = [f"capacity: {result['clients']} idle clients, {result['churn_cycles']} churn cycles"]
    lines += [f"  {name:<42} {value}" for name, value in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the table and the JSON line; 0 when every check held."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10000, help="idle joined clients")
    parser.add_argument("--churn", type=int, default=10000, help="connect/disconnect cycles")
    parser.add_argument("--in-flight", type=int, default=200, help="handshakes/cycles at once")
    parser.add_argument(
        "--backlog", type=int, default=1024, help="the server's listen backlog (Twisted's is 50)"
    )
    parser.add_argument("--time-limit", type=float, default=900, help="seconds for the whole run")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="do not pin server and bench to CPUs"
    )
    args = parser.parse_args(argv)
    try:
        result = run(args)
    except BenchError as e:
        print(f"capacity: {e}", file=sys.stderr)
        return 2
    print(table(result))
    print(json.dumps(result, sort_keys=True))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
