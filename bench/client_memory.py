"""What one idle client costs the server in Python objects: a tracemalloc diff per client.

Run from the repository root, after ``make install``::

    .venv/bin/python -m bench.client_memory --door chat --clients 1000
    .venv/bin/python -m bench.client_memory --door irc --clients 1000 --top 30

This process runs the chat server itself (the options of ``make bench``, the door
measured on a loopback port) with ``tracemalloc`` on, and a child process joins the
clients with the load generator's handshakes (L{bench.adapters}), reading everything
the server sends. The child first joins a warm-up batch (so that caches and tables the
first clients fill are not counted), then the server is snapshotted, the child joins
C{--clients} more and reads until the server is quiet, and the server is snapshotted
again, both after a full garbage collection. The difference divided by C{--clients} is
what one more idle client holds: Python's allocations only (not malloc's overhead, nor
the kernel's socket buffers), which is why it is below the RSS the load generator
reports. The output is that total, then the biggest differences by the line that
allocated them, each with the innermost frame of the server's own code (``chatproto``)
that led there, and the total by package.
"""

from __future__ import annotations

import argparse
import gc
import os
import select
import socket
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from bench.adapters import ADAPTERS, Adapter, IrcAdapter

#: The server's own code, as it appears in tracemalloc's file names.
OURS: Final = f"{os.sep}chatproto{os.sep}"
#: The child reads until the server has sent nothing for this long.
QUIET_SECONDS: Final = 0.5
#: What the door option of each protocol is.
DOOR_OPTIONS: Final = {"chat": "--port", "irc": "--irc-port", "ws": "--ws-port"}


def join_clients(adapter: Adapter, port: int, first: int, count: int) -> list[socket.socket]:
    """Join C{count} clients one after another (nicknames from C{first}); return their
    sockets."""
    joined = []
    for number in range(first, first + count):
        sock = socket.create_connection(("127.0.0.1", port))
        handshake = adapter.handshake(f"m{number}")
        sock.sendall(handshake.greeting())
        while True:
            data = sock.recv(65536)
            if not data:
                raise RuntimeError(f"the server closed client {number} during its handshake")
            reply, rest = handshake.feed(data)
            if reply:
                sock.sendall(reply)
            if rest is not None:
                break
        joined.append(sock)
    return joined


def drain(sockets: Sequence[socket.socket]) -> None:
    """Read from every socket until the server sends nothing for L{QUIET_SECONDS}."""
    poller = select.epoll()
    by_fd = {sock.fileno(): sock for sock in sockets}
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    while events := poller.poll(QUIET_SECONDS):
        for fd, _ in events:
            by_fd[fd].recv(1 << 20)
    poller.close()


def run_clients(door: str, port: int, warmup: int, clients: int) -> None:
    """The child: join the warm-up batch, then the measured one, each followed by a
    "ready" line on stdout; go on at each line on stdin, leave at its end."""
    adapter = ADAPTERS[door].for_server("127.0.0.1", port)
    held: list[socket.socket] = []
    for first, count in ((0, warmup), (warmup, clients)):
        held += join_clients(adapter, port, first, count)
        drain(held)
        print("ready", flush=True)
        if not sys.stdin.readline():
            break
    sys.stdin.read()


def server_options(door: str, port: int, directory: Path) -> list[str]:
    """The server's command line (``make bench``'s options), the measured door on C{port}."""
    line = ["--history-file", str(directory / "history.jsonl"), "--history-replay", "0"]
    line += ["--rate", "1000000", "--burst", "1000000"]
    listen = f"tcp:{port}:interface=127.0.0.1"
    if door == "chat":
        return [*line, "--port", listen]
    line += ["--port", "tcp:0:interface=127.0.0.1", DOOR_OPTIONS[door], listen]
    if door == "irc":
        line += ["--irc-channel", IrcAdapter().channel]
    return line


def snapshot() -> tracemalloc.Snapshot:
    """The server's allocations now, after a full collection, without tracemalloc's own."""
    gc.collect()
    return tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )


def ours_in(trace: tracemalloc.Traceback) -> str:
    """The innermost frame of the server's own code in C{trace}, or "-"."""
    for frame in reversed(trace):  # tracemalloc lists the innermost frame last
        if OURS in frame.filename:
            return f"{frame.filename.split(OURS, 1)[1]}:{frame.lineno}"
    return "-"


