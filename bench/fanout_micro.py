"""Fan-out's cost per delivery, in one process: the server's loop over the members alone.

Run from the repository root, after ``make install``::

    .venv/bin/python -m bench.fanout_micro                      # both doors, both sinks
    .venv/bin/python -m bench.fanout_micro --doors irc --sinks null --members 1000

N members join one room of a real hall (on a fake clock, history in a temporary
file, no rate limit) through the real doors (the word-packet TCP door, the IRC
door), each on a real loopback TCP connection whose server end is a Twisted
``tcp.Server`` transport that is never run by a reactor: the fan-out writes
straight to the socket as it does in the server (``doors/tcp/fastwrite.py``).
One member then says something, R times; each time the end of the turn (the
encoding and every member's write) is timed by the room's own observer
(``turn_ended``), and the client ends are drained before the next, untimed.

Two sinks:

- ``socket``: the kernel's loopback TCP, as in the server (each delivery is a
  ``send`` system call, most of the cost);
- ``null``: the server ends' ``send`` replaced by ``len`` (takes everything,
  sends nothing): what is left is the Python between the system calls, the part
  that is ours.

The output is the median and the 90th percentile of the ns per delivery (a turn's
time over the deliveries it made) per door and sink, then one JSON line. The load
average is printed beside them: on a shared machine other processes inflate every
figure, the ``socket`` ones most.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from twisted.internet import reactor as global_reactor
from twisted.internet import tcp
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock

from bench.adapters import ChatAdapter, IrcAdapter, frame
from bench.loadgen import raise_fd_limit
from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.core.observer import QuietObserver
from chatproto.doors.irc.identity import ServerInfo
from chatproto.doors.irc.protocol import IrcFactory, IrcProtocol
from chatproto.doors.tcp.protocol import WordPacketFactory, WordPacketProtocol
from chatproto.history import JsonLinesHistory

#: The doors measured, by the name --doors takes.
DOORS: Final = ("chat", "irc")
#: The sinks measured, by the name --sinks takes.
SINKS: Final = ("socket", "null")
#: Members joined between two drains of the clients (their join notices pile up).
JOINS_PER_DRAIN: Final = 50
#: The room everyone joins (the IRC door's channel).
CHANNEL: Final = "#bench"


class TurnTimes(QuietObserver):
    """The room's observer: how long each end of turn took, and what it delivered."""

    def __init__(self) -> None:
        self.turns: list[float] = []
        self.delivered_count = 0

    def delivered(self, count: int) -> None:
        """Count the deliveries."""
        self.delivered_count += count

    def turn_ended(self, seconds: float) -> None:
        """Keep the turn's time."""
        self.turns.append(seconds)


class NullSocket(socket.socket):
    """A server end whose C{send} takes everything and sends nothing (see the docstring)."""


class _ListeningPort:
    """What a C{tcp.Server} transport asks of its port."""

    _realPortNumber = 0


def server_end(listener: socket.socket, null: bool) -> tuple[socket.socket, socket.socket]:
    """A loopback connection to C{listener}: the server end (a L{NullSocket} if C{null})
    and the client end, both non-blocking."""
    client = socket.create_connection(listener.getsockname())
    client.setblocking(False)
    accepted, _ = listener.accept()
    accepted.setblocking(False)
    if not null:
        return accepted, client
    sink = NullSocket(accepted.family, accepted.type, accepted.proto, accepted.detach())
    sink.send = len  # type: ignore[method-assign,assignment]
    return sink, client


def drain(clients: Sequence[socket.socket]) -> None:
    """Read everything the clients have been sent."""
    for client in clients:
        try:
            while client.recv(1 << 20):
                pass
        except BlockingIOError:
            pass


