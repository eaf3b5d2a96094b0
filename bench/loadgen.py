"""A one-process epoll load generator for room fan-out: joins/s, RSS per client, deliveries/s,
latency.

Run it pinned to its own core, against a server pinned to another::

    taskset -c 1 python -m bench.loadgen --proto chat --port 10328 --server-pid PID

A room with several doors gets clients dealt round-robin between them, e.g.
half on the TCP door and half on the WebSocket door::

    taskset -c 1 python -m bench.loadgen --proto chat --port 10328 --also ws:8080

Clients are non-blocking sockets on level-triggered epoll sets (one for
handshakes, one for joined clients). Once a client has joined, the generator
never parses what it receives: every room
message carries a punctuation marker token, and a delivery is one occurrence
of that token in the raw byte stream, counted with C{bytes.count} over a
scratch buffer that starts with the last C{len(token) - 1} bytes of the
previous read (the carry-over), so a token split across two reads is counted
exactly once. That is what keeps the generator off the critical path; it
reports its own CPU time so a reader can check. A WebSocket server's frames
are unmasked, so the same count works on a WebSocket stream; the only thing
looked for besides is a ping to answer (see L{bench.websocket.spot_pings}).

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
then the same joins and floods for the small room.

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import resource
import select
import socket
import struct
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bench.adapters import ADAPTERS, Adapter, HandshakeError
from bench.websocket import LOOKBACK, WebSocketError, spot_pings

#: The delivery marker: punctuation that neither JSON nor IRC rewrites, and
#: that no nickname, channel name, notice or timestamp of the bench contains.
MARKER: Final = b"[^|^]"
#: Sender tags follow the marker: one letter per sender.
TAG_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: The latency probe: marker, "@", send time (ns since the epoch), "!".
PROBE_HEAD: Final = MARKER + b"@"
PROBE_MAX: Final = len(PROBE_HEAD) + 20 + 1
#: Linux asks the kernel to stamp each received segment with SO_TIMESTAMPNS (35 on
#: every Linux architecture but a few exotic ones); recvmsg then carries a timespec.
SO_TIMESTAMPNS: Final = int(getattr(socket, "SO_TIMESTAMPNS", 35))
SCM_TIMESTAMPNS: Final = SO_TIMESTAMPNS
TIMESPEC: Final = struct.Struct("@qq")
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
RECV_BUFFER: Final = 1 << 18


class MarkerCounter:
    """Counts a marker token (and optional tag tokens) in many byte streams.

    All streams share one scratch buffer. Each stream keeps only its carry:
    the last C{carry_len} bytes it received. A read lands in the buffer right
    after the carry, and each token is counted from the offset where it could
    first end in new bytes, so a token split across reads is counted once and
    a token already counted in the carry is not counted again.
    """

    def __init__(self, marker: bytes, tags: Sequence[bytes] = (), bufsize: int = RECV_BUFFER):
        if not marker or any(not tag for tag in tags):
            raise ValueError("tokens must not be empty")
        for token in (marker, *tags):
            if any(token[:k] == token[-k:] for k in range(1, len(token))):
                raise ValueError(f"token {token!r} can overlap itself")
        self.marker = marker
        self.tags = tuple(tags)
        self.carry_len = max(len(t) for t in (marker, *self.tags)) - 1
        self.buf = bytearray(self.carry_len + bufsize)
        self._tail = memoryview(self.buf)[self.carry_len :]
        self._bufsize = bufsize
        self._start = self.carry_len - (len(marker) - 1)
        self._tag_starts = [self.carry_len - (len(t) - 1) for t in self.tags]
        #: End of the valid bytes of the last window.
        self.end = 0

    def fresh_carry(self) -> bytes:
        """The carry of a stream that has received nothing (zero bytes match no token)."""
        return bytes(self.carry_len)

    def recv(self, conn: Conn) -> int:
        """Read once from C{conn}'s socket; return the markers received, -1 at EOF."""
        cl = self.carry_len
        buf = self.buf
        buf[0:cl] = conn.carry
        try:
            n = conn.recv_into(self._tail)
        except BlockingIOError:
            self.end = cl
            return 0
        except OSError:
            return -1
        if not n:
            return -1
        end = self.end = cl + n
        conn.carry = bytes(buf[n:end])
        return buf.count(self.marker, self._start, end)

    def feed(self, conn: Conn | Carry, data: bytes) -> int:
        """Count the markers in C{data}, received by C{conn} after what it had."""
        total = 0
        cl = self.carry_len
        view = memoryview(data)
        for pos in range(0, len(data), self._bufsize):
            chunk = view[pos : pos + self._bufsize]
            n = len(chunk)
            self.buf[0:cl] = conn.carry
            self._tail[:n] = chunk
            end = self.end = cl + n
            conn.carry = bytes(self.buf[n:end])
            total += self.buf.count(self.marker, self._start, end)
        return total

    def tag_counts(self) -> list[int]:
        """Occurrences of each tag in the window of the last C{recv} (single-chunk C{feed})."""
        buf, end = self.buf, self.end
        return [buf.count(t, s, end) for t, s in zip(self.tags, self._tag_starts, strict=True)]


