"""Slow readers (issue 4, item 2), over real loopback sockets.

A client that stops reading while another floods the room is dropped with
`leave` reason `slow` once its unsent output passes --sendq-bytes; the others
keep receiving every message, in order, and what the server wrote for the
slow client stays bounded by the kernel's socket buffers plus the limits.

The kernel absorbs megabytes on loopback before Twisted's buffer starts to
fill, so the flood runs until the drop is seen (bounded by a byte budget and a
deadline), not for a fixed count. The slow client shrinks its receive buffer
so that this takes about a second.

A history replay is unsent output too: a client that resumes from the start
of a long history and stops reading costs the server no more than the limit.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol

from chatproto.core.config import RoomConfig
from tests.conftest import RunningServer, running_server
from tests.loopback import RawClient, connect
from tests.test_twistd import start_twistd

#: --sendq-bytes for the test room: small, so the drop comes soon after the kernel fills.
SENDQ_BYTES = 128 * 1024
#: What Twisted keeps in user space before it calls pauseProducing (FileDescriptor.bufferSize).
TWISTED_BUFFER = 64 * 1024
#: Bytes of each flood message, and how many the flooder may have unechoed at once.
MESSAGE_BYTES = 4000
WINDOW = 16
#: The whole test must finish within this many seconds.
TOTAL_DEADLINE = 30.0


@pytest.fixture
def flood_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A chat server as in conftest, with the rate limit off and a small send queue."""
    config = RoomConfig(rate=0, sendq_bytes=SENDQ_BYTES, history_replay=0)
    with running_server(tmp_path, config) as server:
        yield server


def kernel_send_buffer_max() -> int:
    """The most a server socket's send buffer may autotune to (Linux tcp_wmem), or 16 MiB."""
    return _autotuned_max("tcp_wmem")


def kernel_receive_buffer_max() -> int:
    """The most a socket's receive buffer may autotune to (Linux tcp_rmem), or 16 MiB."""
    return _autotuned_max("tcp_rmem")


def _autotuned_max(setting: str) -> int:
    try:
        return int(Path(f"/proc/sys/net/ipv4/{setting}").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        return 16 * 1024 * 1024


def stop_reading(client: Protocol) -> int:
    """Make C{client} a slow reader: shrink its receive buffer and stop reading.

    Returns the most its kernel may hold for it: the larger of the buffer before
    and after shrinking, since a window already advertised is never taken back.
    """
    transport: Any = client.transport  # a TCP transport: a producer with a socket
    handle: socket.socket = transport.getHandle()
    before = handle.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    handle.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    transport.pauseProducing()
    return max(before, handle.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))


def frame_bytes(packet: dict[str, Any]) -> int:
    """The size on the wire of a packet as the server encodes it (compact UTF-8 JSON)."""
    return 2 + len(json.dumps(packet, ensure_ascii=False, separators=(",", ":")).encode())


async def flood_until_dropped(
    flooder: RawClient, bound: int, deadline: float
) -> tuple[list[str], int, dict[str, Any]]:
    """Send large messages (at most L{WINDOW} unechoed) until someone is dropped;
    return the messages sent, how many of them the flooder saw echoed (in order,
    the others are still on their way), and the leave notice.

    Fails past C{bound} bytes broadcast or the C{deadline} (a monotonic time).
    """
    filler = "x" * (MESSAGE_BYTES - 6)
    sent: list[str] = []
    echoed = 0
    written = 0  # broadcast bytes the server owed each member
    while True:
        assert time.monotonic() < deadline, "the flood took too long"
        assert written <= bound, f"no drop after {written} bytes"
        while len(sent) - echoed < WINDOW:
            sent.append(f"{len(sent):06d}{filler}")
            flooder.send_json({"message": sent[-1]})
        packet = await flooder.next()
        if packet.get("event") == "leave":
            return sent, echoed, packet
        if "id" in packet:
            assert packet["message"] == sent[echoed]
            echoed += 1
            written += frame_bytes(packet)


