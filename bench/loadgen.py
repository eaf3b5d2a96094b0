"""A one-process epoll load generator for room fan-out: joins/s, RSS per client, deliveries/s,
latency.

Run it pinned to its own core, against a server pinned to another::

    taskset -c 1 python -m bench.loadgen --proto chat --port 10328 --server-pid PID

A room with several doors gets clients dealt round-robin between them, e.g.
half on the TCP door and half on the WebSocket door::

    taskset -c 1 python -m bench.loadgen --proto chat --port 10328 --also ws:8080

Clients are non-blocking sockets on level-triggered epoll sets (one for
handshakes, one for joined clients); this process joins them. The floods and
the latency probes, where the generator must stay off the critical path, run
in the hot loop (bench/fanout_loop.c, built by ``make bench`` with ``cc -O2``):
a child process that inherits the joined clients' sockets, floods and counts,
and reports its own CPU time (getrusage), so a reader can check that the
figures are the server's. Once a client has joined, nothing parses what it
receives: every room message carries a punctuation marker token, and a
delivery is one occurrence of that token in the raw byte stream, counted over
a buffer that starts with the last C{len(token) - 1} bytes of the previous read
(the carry-over), so a token split across two reads is counted exactly once. A
WebSocket server's frames are unmasked, so the same count works on a WebSocket
stream; the only thing looked for besides is a ping to answer (see
L{bench.websocket.spot_pings}, which the hot loop follows byte for byte).

Flood senders keep a window: each sender's messages carry a sender tag
(marker + letter), one receiver (the observer, not a sender) counts the tags
it receives, and a sender never has more than C{--window} messages that the
observer has not seen. Receivers read eagerly, so the server's send queues
stay short. A message the observer does not see within a second is counted
as lost and its window slot freed.

Phases (in this order, each bounded in time):
  joins     N clients join with a fixed number of handshakes in flight;
  rss       the server's VmRSS before and after those N idle joined clients;
  flood     10 senders flood the room of N clients, deliveries/s;
  flood-gap the same with a small sleep between polls (fewer, larger reads);
  latency   one sender at 50 msg/s, probes carry a send timestamp, p50/p99 over
            every delivery, by the kernel's arrival stamp (SO_TIMESTAMPNS) and
            by the time the generator read it;
then the same joins and floods for the small room. With C{--rooms R} (the chat door),
right after the joins the N clients are dealt into R rooms of N/R and each joins
C{--rooms-per-client} rooms in all (room-joins: room joins/s until every welcome is in);
after the one-room latency, every one of the R rooms is flooded at once by one sender,
its own observer beside it (rooms-flood), and probes go to one room (rooms-latency).

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import resource
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.adapters import ADAPTERS, WELCOME_TOKEN, Adapter, ChatAdapter, HandshakeError
from bench.websocket import LOOKBACK, WebSocketError, mask, masked_payload, spot_pings

#: The delivery marker: punctuation that neither JSON nor IRC rewrites, and
#: that no nickname, channel name, notice or timestamp of the bench contains.
MARKER: Final = b"[^|^]"
#: Sender tags follow the marker: one letter per sender.
TAG_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: The latency probe: marker, "@", send time (ns since the epoch, 19 digits), "!".
PROBE_HEAD: Final = MARKER + b"@"
PROBE_DIGITS: Final = 19
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
#: Bytes a drain read takes (between the hot loop's phases the room is quiet).
RECV_BUFFER: Final = 1 << 16
#: The hot loop's binary, where ``make bench`` builds it from bench/fanout_loop.c.
HOT_LOOP: Final = Path(__file__).resolve().parent / "results" / "fanout-loop"


@dataclass(frozen=True)
class Door:
    """One way into the room: a protocol adapter and the server address it talks to."""

    adapter: Adapter
    address: tuple[str, int]


class Conn:
    """One client connection of the generator."""

    __slots__ = (
        "carry",
        "door",
        "fd",
        "handshake",
        "joined",
        "nickname",
        "out",
        "ping_partial",
        "recv_into",
        "sock",
        "started",
        "websocket",
    )

    def __init__(self, sock: socket.socket, nickname: str, door: Door):
        self.sock = sock
        self.fd = sock.fileno()
        self.nickname = nickname
        self.door = door
        self.handshake = door.adapter.handshake(nickname)
        #: Whether the server's pings must be spotted and answered.
        self.websocket = door.adapter.websocket
        self.ping_partial = b""
        self.joined = False
        #: The stream's last bytes, where the ping spotter looks back.
        self.carry = bytes(LOOKBACK)
        self.out = b""
        self.recv_into = sock.recv_into
        self.started = time.perf_counter()


def read_rss_kib(pid: int) -> int:
    """The VmRSS of process C{pid}, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def read_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process C{pid} so far, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def bench_text(head: str, size: int) -> str:
    """A room message of C{size} bytes starting with C{head}, padded with letters."""
    if len(head) > size:
        raise ValueError("message head longer than the message")
    return head + ("x" * (size - len(head)))