class Carry:
    """A bare stream state for L{MarkerCounter.feed} (what a connection keeps)."""

    __slots__ = ("carry",)

    def __init__(self, carry: bytes) -> None:
        self.carry = carry


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
        "probe_tail",
        "recv_into",
        "sock",
        "started",
        "websocket",
    )

    def __init__(self, sock: socket.socket, nickname: str, door: Door, carry: bytes):
        self.sock = sock
        self.fd = sock.fileno()
        self.nickname = nickname
        self.door = door
        self.handshake = door.adapter.handshake(nickname)
        #: Whether the server's pings must be spotted and answered.
        self.websocket = door.adapter.websocket
        self.ping_partial = b""
        self.joined = False
        self.carry = carry
        self.out = b""
        self.probe_tail = b""
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


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The C{q}-quantile (0..1) of C{sorted_values}, nearest rank."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 1))))
    return sorted_values[rank - 1]


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
    total: int
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

    def __init__(self, doors: Sequence[Door], server_pid: int | None, senders: int) -> None:
        if senders > len(TAG_LETTERS):
            raise ValueError(f"at most {len(TAG_LETTERS)} senders")
        if not doors:
            raise ValueError("no door to connect to")
        self.doors = list(doors)
        self.server_pid = server_pid
        self.server_core = only_core(server_pid) if server_pid else None
        self.own_core = only_core(0)
        self.tags = [MARKER + letter.encode() for letter in TAG_LETTERS[:senders]]
        self.counter = MarkerCounter(MARKER, self.tags)
        assert self.counter.carry_len >= LOOKBACK, "the ping spotter looks back into the carry"
        #: Joined clients, and those still connecting or handshaking, on separate sets, so
        #: that a join phase can serve handshakes at once and sweep the joined periodically.
        self.epoll = select.epoll()
        self.conns: dict[int, Conn] = {}
        self.hs_epoll = select.epoll()
        self.handshaking: dict[int, Conn] = {}
        self.total = 0
        self.disconnects = 0
        self.errors: list[str] = []
        self.observer: Conn | None = None
        self.acked = [0] * senders
        self.probe_mode = False
        self.read_latencies: list[int] = []
        self.arrival_latencies: list[int] = []
        self._probe_view = memoryview(bytearray(RECV_BUFFER))
        self._newly_joined: list[Conn] = []
        self._failed = 0

    # -- the event loop ------------------------------------------------------------------

    def pump(self, timeout: float) -> None:
        """Wait up to C{timeout} seconds for events and handle all of them."""
        recv = self.counter.recv
        conns = self.conns
        observer = self.observer
        total = 0
        for fd, _events in self.epoll.poll(timeout, len(conns) + 1):
            conn = conns.get(fd)
            if conn is None:
                continue
            if self.probe_mode:
                self._probe_read(conn)
                continue
            got = recv(conn)
            if got < 0:
                self._drop(conn)
                continue
            total += got
            if conn.websocket:
                self._answer_pings(conn, self.counter.buf, self.counter.carry_len, self.counter.end)
            if conn is observer:
                acked = self.acked
                for i, n in enumerate(self.counter.tag_counts()):
                    acked[i] += n
        self.total += total

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

    def _probe_read(self, conn: Conn) -> None:
        view = self._probe_view
        try:
            n, ancillary, _flags, _address = conn.sock.recvmsg_into([view], 64)
        except BlockingIOError:
            return
        except OSError:
            n = 0
        read_ns = time.time_ns()
        if not n:
            self._drop(conn)
            return
        arrival_ns = 0
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(data) >= 16:
                seconds, nanoseconds = TIMESPEC.unpack_from(data)
                arrival_ns = seconds * 1_000_000_000 + nanoseconds
        new_from = len(conn.probe_tail)
        text = conn.probe_tail + bytes(view[:n])
        if conn.websocket:
            self._answer_pings(conn, text, new_from, len(text))
        last = 0
        pos = text.find(PROBE_HEAD)
        while pos >= 0:
            end = text.find(b"!", pos + len(PROBE_HEAD))
            if end < 0:
                break
            sent_ns = int(text[pos + len(PROBE_HEAD) : end])
            self.read_latencies.append(read_ns - sent_ns)
            if arrival_ns:
                self.arrival_latencies.append(arrival_ns - sent_ns)
            last = end + 1
            pos = text.find(PROBE_HEAD, last)
        # Keep what may begin a probe, and at least what the ping spotter looks back at.
        keep_from = max(last, len(text) - (PROBE_MAX - 1))
        conn.probe_tail = text[min(keep_from, max(0, len(text) - LOOKBACK)) :]

    # -- joining ---------------------------------------------------------------------------

    def _connect(self, nickname: str, door: Door) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = sock.connect_ex(door.address)
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            raise OSError(err, os.strerror(err))
        conn = Conn(sock, nickname, door, self.counter.fresh_carry())
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
            self.total += self.counter.feed(conn, rest)
            self._newly_joined.append(conn)
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

    # -- measuring ---------------------------------------------------------------------------

    def _probe(self) -> Probe:
        server_cpu = read_cpu_seconds(self.server_pid) if self.server_pid else None
        return Probe(
            time.perf_counter(), time.process_time(), server_cpu, self.total, read_core_ticks()
        )

    def costs(self, begin: Probe, end: Probe) -> dict[str, float]:
        """CPU shares between two probes: ours, the server's, and their cores' whole load."""
        wall = end.wall - begin.wall
        if wall < 0.2:  # /proc counts in clock ticks (10 ms): too coarse for a blink
            return {}
        figures = {"gen_cpu": round((end.cpu - begin.cpu) / wall, 3)}
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
        if len(clients) < senders + 1:
            raise ValueError("need an observer that is not a sender")
        talkers = list(clients[:senders])
        self.observer = clients[-1]
        self.acked = [0] * senders
        # A window's worth of each sender's message, encoded anew each time (a WebSocket
        # frame gets a fresh masking key), all of one length.
        batches = [
            b"".join(
                talker.door.adapter.message(bench_text(tag.decode(), size)) for _ in range(window)
            )
            for talker, tag in zip(talkers, self.tags, strict=True)
        ]
        lengths = [len(batch) // window for batch in batches]
        sent = [0] * senders
        last_acked = [0] * senders
        last_progress = [0.0] * senders
        lost = 0
        refill = max(1, window // 2)
        disconnects = self.disconnects
        start = time.perf_counter()
        begin: Probe | None = None
        messages_at_begin = 0
        while True:
            now = time.perf_counter()
            if begin is None and now >= start + warmup:
                begin = self._probe()
                messages_at_begin = sum(sent)
            if now >= start + warmup + duration:
                break
            acked = self.acked
            for i, conn in enumerate(talkers):
                if conn.out:
                    self._flush(conn)
                    continue
                if acked[i] != last_acked[i]:
                    last_acked[i] = acked[i]
                    last_progress[i] = now
                in_flight = max(0, sent[i] - acked[i])
                if in_flight > 0 and now - last_progress[i] > 1.0:
                    lost += in_flight
                    self.acked[i] = last_acked[i] = sent[i]
                    last_progress[i] = now
                    in_flight = 0
                room = window - in_flight
                if room >= refill and self.conns.get(conn.fd) is conn:
                    if in_flight <= 0:
                        last_progress[i] = now
                    conn.out = batches[i][: room * lengths[i]]
                    sent[i] += room
                    self._flush(conn)
            self.pump(0.01)
            if gap:
                time.sleep(gap)
        end = self._probe()
        assert begin is not None
        messages = sum(sent) - messages_at_begin
        # Let what is in flight arrive, so the next phase starts clean.
        drain_until = time.perf_counter() + 2.0
        while time.perf_counter() < drain_until and any(
            self.acked[i] < sent[i] for i in range(senders)
        ):
            for conn in talkers:
                if conn.out:
                    self._flush(conn)
            self.pump(0.01)
        self.observer = None
        wall = end.wall - begin.wall
        result: dict[str, Any] = {
            "clients": len(clients),
            "senders": senders,
            "window": window,
            "gap_ms": gap * 1000,
            "seconds": round(wall, 3),
            "deliveries": end.total - begin.total,
            "deliveries_per_s": round((end.total - begin.total) / wall),
            "messages_per_s": round(messages / wall),
            "lost": lost,
            "disconnects": self.disconnects - disconnects,
            **self.costs(begin, end),
        }
        if "server_core" in result and result["deliveries"]:
            # What a delivery costs the server's core: comparable between servers even
            # when the generator, not the server, is the bottleneck.
            busy_ns = result["server_core"] * wall * 1e9
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
        self, clients: Sequence[Conn], rate: float, duration: float, size: int
    ) -> dict[str, Any]:
        """One sender posts timestamped probes at C{rate}/s; latency over every delivery.

        Two receive times are kept: when the probe's segment arrived in the
        client's socket (the kernel's SO_TIMESTAMPNS stamp: what the server
        alone costs) and when the generator read it (adds the generator's own
        delay in reaching that socket among the N).
        """
        clients = [conn for conn in clients if self.conns.get(conn.fd) is conn]
        sender = clients[0]
        for conn in clients:
            # The stream's last bytes: the ping spotter's look-back (no probe begins there).
            conn.probe_tail = conn.carry
            conn.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.read_latencies = []
        self.arrival_latencies = []
        begin = self._probe()
        self.probe_mode = True
        interval = 1.0 / rate
        start = time.perf_counter()
        next_send = start
        probes = 0
        try:
            while True:
                now = time.perf_counter()
                if now >= start + duration:
                    break
                if now >= next_send:
                    head = f"{PROBE_HEAD.decode()}{time.time_ns()}!"
                    sender.out += sender.door.adapter.message(bench_text(head, size))
                    self._flush(sender)
                    probes += 1
                    next_send += interval
                self.pump(max(0.0, next_send - time.perf_counter()))
            drain_until = time.perf_counter() + 1.0
            while time.perf_counter() < drain_until:
                self.pump(0.02)
        finally:
            self.probe_mode = False
            for conn in clients:
                if self.conns.get(conn.fd) is conn:
                    conn.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 0)
        end = self._probe()
        receivers = len(clients) if sender.door.adapter.echoes_sender else len(clients) - 1
        read = sorted(self.read_latencies)
        arrival = sorted(self.arrival_latencies) or read
        result: dict[str, Any] = {
            "clients": len(clients),
            "rate": rate,
            "probes": probes,
            "deliveries": len(read),
            "expected": probes * receivers,
            "stamped": len(self.arrival_latencies),
            "p50_ms": round(percentile(arrival, 0.50) / 1e6, 3),
            "p99_ms": round(percentile(arrival, 0.99) / 1e6, 3),
            "max_ms": round(arrival[-1] / 1e6, 3) if arrival else None,
            "read_p50_ms": round(percentile(read, 0.50) / 1e6, 3),
            "read_p99_ms": round(percentile(read, 0.99) / 1e6, 3),
            **self.costs(begin, end),
        }
        return result


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
    phases: set[str] = field(
        default_factory=lambda: {"joins", "rss", "flood", "flood-gap", "latency", "small"}
    )


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
    for phase, gap in (("flood", 0.0), ("flood-gap", s.gap)):
        if phase in s.phases and (gap or phase == "flood"):
            note(f"{phase} N={s.clients}")
            result[phase] = gen.flood(big, s.senders, s.window, s.size, s.warmup, s.duration, gap)
            gen.settle(3.0)
    if "latency" in s.phases:
        note(f"latency N={s.clients}")
        result["latency"] = gen.latency(big, s.latency_rate, s.latency_seconds, s.size)
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
    if "rss" in result:
        rss = result["rss"]
        rows.append((f"RSS KiB per idle client N={rss['clients']}", f"{rss['kib_per_client']}"))
    for key in ("flood", "flood-gap", "small_flood", "small_flood-gap"):
        if key in result:
            f = result[key]
            rows.append(
                (
                    f"deliveries/s N={f['clients']} gap={f['gap_ms']:g}ms",
                    f"{f['deliveries_per_s']:,} ({describe_costs(f)}, lost {f['lost']})",
                )
            )
    if "latency" in result:
        lat = result["latency"]
        rows.append(
            (
                f"latency p50/p99 ms N={lat['clients']} {lat['rate']:g}/s",
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