@pytest_twisted.ensureDeferred
async def test_slow_reader_is_dropped_and_the_others_get_everything(
    flood_server: RunningServer,
) -> None:
    started = time.monotonic()
    port = flood_server.port
    slow = await connect(port)
    await slow.join("slow")
    watcher = await connect(port)
    await watcher.join("watcher")
    flooder = await connect(port)
    await flooder.join("flooder")
    assert (await slow.until_event("join"))["user"] == "watcher"
    assert (await slow.until_event("join"))["user"] == "flooder"
    assert (await watcher.until_event("join"))["user"] == "flooder"
    receive_buffer = stop_reading(slow)

    # Everything the slow client could have held, in the kernel and in the server.
    bound = receive_buffer + kernel_send_buffer_max() + TWISTED_BUFFER + SENDQ_BYTES
    bound += 2 * WINDOW * (MESSAGE_BYTES + 200)  # one reactor turn's batch, with slack
    sent, echoed, leave = await flood_until_dropped(flooder, bound, started + TOTAL_DEADLINE)
    assert (leave["user"], leave["reason"]) == ("slow", "slow")

    # The others keep chatting; a last message marks the end of the flood.
    sent.append("after the drop")
    flooder.send_json({"message": sent[-1]})
    flooder_ids = []
    while echoed < len(sent):
        packet = await flooder.next_chat()
        assert packet["message"] == sent[echoed]
        flooder_ids.append(packet["id"])
        echoed += 1

    # The watcher got every message in order, and the slow one's leave once.
    watcher_chats: list[tuple[int, str]] = []
    watcher_leaves = []
    while len(watcher_chats) < len(sent):
        packet = await watcher.next()
        if packet.get("event") == "leave":
            watcher_leaves.append((packet["user"], packet["reason"]))
        elif "id" in packet:
            watcher_chats.append((packet["id"], packet["message"]))
    assert [message for _, message in watcher_chats] == sent
    ids = [message_id for message_id, _ in watcher_chats]
    assert ids == list(range(ids[0], ids[0] + len(sent)))
    assert flooder_ids[-1] == ids[-1]
    assert watcher_leaves == [("slow", "slow")]

    # The slow client, reading again, finds its connection closed by the server.
    transport: Any = slow.transport
    transport.resumeProducing()
    await slow.closed()
    # Its nickname is free at once, and the newcomer is not flooded with the backlog.
    again = await connect(port)
    welcome = (await again.join("slow"))[-1]
    assert welcome["users"] == ["watcher", "flooder", "slow"]
    assert time.monotonic() - started < TOTAL_DEADLINE
    for client in (watcher, flooder, again):
        client.send("BYE")
        await client.closed()


class StopsReadingAfterReady(RawClient):
    """A client that stops reading the moment READY arrives, before any replay."""

    def stringReceived(self, data: bytes) -> None:
        """Queue the frame; after READY, leave everything else unread in the kernel."""
        super().stringReceived(data)
        if data == b"READY":
            self.pauseProducing()  # stops the transport, and this chunk's remaining frames


def write_history(path: Path, count: int, message_bytes: int) -> None:
    """A history file of C{count} messages of C{message_bytes} each, as the server writes it."""
    lines = []
    for message_id in range(1, count + 1):
        record = {
            "id": message_id,
            "timestamp": "2026-11-24T03:30:44.123Z",
            "nickname": "seed",
            "message": "x" * message_bytes,
        }
        lines.append(json.dumps(record, separators=(",", ":")) + "\n")
    path.write_text("".join(lines))


def rss_kib(pid: int) -> int:
    """The resident memory of process C{pid}, in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc for RSS")
@pytest_twisted.ensureDeferred
async def test_a_resuming_client_that_does_not_read_costs_at_most_sendq(
    tmp_path: Path,
) -> None:
    """Ten clients resume from id 0 (8 MB each) and stop reading: the server (a real
    process, so that its memory is its own) must not hold the replays for them."""
    clients, sendq = 10, 64 * 1024
    write_history(tmp_path / "h.jsonl", count=2000, message_bytes=4000)  # 8 MB to replay
    server = start_twistd(tmp_path, "--sendq-bytes", str(sendq), "--shutdown-grace", "0")
    readers: list[StopsReadingAfterReady] = []
    try:
        port = await server.listening
        assert server.transport is not None
        pid = server.transport.pid
        assert pid is not None
        # A first join starts what every join shares (the account store's thread).
        warm_up = await connect(port)
        await warm_up.join("warmup")
        before = rss_kib(pid)
        for n in range(clients):
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
            reader = await connectProtocol(endpoint, StopsReadingAfterReady())
            readers.append(reader)
            transport: Any = reader.transport
            transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            assert [await reader.next(), await reader.next()] == ["HELLO", "NICK"]
            reader.send(json.dumps({"nickname": f"resumer{n}", "since": 0}))
            # The server writes READY and as much of the replay as the client takes
            # in the same call, so once READY is here its memory for this client is set.
            assert await reader.next() == "READY"
        grown_kib = rss_kib(pid) - before
        # Per client: the send queue, Twisted's 64 KiB buffer, and slack for the kernel's
        # share and allocator noise; 8 MB a client is what an unbounded replay costs.
        assert grown_kib <= clients * (sendq + TWISTED_BUFFER) // 1024 + 16 * 1024, grown_kib
    finally:
        for reader in readers:
            reader.transport.abortConnection()  # type: ignore[union-attr]
        if server.transport is not None and not server.ended.called:
            server.transport.signalProcess("KILL")
            await server.ended
