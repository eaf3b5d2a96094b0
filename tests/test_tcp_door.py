"""The word-packet door's socket handling over real loopback connections: the
fan-out fast path (doors/tcp/fastwrite.py) and the dead-peer timers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted

from chatproto.core.config import RoomConfig
from chatproto.doors import streams as tcp_door
from chatproto.doors.sockets import Keepalive
from tests.conftest import RunningServer, running_server
from tests.loopback import RawClient, connect


class SpySocket:
    """A server socket that records (bytes offered, bytes taken) of every send, and with
    C{most} takes at most that many bytes per send, as a full kernel buffer would."""

    def __init__(self, sock: socket.socket, sends: list[tuple[int, int]], most: int) -> None:
        self._sock = sock
        self._sends = sends
        self._most = most

    def send(self, data: bytes) -> int:
        sent = self._sock.send(data[: self._most])
        self._sends.append((len(data), sent))
        return sent


def spy_on_direct_sends(monkeypatch: pytest.MonkeyPatch, most: int) -> list[tuple[int, int]]:
    """Record (bytes offered, bytes taken) of every send straight to a stream door's
    socket (the fan-out's and the link's), taking at most C{most} bytes each."""
    sends: list[tuple[int, int]] = []
    real = tcp_door.direct_socket

    def spy(transport: object) -> Any:
        sock = real(transport)
        return None if sock is None else SpySocket(sock, sends, most)

    monkeypatch.setattr(tcp_door, "direct_socket", spy)
    return sends


@pytest.fixture
def direct_writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every direct send, whole (see L{spy_on_direct_sends})."""
    return spy_on_direct_sends(monkeypatch, 1 << 30)


@pytest.fixture
def partial_writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every direct send, each taking at most 1000 bytes: every large write is partial."""
    return spy_on_direct_sends(monkeypatch, 1000)


@pytest.fixture
def big_server(tmp_path: Path) -> Iterator[RunningServer]:
    with running_server(
        tmp_path, RoomConfig(rate=0, max_message_bytes=16384, sendq_bytes=0)
    ) as server:
        yield server


async def reader_and_sender(server: RunningServer) -> tuple[RawClient, RawClient]:
    """Two joined clients; the reader has heard the sender join."""
    reader = await connect(server.port)
    await reader.join("reader")
    sender = await connect(server.port)
    await sender.join("sender")
    await reader.until_event("join")
    return reader, sender


@pytest_twisted.ensureDeferred
async def test_fan_out_writes_straight_to_an_idle_socket(
    big_server: RunningServer, direct_writes: list[tuple[int, int]]
) -> None:
    reader, sender = await reader_and_sender(big_server)
    direct_writes.clear()
    sender.send_json({"message": "fast"})
    assert (await reader.next_chat())["message"] == "fast"
    # Both copies went out whole through the socket, none through Twisted's buffer.
    assert [offered - taken for offered, taken in direct_writes] == [0, 0]


@pytest_twisted.ensureDeferred
async def test_byte_order_survives_partial_sends(
    partial_writes: list[tuple[int, int]], big_server: RunningServer
) -> None:
    reader, sender = await reader_and_sender(big_server)
    texts = [f"{n:04d}" + chr(0x41 + n % 26) * 12000 for n in range(30)]
    for text in texts:  # a burst: later writes find the earlier ones still queued
        sender.send_json({"message": text})
    assert [(await reader.next_chat())["message"] for _ in texts] == texts
    assert [(await sender.next_chat())["message"] for _ in texts] == texts
    assert any(0 < taken < offered for offered, taken in partial_writes), "no partial send"


@pytest_twisted.ensureDeferred
async def test_accepted_connections_probe_a_silent_peer(chat_server: RunningServer) -> None:
    client = await connect(chat_server.port)
    await client.join("probe")
    server_side = next(p for p in chat_server.room._members.values() if p.nickname == "probe")
    link: Any = server_side.link
    handle: socket.socket = link.transport.getHandle()
    timers = Keepalive()
    assert handle.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == timers.idle
    assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == timers.interval
    assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == timers.count
    assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == timers.timeout_ms
    assert timers.timeout_ms <= 120_000  # docs/protocol.md section 2: within two minutes
    assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
