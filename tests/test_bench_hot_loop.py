"""The load generator over joined clients (bench/): the hot loop (bench/fanout_loop.c) built
by the bench's make target and driven against a tiny fake server, and the generator's drain
between phases. Correctness only, no timing."""

from __future__ import annotations

import fcntl
import itertools
import select
import shutil
import socket
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path

import pytest

from bench.adapters import (
    Adapter,
    ChatAdapter,
    IrcAdapter,
    WebSocketBroadcastAdapter,
    WebSocketChatAdapter,
)
from bench.loadgen import MARKER, PROBE_DIGITS, PROBE_HEAD, Conn, Door, LoadGenerator
from bench.websocket import OP_PONG, FrameReader, Message, server_frame
from tests.test_bench_loadgen import PING_STREAM, PINGS

ROOT = Path(__file__).resolve().parents[1]
#: Seconds the fake server waits for the hot loop to read what it sent: generous, since a
#: loaded machine is slow; the tests pass or fail on what is counted, never on how fast.
PATIENCE = 30.0

#: Seven markers, three of them tagged A, some next to each other or inside look-alikes.
STREAM = b"[^|^]A hello [^|^]B [^|^][^|^]A [^|^" + b"x" * 40 + b"[^|^]A^|^][^|^]" + b"[^|^" + b"]"

#: Pings among text frames (tests/test_bench_loadgen.py), then two more markers.
MARKED_PING_STREAM = PING_STREAM + server_frame(b"[^|^]B") + server_frame(b"[^|^]")
#: Reads that end in a 16-bit length, inside a ping's payload, and inside a marker.
PING_CUTS = [399, PING_STREAM.index(PINGS[0]) + 3, 36000, len(MARKED_PING_STREAM) - 4]


@pytest.fixture(scope="module")
def hot_loop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hot loop, built by the bench's make target into a scratch directory."""
    if shutil.which("cc") is None or shutil.which("make") is None:
        pytest.skip("the hot loop needs make and a C compiler")
    path = tmp_path_factory.mktemp("hot-loop") / "fanout-loop"
    subprocess.run(["make", "-s", "-C", str(ROOT), f"HOT_LOOP={path}", str(path)], check=True)
    return path


@pytest.fixture
def fake_server() -> Iterator[socket.socket]:
    """A listening loopback socket: the test accepts and speaks for the server by hand."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener


def generator(listener: socket.socket, hot_loop: Path) -> LoadGenerator:
    """A generator of one sender whose clients talk to C{listener}."""
    return LoadGenerator([Door(ChatAdapter(), listener.getsockname())], None, 1, hot_loop)


def join(
    gen: LoadGenerator, listener: socket.socket, adapters: Sequence[Adapter]
) -> tuple[list[Conn], list[socket.socket]]:
    """One client per adapter, already joined as far as C{gen} knows; and the server ends."""
    conns: list[Conn] = []
    server_ends: list[socket.socket] = []
    for index, adapter in enumerate(adapters):
        client = socket.create_connection(listener.getsockname())
        server_end, _address = listener.accept()
        client.setblocking(False)
        conn = Conn(client, f"c{index}", Door(adapter, listener.getsockname()))
        conn.joined = True
        gen.conns[conn.fd] = conn
        gen.epoll.register(conn.fd, select.EPOLLIN)
        conns.append(conn)
        server_ends.append(server_end)
    return conns, server_ends


def unread(sock: socket.socket) -> int:
    """Bytes that arrived on C{sock} and nobody has read yet."""
    answer = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4)
    return int(struct.unpack("i", answer)[0])


def has_unread(sock: socket.socket, size: int) -> bool:
    """Whether exactly C{size} bytes wait unread on C{sock}."""
    return unread(sock) == size


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll C{condition} until it holds, failing after L{PATIENCE} seconds."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.001)


def send_in_pieces(server_end: socket.socket, client: Conn, data: bytes, cuts: list[int]) -> None:
    """Send C{data} cut at C{cuts}, each piece once the client has read the one before, so
    that every piece is one read of the hot loop."""
    for start, end in itertools.pairwise([0, *cuts, len(data)]):
        server_end.sendall(data[start:end])
        wait_for(partial(has_unread, client.sock, 0), "the hot loop to read")


def read_client_messages(server_end: socket.socket, count: int) -> list[Message]:
    """The next C{count} WebSocket messages the client sent (it masks them)."""
    reader = FrameReader(from_client=True)
    messages: list[Message] = []
    server_end.settimeout(PATIENCE)
    while len(messages) < count:
        data = server_end.recv(65536)
        assert data, "the client closed its connection"
        messages += reader.feed(data)
    return messages


def serve(script: Callable[[], None], server_ends: list[socket.socket]) -> Callable[[], None]:
    """Run C{script} in a thread, then hang up C{server_ends} (with every client gone, the
    hot loop ends its phase early); return what joins it and raises what it raised."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            script()
        except BaseException as e:
            failures.append(e)
        finally:
            for end in server_ends:
                end.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def finish() -> None:
        thread.join(PATIENCE)
        assert not thread.is_alive()
        if failures:
            raise failures[0]

    return finish