@dataclass
class Probe:
    """Where the server CPU and our own CPU stood at one instant."""

    wall: float
    cpu: float
    server_cpu: float | None
    #: Busy clock ticks of each core (softirq included: loopback TCP work lands there).
    cores: dict[int, int]


def read_core_ticks() -> dict[int, int]:
    """Busy clock ticks (everything but idle and iowait) of every core so far."""
    ticks: dict[int, int] = {}
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith("cpu") and line[3].isdigit():
                name, *values = line.split()
                v = [int(x) for x in values]
                ticks[int(name[3:])] = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    return ticks


def only_core(pid: int) -> int | None:
    """The core process C{pid} is pinned to, if exactly one."""
    try:
        cores = os.sched_getaffinity(pid)
    except OSError:
        return None
    return next(iter(cores)) if len(cores) == 1 else None


class LoadGenerator:
    """Clients on one epoll set, and the phases that drive them."""

    def __init__(
        self,
        doors: Sequence[Door],
        server_pid: int | None,
        senders: int,
        hot_loop: Path = HOT_LOOP,
    ) -> None:
        if senders > len(TAG_LETTERS):
            raise ValueError(f"at most {len(TAG_LETTERS)} senders")
        if not doors:
            raise ValueError("no door to connect to")
        self.doors = list(doors)
        self.server_pid = server_pid
        self.server_core = only_core(server_pid) if server_pid else None
        self.own_core = only_core(0)
        self.tags = [MARKER + letter.encode() for letter in TAG_LETTERS[:senders]]
        self.hot_loop = hot_loop
        #: Joined clients, and those still connecting or handshaking, on separate sets, so
        #: that a join phase can serve handshakes at once and sweep the joined periodically.
        self.epoll = select.epoll()
        self.conns: dict[int, Conn] = {}
        self.hs_epoll = select.epoll()
        self.handshaking: dict[int, Conn] = {}
        self.disconnects = 0
        self.errors: list[str] = []
        self._buf = bytearray(LOOKBACK + RECV_BUFFER)
        self._tail = memoryview(self._buf)[LOOKBACK:]
        self._newly_joined: list[Conn] = []
        #: Seconds from connect to welcome of each handshake of the current join phase.
        self._handshake_seconds: list[float] = []
        self._failed = 0

    # -- the event loop ------------------------------------------------------------------

    def pump(self, timeout: float) -> None:
        """Wait up to C{timeout} seconds, read what joined clients received, answer pings.

        Outside the hot loop's phases the room is quiet (joins, settling): what
        arrives is read only so that the server's queues stay empty.
        """
        buf = self._buf
        tail = self._tail
        conns = self.conns
        for fd, _events in self.epoll.poll(timeout, len(conns) + 1):
            conn = conns.get(fd)
            if conn is None:
                continue
            buf[0:LOOKBACK] = conn.carry
            try:
                n = conn.recv_into(tail)
            except BlockingIOError:
                continue
            except OSError:
                n = 0
            if not n:
                self._drop(conn)
                continue
            end = LOOKBACK + n
            conn.carry = bytes(buf[n:end])
            if conn.websocket:
                self._answer_pings(conn, buf, LOOKBACK, end)

    def pump_handshakes(self, timeout: float) -> None:
        """Wait up to C{timeout} seconds for events of handshaking clients and handle them."""
        handshaking = self.handshaking
        for fd, events in self.hs_epoll.poll(timeout, len(handshaking) + 1):
            conn = handshaking.get(fd)
            if conn is not None:
                self._handshake_event(conn, events)

    def _answer_pings(self, conn: Conn, buf: bytes | bytearray, start: int, end: int) -> None:
        """Pong every ping among C{buf[start:end]}, what C{conn} just received."""
        try:
            pongs, conn.ping_partial = spot_pings(buf, start, end, conn.ping_partial)
        except WebSocketError as e:
            self._note_error(conn, e)
            self._drop(conn)
            return
        if pongs:
            conn.out += b"".join(pongs)
            self._flush(conn)

    def _note_error(self, conn: Conn, error: Exception) -> None:
        if len(self.errors) < 20:
            self.errors.append(f"{conn.nickname}: {error}")

    def _drop(self, conn: Conn) -> None:
        if conn.joined:
            self.disconnects += 1
        self._close(conn)

    def _close(self, conn: Conn) -> None:
        if conn.joined:
            if self.conns.pop(conn.fd, None) is None:
                return
            epoll = self.epoll
        else:
            if self.handshaking.pop(conn.fd, None) is None:
                return
            epoll = self.hs_epoll
        with contextlib.suppress(OSError):
            epoll.unregister(conn.fd)
        conn.sock.close()

    # -- joining ---------------------------------------------------------------------------

    def _connect(self, nickname: str, door: Door) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = sock.connect_ex(door.address)
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            raise OSError(err, os.strerror(err))
        conn = Conn(sock, nickname, door)
        self.handshaking[conn.fd] = conn
        # A client that waits for the server to speak first need not see the connect finish.
        speaks_first = bool(conn.handshake.greeting())
        self.hs_epoll.register(conn.fd, select.EPOLLOUT if speaks_first else select.EPOLLIN)

    def _handshake_event(self, conn: Conn, events: int) -> None:
        try:
            if events & select.EPOLLOUT:
                err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, os.strerror(err))
                self.hs_epoll.modify(conn.fd, select.EPOLLIN)
                self._send_all(conn, conn.handshake.greeting())
                return
            try:
                data = conn.sock.recv(65536)
            except BlockingIOError:
                return
            if not data:
                raise HandshakeError("connection closed during the handshake")
            out, rest = conn.handshake.feed(data)
            self._send_all(conn, out)
        except (OSError, HandshakeError) as e:
            self._note_error(conn, e)
            self._failed += 1
            self._close(conn)
            return
        if rest is not None:
            del self.handshaking[conn.fd]
            self.hs_epoll.unregister(conn.fd)
            conn.joined = True
            self.conns[conn.fd] = conn
            self.epoll.register(conn.fd, select.EPOLLIN)
            conn.carry = (conn.carry + rest)[-LOOKBACK:]
            self._newly_joined.append(conn)
            self._handshake_seconds.append(time.perf_counter() - conn.started)
            if conn.websocket:
                # The handshake hands over at a frame boundary: no look-back needed.
                self._answer_pings(conn, rest, 0, len(rest))

    @staticmethod
    def _send_all(conn: Conn, data: bytes) -> None:
        """Send a short handshake reply whole (a fresh socket's buffer always has room)."""
        if data:
            sent = conn.sock.send(data)
            if sent != len(data):
                raise OSError(errno.EAGAIN, "short send during the handshake")

    def join(
        self,
        count: int,
        inflight: int,
        prefix: str,
        limit: float,
        sweep: float = 0.002,
        patience: float = 10.0,
    ) -> tuple[list[Conn], dict[str, Any]]:
        """Join C{count} clients, C{inflight} handshakes at a time; return them and figures.

        Handshakes are served as soon as they have events; the joined clients, who
        receive a join notice per newcomer, are read every C{sweep} seconds. A
        handshake that has not finished after C{patience} seconds is abandoned and
        started again (a server whose accept queue overflowed may have dropped a
        connection its client believes open, and a chat client waits for the
        server to speak first); the figures count those retries.

        @raise RuntimeError: when they are not all joined within C{limit} seconds.
        """
        joined: list[Conn] = []
        self._newly_joined = joined
        self._handshake_seconds = []
        self._failed = 0
        started = 0
        begin = self._probe()
        start = begin.wall
        deadline = start + limit
        last_sweep = last_check = start
        retries = 0
        while len(joined) < count:
            while started < count and started - len(joined) - self._failed < inflight:
                self._connect(f"{prefix}{started}", self.doors[started % len(self.doors)])
                started += 1
            if self._failed > count // 10 + 5:
                raise RuntimeError(f"{self._failed} clients failed to join: {self.errors[:3]}")
            if started == count and len(joined) + self._failed == count:
                break
            now = time.perf_counter()
            if now > deadline:
                raise RuntimeError(f"only {len(joined)} of {count} clients joined in {limit}s")
            if now - last_sweep >= sweep:
                self.pump(0)
                last_sweep = now
            if now - last_check >= 0.5:
                last_check = now
                for conn in [c for c in self.handshaking.values() if now - c.started > patience]:
                    self._close(conn)
                    self._connect(conn.nickname, conn.door)
                    retries += 1
                if retries > count:
                    raise RuntimeError(f"{retries} handshakes retried: is the server stuck?")
            self.pump_handshakes(max(0.0, last_sweep + sweep - now))
        end = self._probe()
        wall = end.wall - begin.wall
        figures: dict[str, Any] = {
            "clients": len(joined),
            "inflight": inflight,
            "seconds": round(wall, 4),
            "joins_per_s": round(len(joined) / wall),
            "retries": retries,
            **handshake_times(self._handshake_seconds),
            **self.costs(begin, end),
        }
        return joined, figures

    def leave(self, clients: Iterable[Conn]) -> None:
        """Say goodbye and close each of C{clients}."""
        for conn in list(clients):
            if self.conns.get(conn.fd) is conn or self.handshaking.get(conn.fd) is conn:
                with contextlib.suppress(OSError):
                    conn.sock.send(conn.door.adapter.goodbye())
                self._close(conn)

    def join_rooms(
        self, rooms_of: dict[int, list[str]], clients: Sequence[Conn], limit: float
    ) -> dict[str, Any]:
        """Each of C{clients} sends a C{join} for each room C{rooms_of} its index lists, all
        at once; return room joins/s, counted until every joiner had each room's welcome.

        @raise RuntimeError: when the welcomes are not all in within C{limit} seconds.
        """
        clients = self._alive(clients)
        wanted = {c.fd: len(rooms_of[i]) for i, c in enumerate(clients)}
        seen = dict.fromkeys(wanted, 0)
        keep = len(WELCOME_TOKEN) - 1
        tails = dict.fromkeys(wanted, b"")
        begin = self._probe()
        for index, conn in enumerate(clients):
            adapter = conn.door.adapter
            if not isinstance(adapter, ChatAdapter):
                raise ValueError(f"rooms are measured on the chat door, not {adapter.name}")
            conn.out += b"".join(adapter.join_room(room) for room in rooms_of[index])
            self._flush(conn)
        waiting = {fd for fd, count in wanted.items() if count}
        deadline = begin.wall + limit
        while waiting:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{len(waiting)} clients lack welcomes after {limit}s")
            for fd, _events in self.epoll.poll(0.05, len(self.conns) + 1):
                reader = self.conns.get(fd)
                if reader is None:
                    continue
                if reader.out:
                    self._flush(reader)
                try:
                    data = reader.sock.recv(RECV_BUFFER)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._drop(reader)
                    waiting.discard(fd)
                    continue
                if fd in seen:
                    stream = tails[fd] + data
                    seen[fd] += stream.count(WELCOME_TOKEN)
                    tails[fd] = stream[-keep:]
                    if seen[fd] >= wanted[fd]:
                        waiting.discard(fd)
            for conn in clients:
                if conn.out and self.conns.get(conn.fd) is conn:
                    self._flush(conn)
        end = self._probe()
        wall = end.wall - begin.wall
        joins = sum(min(seen[fd], wanted[fd]) for fd in wanted)
        return {
            "clients": len(clients),
            "rooms_per_client": max(wanted.values(), default=0),
            "joins": joins,
            "seconds": round(wall, 4),
            "joins_per_s": round(joins / wall),
            **self.costs(begin, end),
        }

    # -- measuring ---------------------------------------------------------------------------

    def _probe(self) -> Probe:
        server_cpu = read_cpu_seconds(self.server_pid) if self.server_pid else None
        return Probe(time.perf_counter(), time.process_time(), server_cpu, read_core_ticks())

    def costs(self, begin: Probe, end: Probe, hot_loop_cpu: float = 0.0) -> dict[str, float]:
        """CPU shares between two probes: ours (with C{hot_loop_cpu}, the seconds the hot
        loop used meanwhile), the server's, and their cores' whole load.

        Ours is read precisely (C{process_time}, the hot loop's C{getrusage}), so it is
        there for a phase of any length: a fast door joins 1,000 clients in a tenth of a
        second. The others come from /proc in clock ticks (10 ms): left out of a blink.
        """
        wall = end.wall - begin.wall
        if wall <= 0:
            return {}
        figures = {"gen_cpu": round((end.cpu - begin.cpu + hot_loop_cpu) / wall, 3)}
        if wall < 0.2:
            return figures
        if begin.server_cpu is not None and end.server_cpu is not None:
            figures["server_cpu"] = round((end.server_cpu - begin.server_cpu) / wall, 3)
        for key, core in (("server_core", self.server_core), ("gen_core", self.own_core)):
            if core is not None and core in begin.cores and core in end.cores:
                busy = (end.cores[core] - begin.cores[core]) / CLK_TCK
                figures[key] = round(busy / wall, 3)
        return figures

    def settle(self, longest: float, shortest: float = 0.3, idle: float = 0.05) -> float:
        """Keep reading until the server is idle (or C{longest} s); return the seconds."""
        start = time.perf_counter()
        while True:
            begin = self._probe()
            while time.perf_counter() - begin.wall < 0.1:
                self.pump(0.02)
            end = self._probe()
            waited = end.wall - start
            if waited >= longest:
                return waited
            if waited >= shortest and (
                begin.server_cpu is None
                or end.server_cpu is None
                or (end.server_cpu - begin.server_cpu) / (end.wall - begin.wall) < idle
            ):
                return waited

    def _run_hot_loop(
        self, clients: Sequence[Conn], description: list[str]
    ) -> tuple[dict[str, Any], Probe, Probe]:
        """Run the hot loop over C{clients}' sockets as C{description} says (see
        bench/fanout_loop.c); return its figures and probes taken at its begin and end."""
        if not self.hot_loop.exists():
            raise RuntimeError(f"no {self.hot_loop}: `make bench` builds it")
        text = "\n".join(description) + "\n"
        probes: list[Probe] = []
        figures: dict[str, Any] | None = None
        with subprocess.Popen(
            [str(self.hot_loop)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=[conn.fd for conn in clients],
        ) as proc:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(text.encode())
            proc.stdin.close()
            for line in proc.stdout:
                if line in (b"begin\n", b"end\n"):
                    probes.append(self._probe())
                else:
                    figures = json.loads(line)
        if proc.returncode or figures is None or len(probes) != 2:
            raise RuntimeError(f"the hot loop failed (exit status {proc.returncode})")
        for fd in figures.pop("dead"):
            if (conn := self.conns.get(fd)) is not None:
                self._drop(conn)
        self.errors.extend(figures.pop("errors")[: max(0, 20 - len(self.errors))])
        for conn in clients:
            # The hot loop read these streams: what the ping spotter remembered is stale.
            conn.carry = bytes(LOOKBACK)
            conn.ping_partial = b""
        return figures, probes[0], probes[1]

    def _alive(self, clients: Sequence[Conn]) -> list[Conn]:
        return [conn for conn in clients if self.conns.get(conn.fd) is conn]

    def flood(
        self,
        clients: Sequence[Conn],
        senders: int,
        window: int,
        size: int,
        warmup: float,
        duration: float,
        gap: float,
    ) -> dict[str, Any]:
        """Flood the room from C{senders} clients; return deliveries/s and what it cost."""
        clients = self._alive(clients)
        if len(clients) < senders + 1:
            raise ValueError("need an observer that is not a sender")
        talkers = clients[:senders]
        roles = {conn.fd: "s" for conn in talkers} | {clients[-1].fd: "o"}
        # A window's worth of each sender's message, encoded anew each time (a WebSocket
        # frame gets a fresh masking key), all of one length.
        batches = [
            b"".join(
                talker.door.adapter.message(bench_text(tag.decode(), size)) for _ in range(window)
            )
            for talker, tag in zip(talkers, self.tags, strict=True)
        ]
        description = [
            *(f"conn {c.fd} {int(c.websocket)} {roles.get(c.fd, 'r')}" for c in clients),
            *(f"batch {batch.hex()}" for batch in batches),
        ]
        return self._flood(clients, senders, window, warmup, duration, gap, description)

    def rooms_flood(
        self,
        rooms: Mapping[str, Sequence[Conn]],
        window: int,
        size: int,
        warmup: float,
        duration: float,
        gap: float,
    ) -> dict[str, Any]:
        """Flood every room of C{rooms} (name: members) at once, from its first member, its
        last member observing; return deliveries/s (per room member) and what it cost."""
        members = {name: self._alive(conns) for name, conns in rooms.items()}
        if any(len(conns) < 2 for conns in members.values()):
            raise ValueError("every room needs a sender and an observer")
        tag = self.tags[0].decode()  # one sender per room: its observer's first letter
        lines: list[str] = []
        batches: list[str] = []
        for name, conns in members.items():
            sender, observer = conns[0], conns[-1]
            adapter = sender.door.adapter
            if not isinstance(adapter, ChatAdapter):
                raise ValueError(f"rooms are measured on the chat door, not {adapter.name}")
            lines.append(f"conn {sender.fd} {int(sender.websocket)} s {observer.fd}")
            lines += [f"conn {c.fd} {int(c.websocket)} r" for c in conns[1:-1]]
            lines.append(f"conn {observer.fd} {int(observer.websocket)} o")
            text = bench_text(tag, size)
            batches.append(f"batch {(adapter.room_message(text, name) * window).hex()}")
        clients = [c for conns in members.values() for c in conns]
        result = self._flood(clients, len(members), window, warmup, duration, gap, lines + batches)
        result["rooms"] = len(members)
        return result

    def _flood(
        self,
        clients: Sequence[Conn],
        senders: int,
        window: int,
        warmup: float,
        duration: float,
        gap: float,
        conns_and_batches: list[str],
    ) -> dict[str, Any]:
        """Run one flood of the hot loop (its C{conn} and C{batch} lines given); the figures."""
        description = [
            "mode flood",
            f"warmup {warmup}",
            f"duration {duration}",
            f"gap {gap}",
            f"window {window}",
            *conns_and_batches,
        ]
        disconnects = self.disconnects
        figures, begin, end = self._run_hot_loop(clients, description)
        seconds = figures["seconds"]
        result: dict[str, Any] = {
            "clients": len(clients),
            "senders": senders,
            "window": window,
            "gap_ms": gap * 1000,
            "seconds": round(seconds, 3),
            "deliveries": figures["deliveries"],
            "deliveries_per_s": round(figures["deliveries"] / seconds),
            "messages_per_s": round(figures["messages"] / seconds),
            "lost": figures["lost"],
            "disconnects": self.disconnects - disconnects,
            **self.costs(begin, end, figures["cpu_seconds"]),
            # The kernel's part of the generator's CPU (its receive system calls), and how
            # many deliveries each read brought.
            "gen_kernel_cpu": round(figures["system_seconds"] / seconds, 3),
            "deliveries_per_read": round(figures["deliveries"] / max(1, figures["reads"]), 2),
        }
        if "server_core" in result and result["deliveries"]:
            # What a delivery costs the server's core: comparable between servers even
            # when the generator, not the server, is the bottleneck.
            busy_ns = result["server_core"] * (end.wall - begin.wall) * 1e9
            result["server_ns_per_delivery"] = round(busy_ns / result["deliveries"])
        return result

    def _flush(self, conn: Conn) -> None:
        try:
            sent = conn.sock.send(conn.out)
        except BlockingIOError:
            return
        except OSError:
            conn.out = b""
            self._drop(conn)
            return
        conn.out = conn.out[sent:]

    def latency(
        self,
        clients: Sequence[Conn],
        rate: float,
        duration: float,
        size: int,
        room: str | None = None,
    ) -> dict[str, Any]:
        """One sender posts timestamped probes at C{rate}/s; latency over every delivery.

        Two receive times are kept: when the probe's segment arrived in the
        client's socket (the kernel's SO_TIMESTAMPNS stamp: what the server
        alone costs) and when the hot loop read it (adds the generator's own
        delay in reaching that socket among the N). With C{room}, the probes are
        messages in that room, of which C{clients} are the members.
        """
        clients = self._alive(clients)
        sender = clients[0]
        wire, digits_at, key = probe_template(sender.door.adapter, size, room)
        description = [
            "mode latency",
            f"rate {rate}",
            f"duration {duration}",
            *(f"conn {c.fd} {int(c.websocket)} {'p' if c is sender else 'r'}" for c in clients),
            f"probe {wire.hex()} {digits_at} {key.hex()}",
        ]
        figures, begin, end = self._run_hot_loop(clients, description)
        receivers = len(clients) if sender.door.adapter.echoes_sender else len(clients) - 1
        times = ("p50_ms", "p99_ms", "max_ms", "read_p50_ms", "read_p99_ms")
        return {
            "clients": len(clients),
            "rate": rate,
            "probes": figures["probes"],
            "deliveries": figures["deliveries"],
            "expected": figures["probes"] * receivers,
            "stamped": figures["stamped"],
            # The hot loop writes -1 for a time it has no delivery for.
            **{key: (figures[key] if figures[key] >= 0 else None) for key in times},
            **self.costs(begin, end, figures["cpu_seconds"]),
        }


def probe_template(
    adapter: Adapter, size: int, room: str | None = None
) -> tuple[bytes, int, bytes]:
    """A probe's wire bytes with a zero send time, where its digits begin, and the four
    WebSocket masking bytes that the first four digits are XORed with (zeros for a door
    that does not mask), so the hot loop can write the send time in at the last moment.

    With C{room}, the probe is a message in that room (the chat door only)."""
    text = bench_text(f"{PROBE_HEAD.decode()}{'0' * PROBE_DIGITS}!", size)
    if room is None:
        wire = adapter.message(text)
    elif isinstance(adapter, ChatAdapter):
        wire = adapter.room_message(text, room)
    else:
        raise ValueError(f"rooms are measured on the chat door, not {adapter.name}")
    start, key = masked_payload(wire) if adapter.websocket else (0, bytes(4))
    at = mask(wire[start:], key).index(PROBE_HEAD + b"0" * PROBE_DIGITS) + len(PROBE_HEAD)
    turn = at % 4
    return wire, start + at, key[turn:] + key[:turn]


@dataclass
class Settings:
    """What one generator run does."""

    clients: int = 1000
    small_clients: int = 100
    senders: int = 10
    window: int = 16
    size: int = 100
    warmup: float = 1.0
    duration: float = 3.0
    gap: float = 0.001
    latency_rate: float = 50.0
    latency_seconds: float = 4.0
    join_inflight: int = 32
    join_limit: float = 120.0
    #: Rooms of the many-room phases (0: none): the N clients dealt into this many rooms.
    rooms: int = 0
    #: Rooms each client joins in the room-joins phase, its flooded room among them.
    rooms_per_client: int = 10
    phases: set[str] = field(
        default_factory=lambda: {
            "joins",
            "rss",
            "flood",
            "flood-gap",
            "latency",
            "small",
            "room-joins",
            "rooms-flood",
            "rooms-latency",
        }
    )


def room_layout(
    clients: int, rooms: int, per_client: int
) -> tuple[dict[int, list[str]], dict[str, list[int]]]:
    """The rooms client i joins (its flooded room C{#rK} first: C{clients // rooms}
    consecutive clients each; then C{per_client - 1} rooms C{#jK}, shared by more), and
    the flooded rooms' members by client index."""
    size = clients // rooms
    if size < 2:
        raise ValueError("a room needs at least two clients (a sender and an observer)")
    if not 1 <= per_client <= rooms:
        raise ValueError("each client joins 1 to ROOMS rooms")
    rooms_of: dict[int, list[str]] = {}
    members: dict[str, list[int]] = {}
    for i in range(size * rooms):
        flooded = f"#r{i // size}"
        members.setdefault(flooded, []).append(i)
        rooms_of[i] = [flooded, *(f"#j{(i + k) % rooms}" for k in range(1, per_client))]
    return rooms_of, members


def raise_fd_limit(need: int) -> None:
    """Raise the soft open-files limit to the hard one if C{need} would not fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(gen: LoadGenerator, settings: Settings, log: Any = sys.stderr) -> dict[str, Any]:
    """Run every phase of C{settings} with C{gen}; return the results as one dict."""
    s = settings
    result: dict[str, Any] = {"proto": "+".join(door.adapter.name for door in gen.doors)}

    def note(text: str) -> None:
        print(f"[loadgen] {text}", file=log, flush=True)

    pid = gen.server_pid
    gen.settle(3.0)
    rss0 = read_rss_kib(pid) if pid else None
    note(f"joining {s.clients} clients ({s.join_inflight} in flight)")
    big, result["joins"] = gen.join(s.clients, s.join_inflight, "L", s.join_limit)
    gen.settle(5.0, shortest=1.0)
    if pid and rss0 is not None and "rss" in s.phases:
        rss1 = read_rss_kib(pid)
        result["rss"] = {
            "clients": s.clients,
            "before_kib": rss0,
            "after_kib": rss1,
            "kib_per_client": round((rss1 - rss0) / s.clients, 2),
        }
    if s.rooms:
        rooms_of, members = room_layout(len(big), s.rooms, s.rooms_per_client)
        note(f"{len(rooms_of)} clients join {s.rooms_per_client} rooms each")
        room_joins = gen.join_rooms(rooms_of, big, s.join_limit)
        if "room-joins" in s.phases:
            result["room_joins"] = room_joins
        gen.settle(5.0, shortest=1.0)
    for phase, gap in (("flood", 0.0), ("flood-gap", s.gap)):
        if phase in s.phases and (gap or phase == "flood"):
            note(f"{phase} N={s.clients}")
            result[phase] = gen.flood(big, s.senders, s.window, s.size, s.warmup, s.duration, gap)
            gen.settle(3.0)
    if "latency" in s.phases:
        note(f"latency N={s.clients}")
        result["latency"] = gen.latency(big, s.latency_rate, s.latency_seconds, s.size)
    if s.rooms:
        rooms = {name: [big[i] for i in indexes] for name, indexes in members.items()}
        if "rooms-flood" in s.phases:
            note(f"flood of {len(rooms)} rooms at once")
            result["rooms_flood"] = gen.rooms_flood(
                rooms, s.window, s.size, s.warmup, s.duration, 0.0
            )
            gen.settle(3.0)
        if "rooms-latency" in s.phases:
            first = next(iter(rooms))
            note(f"latency in {first}")
            result["rooms_latency"] = gen.latency(
                rooms[first], s.latency_rate, s.latency_seconds, s.size, room=first
            )
    gen.leave(big)
    gen.settle(10.0, shortest=0.5)
    if "small" in s.phases:
        note(f"joining {s.small_clients} clients")
        small, result["small_joins"] = gen.join(s.small_clients, s.join_inflight, "S", s.join_limit)
        gen.settle(3.0)
        for phase, gap in (("flood", 0.0), ("flood-gap", s.gap)):
            if phase in s.phases and (gap or phase == "flood"):
                note(f"{phase} N={s.small_clients}")
                result[f"small_{phase}"] = gen.flood(
                    small, s.senders, s.window, s.size, s.warmup, s.duration, gap
                )
                gen.settle(3.0)
        gen.leave(small)
    result["disconnects"] = gen.disconnects
    result["errors"] = gen.errors
    return result


def handshake_times(seconds: Sequence[float]) -> dict[str, float]:
    """The p50 and p99 (nearest rank) of handshake durations, connect to welcome, in ms."""
    if not seconds:
        return {}
    ordered = sorted(seconds)

    def rank(fraction: float) -> float:
        return round(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] * 1000, 2)

    return {"handshake_p50_ms": rank(0.5), "handshake_p99_ms": rank(0.99)}


def describe_costs(figures: dict[str, Any]) -> str:
    """The CPU shares of one phase, in words."""
    if "gen_cpu" not in figures:
        return "too short for CPU shares"
    parts = [f"gen cpu {figures['gen_cpu']:.0%}"]
    if "server_cpu" in figures:
        parts.append(f"server cpu {figures['server_cpu']:.0%}")
    if "server_core" in figures:
        parts.append(f"server core {figures['server_core']:.0%}")
    if "gen_core" in figures:
        parts.append(f"gen core {figures['gen_core']:.0%}")
    return ", ".join(parts)


def format_table(result: dict[str, Any]) -> str:
    """A human-readable table of one run's figures."""
    rows: list[tuple[str, str]] = []
    for key, label in (("joins", "joins/s"), ("small_joins", "joins/s")):
        if key in result:
            j = result[key]
            value = f"{j['joins_per_s']:,} ({describe_costs(j)})"
            rows.append((f"{label} N={j['clients']}", value))
            if "handshake_p99_ms" in j:
                p50, p99 = j["handshake_p50_ms"], j["handshake_p99_ms"]
                times = f"{p50} / {p99} ({j['inflight']} in flight)"
                rows.append((f"handshake p50/p99 ms N={j['clients']}", times))
    if "rss" in result:
        rss = result["rss"]
        rows.append((f"RSS KiB per idle client N={rss['clients']}", f"{rss['kib_per_client']}"))
    if "room_joins" in result:
        j = result["room_joins"]
        rows.append(
            (
                f"room joins/s ({j['rooms_per_client']} per client)",
                f"{j['joins_per_s']:,} ({describe_costs(j)})",
            )
        )
    for key in ("flood", "flood-gap", "small_flood", "small_flood-gap", "rooms_flood"):
        if key in result:
            f = result[key]
            rooms = f" in {f['rooms']} rooms" if "rooms" in f else ""
            rows.append(
                (
                    f"deliveries/s N={f['clients']}{rooms} gap={f['gap_ms']:g}ms",
                    f"{f['deliveries_per_s']:,} ({describe_costs(f)}, lost {f['lost']})",
                )
            )
    for key in ("latency", "rooms_latency"):
        if key not in result:
            continue
        lat = result[key]
        rows.append(
            (
                f"{key} p50/p99 ms N={lat['clients']} {lat['rate']:g}/s",
                f"{lat['p50_ms']} / {lat['p99_ms']} (read by us: {lat['read_p50_ms']} / "
                f"{lat['read_p99_ms']}; {lat['deliveries']}/{lat['expected']} delivered)",
            )
        )
    rows.append(("disconnects", str(result.get("disconnects", 0))))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def door_spec(text: str) -> tuple[str, int]:
    """Parse C{--also}'s PROTO:PORT."""
    proto, sep, port = text.rpartition(":")
    if not sep or proto not in ADAPTERS or not port.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected PROTO:PORT with PROTO one of {', '.join(sorted(ADAPTERS))}: {text!r}"
        )
    return proto, int(port)


