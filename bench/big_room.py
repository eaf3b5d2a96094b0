"""A room with a long history stays cheap: start-up, memory, replay, ``history`` pages and
``rooms`` on a room file of 1,000,000 messages beside one of 10,000 (docs/performance.md,
"Rooms").

For each size, the script writes the room's JSON Lines file directly (as the server
stores it, docs/history.md) in a fresh temporary directory, starts the real server
(``twistd chat``) on it, and over the TCP door measures: the time until the door
accepts, the server's RSS, a join of the room (its replay of 100 and the welcome),
a ``history`` page before and one since an id, and ``rooms``; then RSS again::

    python -m bench.big_room --twistd .venv/bin/twistd

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.adapters import WELCOME_TOKEN, ChatAdapter, FrameParser, frame
from bench.loadgen import read_rss_kib
from bench.run_bench import ROOT, free_ports, stop, wait_for_ports
from chatproto.core.roomnames import room_key
from chatproto.roomfiles import HISTORY_SUFFIX, META_SUFFIX, file_stem, rooms_directory

ROOM = "#big"
#: Lines written per write call while building a room file.
CHUNK = 10_000
#: Replayed to a joiner, and the page size of the ``history`` commands.
REPLAY = 100
PAGE = 100
#: The server's --history-retain default: the pages ask for ids among the newest this many.
RETAINED = 10_000


def write_room(history_file: Path, room: str, count: int) -> int:
    """Write C{room}'s history of C{count} messages (ids 1 to C{count}) and its name file
    beside C{history_file}; return the history file's size in bytes."""
    directory = Path(rooms_directory(str(history_file)))
    directory.mkdir(mode=0o700)
    stem = file_stem(room_key(room))
    (directory / (stem + META_SUFFIX)).write_text(json.dumps({"room": room, "topic": ""}))
    path = directory / (stem + HISTORY_SUFFIX)
    with open(path, "w", encoding="ascii") as out:
        for start in range(1, count + 1, CHUNK):
            out.write(
                "".join(
                    f'{{"id":{i},"timestamp":"2026-12-03T12:00:00.000Z","nickname":"bench",'
                    f'"message":"message {i} of the big room","room":"{room}"}}\n'
                    for i in range(start, min(count, start + CHUNK - 1) + 1)
                )
            )
    return path.stat().st_size


class Client:
    """A blocking chat client on the TCP door, enough to time commands."""

    def __init__(self, port: int, nickname: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.parser = FrameParser()
        self.pending: list[bytes] = []
        self.until(lambda p: p == b"NICK")
        self.sock.sendall(frame(nickname.encode()))
        self.until(lambda p: WELCOME_TOKEN in p)

    def until(self, done: Callable[[bytes], bool]) -> list[bytes]:
        """Read frames until one satisfies C{done}; return them all, that one last."""
        taken: list[bytes] = []
        while True:
            while self.pending:
                payload = self.pending.pop(0)
                taken.append(payload)
                if done(payload):
                    return taken
            data = self.sock.recv(1 << 16)
            if not data:
                raise RuntimeError("the server closed the connection")
            self.pending = self.parser.feed(data)

    def timed(self, packet: bytes, done: Callable[[bytes], bool]) -> tuple[float, list[bytes]]:
        """Send C{packet} (a frame) and read until C{done}; the milliseconds and the frames."""
        started = time.perf_counter()
        self.sock.sendall(packet)
        taken = self.until(done)
        return round((time.perf_counter() - started) * 1000, 2), taken


def notice(event: str) -> Callable[[bytes], bool]:
    """Whether a frame is the server's C{event} notice."""
    wanted = f'"event":"{event}"'.encode()
    return lambda p: wanted in p.replace(b" ", b"")


def measure(twistd: str, count: int) -> dict[str, Any]:
    """Every figure for a room of C{count} messages."""
    with tempfile.TemporaryDirectory(prefix="bench-big-room-") as scratch:
        history = Path(scratch) / "history.jsonl"
        written = time.perf_counter()
        size = write_room(history, ROOM, count)
        written = time.perf_counter() - written
        (port,) = free_ports(1)
        command = [twistd, "--pidfile=", "-n", "chat", "--port", f"tcp:{port}:interface=127.0.0.1"]
        command += ["--history-file", str(history), "--history-replay", str(REPLAY)]
        started = time.perf_counter()
        server = subprocess.Popen(
            command, cwd=scratch, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            if not wait_for_ports([port], server, 120.0):
                raise RuntimeError(f"the server did not start on a room of {count}")
            startup = time.perf_counter() - started
            rss_started = read_rss_kib(server.pid)
            client = Client(port, "bencher")
            adapter = ChatAdapter()
            join_ms, frames = client.timed(adapter.join_room(ROOM), notice("welcome"))
            replayed = sum(1 for p in frames if b'"history":true' in p.replace(b" ", b""))
            rss_joined = read_rss_kib(server.pid)
            pages = {}
            for name, field, at in (
                ("before", "before", count - 5000),
                ("since", "since", count - 9000),
            ):
                packet = json.dumps(
                    {"command": "history", "room": ROOM, field: at, "limit": PAGE},
                    separators=(",", ":"),
                ).encode()
                ms, frames = client.timed(frame(packet), notice("history"))
                pages[name] = {"ms": ms, "messages": len(frames) - 1}
            rooms_ms, _ = client.timed(frame(b'{"command":"rooms"}'), notice("rooms"))
            rss_end = read_rss_kib(server.pid)
            client.sock.close()
        finally:
            stop(server)
    return {
        "messages": count,
        "file_mib": round(size / (1 << 20), 1),
        "write_s": round(written, 2),
        "startup_ms": round(startup * 1000),
        "rss_started_kib": rss_started,
        "join_ms": join_ms,
        "replayed": replayed,
        "rss_joined_kib": rss_joined,
        "history_before_ms": pages["before"]["ms"],
        "history_before_messages": pages["before"]["messages"],
        "history_since_ms": pages["since"]["ms"],
        "history_since_messages": pages["since"]["messages"],
        "rooms_ms": rooms_ms,
        "rss_end_kib": rss_end,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Measure each size; print one line per size and one JSON line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--twistd", default=str(ROOT / ".venv" / "bin" / "twistd"))
    p.add_argument("--sizes", default="10000,1000000", help="comma-separated message counts")
    args = p.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",")]
    if min(sizes) < RETAINED:
        p.error(f"every size must be at least {RETAINED:,} (the pages fall in the retained ids)")
    results = []
    for count in sizes:
        figures = measure(os.path.abspath(args.twistd), count)
        print(", ".join(f"{k} {v}" for k, v in figures.items()), file=sys.stderr, flush=True)
        results.append(figures)
    print(json.dumps({"load_average": os.getloadavg(), "sizes": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