def test_hot_loop_counts_every_marker_once_and_answers_pings(
    hot_loop: Path, fake_server: socket.socket
) -> None:
    gen = generator(fake_server, hot_loop)
    adapters = [ChatAdapter(), WebSocketBroadcastAdapter(), IrcAdapter()]
    (sender, websocket, observer), ends = join(gen, fake_server, adapters)
    pongs: list[Message] = []

    def server() -> None:
        # Byte by byte: every marker and tag is split across reads at every place.
        for end, conn in ((ends[0], sender), (ends[2], observer)):
            send_in_pieces(end, conn, STREAM, list(range(1, len(STREAM))))
        send_in_pieces(ends[1], websocket, MARKED_PING_STREAM, PING_CUTS)
        pongs.extend(read_client_messages(ends[1], len(PINGS)))

    finish = serve(server, ends)
    flood = gen.flood([sender, websocket, observer], 1, 4, 100, 0.0, 600.0, 0.0)
    finish()
    assert STREAM.count(MARKER) == 7 and MARKED_PING_STREAM.count(MARKER) == 3
    assert flood["deliveries"] == 7 + 3 + 7
    assert pongs == [Message(OP_PONG, payload) for payload in PINGS]
    assert flood["disconnects"] == 3 and not gen.conns


def test_hot_loop_times_probes_it_masks_and_stamps(
    hot_loop: Path, fake_server: socket.socket
) -> None:
    gen = generator(fake_server, hot_loop)
    adapters = [WebSocketChatAdapter(), ChatAdapter(), IrcAdapter()]
    conns, ends = join(gen, fake_server, adapters)
    forwarded = 3
    sent_times: list[int] = []

    def server() -> None:
        # The room: each probe to every client (the sender too), split inside its digits.
        for message in read_client_messages(ends[0], forwarded):
            text = message.payload
            digits = text.index(PROBE_HEAD) + len(PROBE_HEAD)
            sent_times.append(int(text[digits : digits + PROBE_DIGITS]))
            assert text[digits + PROBE_DIGITS : digits + PROBE_DIGITS + 1] == b"!"
            for end, conn in zip(ends, conns, strict=True):
                send_in_pieces(end, conn, text, [digits + 5])

    finish = serve(server, ends)
    latency = gen.latency(conns, 50.0, 600.0, 100)
    finish()
    assert all(abs(sent - time.time_ns()) < 600e9 for sent in sent_times)
    assert latency["deliveries"] == latency["stamped"] == forwarded * len(conns)
    assert latency["probes"] >= forwarded
    assert 0 <= latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]


def test_generator_answers_pings_between_phases(fake_server: socket.socket) -> None:
    gen = generator(fake_server, Path("unused"))
    (conn,), (server_end,) = join(gen, fake_server, [WebSocketBroadcastAdapter()])
    with server_end:
        for start, end in itertools.pairwise([0, *PING_CUTS, len(MARKED_PING_STREAM)]):
            piece = MARKED_PING_STREAM[start:end]
            server_end.sendall(piece)
            wait_for(partial(has_unread, conn.sock, len(piece)), "the piece to arrive")
            gen.pump(PATIENCE)
        pongs = read_client_messages(server_end, len(PINGS))
    assert pongs == [Message(OP_PONG, payload) for payload in PINGS]