def doors(host: str, specs: Sequence[tuple[str, int]]) -> list[Door]:
    """The doors of (protocol, port) pairs on C{host}."""
    return [Door(ADAPTERS[proto].for_server(host, port), (host, port)) for proto, port in specs]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    defaults = Settings()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--proto", choices=sorted(ADAPTERS), default="chat")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument(
        "--also",
        action="append",
        default=[],
        type=door_spec,
        metavar="PROTO:PORT",
        help="another door of the same room; clients are dealt round-robin between the doors",
    )
    p.add_argument("--server-pid", type=int, help="the server's PID, for RSS and CPU")
    p.add_argument("--clients", type=int, default=defaults.clients)
    p.add_argument("--small-clients", type=int, default=defaults.small_clients)
    p.add_argument("--senders", type=int, default=defaults.senders)
    p.add_argument("--window", type=int, default=defaults.window)
    p.add_argument("--size", type=int, default=defaults.size, help="message bytes")
    p.add_argument("--warmup", type=float, default=defaults.warmup)
    p.add_argument("--duration", type=float, default=defaults.duration)
    p.add_argument("--gap-ms", type=float, default=defaults.gap * 1000)
    p.add_argument("--latency-rate", type=float, default=defaults.latency_rate)
    p.add_argument("--latency-seconds", type=float, default=defaults.latency_seconds)
    p.add_argument("--join-inflight", type=int, default=defaults.join_inflight)
    p.add_argument("--join-limit", type=float, default=defaults.join_limit)
    p.add_argument(
        "--rooms",
        type=int,
        default=defaults.rooms,
        help="also deal the N clients into this many rooms (chat door): room joins/s, and "
        "every room flooded at once by one sender each",
    )
    p.add_argument("--rooms-per-client", type=int, default=defaults.rooms_per_client)
    p.add_argument(
        "--phases",
        default=",".join(sorted(defaults.phases)),
        help="comma-separated subset of: " + ",".join(sorted(defaults.phases)),
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator from the command line; print a table and one JSON line."""
    args = parse_args(argv)
    settings = Settings(
        clients=args.clients,
        small_clients=args.small_clients,
        senders=args.senders,
        window=args.window,
        size=args.size,
        warmup=args.warmup,
        duration=args.duration,
        gap=args.gap_ms / 1000,
        latency_rate=args.latency_rate,
        latency_seconds=args.latency_seconds,
        join_inflight=args.join_inflight,
        join_limit=args.join_limit,
        rooms=args.rooms,
        rooms_per_client=args.rooms_per_client,
        phases=set(filter(None, args.phases.split(","))),
    )
    raise_fd_limit(settings.clients + settings.small_clients + 64)
    gen = LoadGenerator(
        doors(args.host, [(args.proto, args.port), *args.also]), args.server_pid, settings.senders
    )
    result = run(gen, settings)
    print(format_table(result), flush=True)
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