def package_of(filename: str) -> str:
    """The package a file belongs to, as a short name (chatproto, twisted, ...)."""
    parts = Path(filename).parts
    for marker in ("site-packages", "lib"):
        if marker in parts:
            rest = parts[parts.index(marker) + 1 :]
            return rest[0] if rest else filename
    return "chatproto" if OURS in filename else filename


def report(
    before: tracemalloc.Snapshot,
    after: tracemalloc.Snapshot,
    clients: int,
    top: int,
    tracebacks: int = 0,
) -> None:
    """Print the bytes per client: the total, the biggest lines, by package, and the
    server's own frames of the C{tracebacks} biggest differences."""
    diffs = after.compare_to(before, "traceback")
    total = sum(d.size_diff for d in diffs)
    print(f"bytes per idle client: {total / clients:,.0f} ({clients} clients)")
    by_line: Counter[tuple[str, str]] = Counter()
    by_package: Counter[str] = Counter()
    for d in diffs:
        innermost = d.traceback[-1]
        by_line[(f"{innermost.filename}:{innermost.lineno}", ours_in(d.traceback))] += d.size_diff
        by_package[package_of(innermost.filename)] += d.size_diff
    print(f"\n{'bytes/client':>12}  allocated at  (reached from chatproto at)")
    for (where, ours), size in by_line.most_common(top):
        print(f"{size / clients:12.0f}  {where}  ({ours})")
    print(f"\n{'bytes/client':>12}  package")
    for package, size in by_package.most_common():
        if abs(size) >= clients:
            print(f"{size / clients:12.0f}  {package}")
    for d in diffs[:tracebacks]:
        print(f"\n{d.size_diff / clients:.0f} bytes/client, from (outermost first):")
        for frame in d.traceback:
            if OURS in frame.filename:
                print(f"  {frame.filename.split(OURS, 1)[1]}:{frame.lineno}")


def measure(door: str, clients: int, warmup: int, frames: int, top: int, tracebacks: int) -> None:
    """Run the server here and the clients in a child; print the report."""
    from twisted.internet import reactor
    from twisted.internet.protocol import ProcessProtocol

    from chatproto.service import Options, makeService

    tracemalloc.start(frames)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    directory = Path(tempfile.mkdtemp(prefix="client-memory-"))
    options = Options()
    options.parseOptions(server_options(door, port, directory))
    service: Any = makeService(options, reactor)
    service.privilegedStartService()
    service.startService()
    snapshots: list[tracemalloc.Snapshot] = []

    class Clients(ProcessProtocol):
        """The child: a snapshot at each "ready"."""

        def outReceived(self, data: bytes) -> None:
            for _ in range(data.count(b"ready")):
                snapshots.append(snapshot())
                if len(snapshots) == 2:
                    self.transport.closeStdin()  # type: ignore[union-attr]
                else:
                    self.transport.write(b"go\n")  # type: ignore[union-attr]

        def errReceived(self, data: bytes) -> None:
            sys.stderr.buffer.write(data)

        def processEnded(self, reason: Any) -> None:
            # The server's threads end with its services: stop the reactor after them.
            stopped = service.stopService()
            stopped.addBoth(lambda _: reactor.stop())  # type: ignore[attr-defined]

    child = [sys.executable, "-m", "bench.client_memory", "--door", door]
    child += ["--clients", str(clients), "--warmup", str(warmup), "--serve-port", str(port)]
    started = time.monotonic()
    reactor.spawnProcess(  # type: ignore[attr-defined]
        Clients(), sys.executable, child, env=dict(os.environ), path=os.getcwd()
    )
    reactor.run()  # type: ignore[attr-defined]
    if len(snapshots) < 2:
        raise SystemExit("the clients did not all join")
    report(snapshots[0], snapshots[1], clients, top, tracebacks)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{time.monotonic() - started:.1f} s; load average {load}")


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, or (with --serve-port) be the child that holds the clients."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--door", choices=sorted(DOOR_OPTIONS), default="chat")
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=100, help="clients joined before counting")
    p.add_argument("--frames", type=int, default=12, help="tracemalloc's traceback depth")
    p.add_argument("--top", type=int, default=25, help="lines shown")
    p.add_argument("--tracebacks", type=int, default=0, help="the server's frames of the N biggest")
    p.add_argument("--serve-port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_port is not None:
        run_clients(args.door, args.serve_port, args.warmup, args.clients)
    else:
        measure(args.door, args.clients, args.warmup, args.frames, args.top, args.tracebacks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