class Room:
    """A hall with N members of one door on loopback connections (see the docstring)."""

    def __init__(self, door: str, members: int, null: bool, directory: Path) -> None:
        self.clock = Clock()
        self.clock.advance(1_800_000_000)
        self.times = TurnTimes()
        history = JsonLinesHistory(str(directory / f"{door}.jsonl"), fsync="never")
        config = RoomConfig(rate=0, max_clients=0, max_per_ip=0, default_room=CHANNEL)
        self.hall = Hall(config, history, self.clock, observer=self.times)
        self._door = door
        self._factory: IrcFactory | WordPacketFactory = (
            IrcFactory(self.hall, ServerInfo("bench.local", "today", CHANNEL))
            if door == "irc"
            else WordPacketFactory(self.hall)
        )
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=JOINS_PER_DRAIN)
        self.clients: list[socket.socket] = []
        self.protocols: list[IrcProtocol | WordPacketProtocol] = []
        for number in range(members):
            self._join(f"m{number}", null)
            if number % JOINS_PER_DRAIN == JOINS_PER_DRAIN - 1:
                self._settle()
        self._settle()
        self._listener.close()
        if self.hall.member_count() != members:
            raise RuntimeError(f"{self.hall.member_count()} of {members} members joined")

    def _join(self, nickname: str, null: bool) -> None:
        sock, client = server_end(self._listener, null)
        protocol = self._factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        assert protocol is not None
        host, port = client.getsockname()
        transport = tcp.Server(
            sock,
            protocol,
            (host, port),
            _ListeningPort(),  # type: ignore[arg-type]
            len(self.clients),
            global_reactor,
        )
        protocol.makeConnection(transport)  # type: ignore[no-untyped-call]
        if self._door == "irc":
            greeting = f"NICK {nickname}\r\nUSER {nickname} 0 * :{nickname}\r\n".encode()
        else:
            greeting = frame(nickname.encode())
        protocol.dataReceived(greeting)
        self.clients.append(client)
        self.protocols.append(protocol)

    def _settle(self) -> None:
        """End every waiting turn (notices wait up to 25 ms) and drain the clients."""
        self.clock.advance(1)
        drain(self.clients)

    def say(self, text: str) -> None:
        """The first member says C{text}; the turn ends now; the clients are drained."""
        adapter = IrcAdapter(CHANNEL) if self._door == "irc" else ChatAdapter()
        self.protocols[0].dataReceived(adapter.message(text))
        self.clock.advance(0)
        drain(self.clients)

    def close(self) -> None:
        """Stop reading the server ends (the reactor never ran) and close everything."""
        for protocol in self.protocols:
            transport = protocol.transport
            assert isinstance(transport, tcp.Server)
            transport.stopReading()  # type: ignore[no-untyped-call]
            transport.socket.close()
        for client in self.clients:
            client.close()


def measure(door: str, sink: str, members: int, rounds: int, warmup: int) -> dict[str, Any]:
    """ns per delivery of C{rounds} messages to C{members} members of C{door}."""
    with tempfile.TemporaryDirectory(prefix="fanout-micro-") as scratch:
        room = Room(door, members, sink == "null", Path(scratch))
        try:
            for number in range(warmup):
                room.say(f"warm-up {number}")
            room.times.turns.clear()
            room.times.delivered_count = 0
            for number in range(rounds):
                room.say(f"message {number} " + "x" * 80)
            turns, delivered = room.times.turns, room.times.delivered_count
        finally:
            room.close()
    per_turn = delivered / len(turns)
    per_delivery = sorted(seconds * 1e9 / per_turn for seconds in turns)
    return {
        "door": door,
        "sink": sink,
        "members": members,
        "turns": len(turns),
        "deliveries_per_turn": per_turn,
        "ns_per_delivery_p50": round(statistics.median(per_delivery), 1),
        "ns_per_delivery_p90": round(per_delivery[int(0.9 * (len(per_delivery) - 1))], 1),
        "load_average": os.getloadavg()[0],
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--members", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--doors", default=",".join(DOORS), help="comma-separated, of: chat, irc")
    p.add_argument("--sinks", default=",".join(SINKS), help="comma-separated, of: socket, null")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    """Measure every door with every sink; print a table and one JSON line."""
    args = parse_args(argv)
    raise_fd_limit(2 * args.members + 100)
    results = []
    for door in args.doors.split(","):
        for sink in args.sinks.split(","):
            if door not in DOORS or sink not in SINKS:
                sys.exit(f"unknown door or sink: {door}, {sink}")
            result = measure(door, sink, args.members, args.rounds, args.warmup)
            results.append(result)
            out(
                f"{door:5s} {sink:7s} N={args.members}: ns per delivery p50 "
                f"{result['ns_per_delivery_p50']:8.1f}  p90 {result['ns_per_delivery_p90']:8.1f}"
                f"  (load average {result['load_average']:.2f})"
            )
    out(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
