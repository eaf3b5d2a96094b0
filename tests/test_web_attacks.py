"""Attacks on the web port (issue 22), each sent byte for byte over a real loopback
socket; the bounds of docs/security.md ("Web port limits") hold: the connection is
refused or closed, its place is freed, and nothing reaches the log as a traceback
or with a client's address. The door's time bounds run on a fake clock.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.task import Clock, deferLater
from twisted.logger import formatEvent
from zope.interface import implementer

from chatproto.core.config import RoomConfig
from chatproto.doors.websocket.channel import REQUEST_SECONDS
from chatproto.doors.websocket.protocol import MAX_MESSAGE_FRAMES, MESSAGE_SECONDS
from tests.conftest import RunningServer, serving
from tests.logs import tracebacks
from tests.loopback import DEADLINE, RawPeer, connect, connect_raw
from tests.test_slow_reader import (
    TWISTED_BUFFER,
    kernel_receive_buffer_max,
    kernel_send_buffer_max,
)
from tests.websocket_client import (
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    UPGRADE_REQUEST,
    client_frame,
    connect_ws,
    server_frame,
)

SENDQ_BYTES = 128 * 1024
#: A ping as large as a control frame may be.
PING_PAYLOAD = b"p" * 125
#: The receive buffer of a client that floods pings and reads nothing (the kernel doubles it).
PINGER_RECEIVE_BUFFER = 16 * 1024


def closed_with(received: bytes, code: int) -> bool:
    """Whether C{received} holds a close frame with C{code} (and any reason)."""
    return re.search(b"\x88[\x02-\x7d]" + re.escape(code.to_bytes(2, "big")), received) is not None


def clock_of(server: RunningServer) -> Clock:
    """The fake clock the web door of C{server} runs on."""
    clock = server.sockets.clock
    assert isinstance(clock, Clock)
    return clock


async def upgraded(port: int, receive_buffer: int | None = None) -> RawPeer:
    """A raw peer past the upgrade, greeted with HELLO and NICK."""
    peer = await connect_raw(port, receive_buffer)
    peer.send(UPGRADE_REQUEST)
    await peer.received_until(server_frame(TEXT, b"NICK"))
    return peer


async def places_taken(server: RunningServer, count: int) -> None:
    """Wait until C{count} connections hold places (the server accepts in its own turn)."""
    end = time.monotonic() + DEADLINE
    while server.room.connection_count() != count:
        assert time.monotonic() < end, f"{server.room.connection_count()} places, not {count}"
        await deferLater(reactor, 0, lambda: None)  # one reactor turn


async def answer_and_close(port: int, request: bytes) -> bytes:
    """Send C{request} on a new connection with C{Connection: close}; all it got back."""
    peer = await connect_raw(port)
    peer.send(request)
    await peer.closed()
    return peer.received


# -- 22.2: request bodies -----------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
        b"Expect: 100-continue\r\n\r\n",
    ],
)
@pytest_twisted.ensureDeferred
async def test_a_request_body_is_refused_before_it_is_sent(
    chat_server: RunningServer, log: list[dict[str, Any]], head: bytes
) -> None:
    peer = await connect_raw(chat_server.ws_port)
    peer.send(head)  # the body never comes: the answer does not wait for it
    await peer.closed()
    assert peer.received.startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert b"100 Continue" not in peer.received
    assert chat_server.room.connection_count() == 0
    assert tracebacks(log) == []


@pytest_twisted.ensureDeferred
async def test_a_body_sent_anyway_is_not_read(chat_server: RunningServer) -> None:
    peer = await connect_raw(chat_server.ws_port)
    peer.send(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000\r\n\r\n"
        + b"x" * 1_000_000
    )
    await peer.closed()
    assert peer.received.startswith(b"HTTP/1.1 413 ")
    assert chat_server.room.connection_count() == 0


# -- 22.5: slowloris, and places for connections not yet upgraded -------------


@serving(RoomConfig(), clock=Clock())
@pytest_twisted.ensureDeferred
async def test_a_trickled_request_head_is_dropped_at_the_deadline(
    custom_server: RunningServer, log: list[dict[str, Any]]
) -> None:
    clock = clock_of(custom_server)
    peer = await connect_raw(custom_server.ws_port)
    await places_taken(custom_server, 1)
    for byte in b"GET / HTTP/1.1\r\nHost: x":
        peer.send(bytes([byte]))
        clock.advance(REQUEST_SECONDS / 30)
    assert not peer.lost.called
    clock.advance(REQUEST_SECONDS)
    await peer.closed()
    assert peer.received == b""
    await places_taken(custom_server, 0)
    assert tracebacks(log) == []


@serving(RoomConfig(max_clients=2), clock=Clock())
@pytest_twisted.ensureDeferred
async def test_connections_waiting_to_upgrade_hold_places_until_the_deadline(
    custom_server: RunningServer,
) -> None:
    waiting = [await connect_raw(custom_server.ws_port) for _ in range(2)]
    await places_taken(custom_server, 2)
    tcp = await connect(custom_server.port)  # every door counts them
    assert (await tcp.next())["code"] == "server-full"
    full = await connect_ws(custom_server.ws_port)  # past the limit: told so, then closed
    assert (await full.next())["code"] == "server-full"
    await full.closed()
    assert full.close_code == 1013
    clock_of(custom_server).advance(REQUEST_SECONDS)
    for peer in waiting:
        await peer.closed()
    await places_taken(custom_server, 0)
    served = await connect_ws(custom_server.ws_port)
    await served.join("alice")
    clock_of(custom_server).advance(10 * REQUEST_SECONDS)  # the deadline ends at the upgrade
    served.send_json({"message": "still here"})
    assert (await served.next_chat())["message"] == "still here"


@pytest_twisted.ensureDeferred
async def test_frames_sent_with_the_upgrade_request_are_read(chat_server: RunningServer) -> None:
    # RFC 6455 says to wait for the 101 first; a client that does not loses nothing, and
    # the connection is not left unread (Twisted Web used to hold these bytes as the
    # next request's and, past 16 KiB, to stop reading the connection).
    peer = await connect_raw(chat_server.ws_port)
    pings = client_frame(PING, PING_PAYLOAD) * 200
    peer.send(UPGRADE_REQUEST + client_frame(TEXT, b"alice") + pings)
    await peer.received_until(b'"welcome"')
    await peer.received_until(server_frame(PONG, PING_PAYLOAD) * 200)
    peer.send(client_frame(TEXT, b'{"message":"read on"}'))
    await peer.received_until(b'"message":"read on"')


# -- 22.3: ping flood --------------------------------------------------------


@implementer(IPushProducer)
class WriteWindow:
    """Registered on a client's transport: whether its own send buffer is full."""

    full = False

    def pauseProducing(self) -> None:
        self.full = True

    def resumeProducing(self) -> None:
        self.full = False

    def stopProducing(self) -> None:
        self.full = True


@serving(RoomConfig(rate=0, sendq_bytes=SENDQ_BYTES, history_replay=0))
@pytest_twisted.ensureDeferred
async def test_a_ping_flood_from_a_client_that_reads_nothing_is_dropped_as_slow(
    custom_server: RunningServer, log: list[dict[str, Any]]
) -> None:
    watcher = await connect(custom_server.port)
    await watcher.join("watcher")
    pinger = await upgraded(custom_server.ws_port, receive_buffer=PINGER_RECEIVE_BUFFER)
    pinger.send(client_frame(TEXT, b"pinger"))
    await pinger.received_until(b'"welcome"')
    transport: Any = pinger.transport
    transport.pauseProducing()  # from now on, the pinger reads nothing
    ping, pong = client_frame(PING, PING_PAYLOAD), server_frame(PONG, PING_PAYLOAD)
    # The pongs the server may hold or have in flight before it drops the pinger: the
    # kernel's buffers, Twisted's, --sendq-bytes, and one read's worth of pings.
    pongs = 2 * PINGER_RECEIVE_BUFFER + kernel_send_buffer_max() + 2 * TWISTED_BUFFER
    pongs += SENDQ_BYTES
    # Pings the server has not read yet: the kernel's buffers and the pinger's own.
    unread = kernel_send_buffer_max() + kernel_receive_buffer_max() + TWISTED_BUFFER
    batch = ping * 256
    limit = pongs // len(pong) * len(ping) + unread + len(batch)
    window = WriteWindow()
    transport.registerProducer(window, True)
    leave = ensureDeferred(watcher.until_event("leave"))
    sent = 0
    while not leave.called:
        if not window.full:
            assert sent <= limit, f"still connected after {sent} bytes of pings"
            pinger.send(batch)
            sent += len(batch)
        await deferLater(reactor, 0, lambda: None)  # one reactor turn for the server
    notice = await leave
    assert (notice["user"], notice["reason"]) == ("pinger", "slow")
    transport.unregisterProducer()
    transport.resumeProducing()
    await pinger.closed()
    assert custom_server.room.connection_count() == 1
    assert tracebacks(log) == []


# -- 22.4: one message in endless frames, or never finished ------------------


@pytest_twisted.ensureDeferred
async def test_a_message_may_span_the_most_frames_allowed(chat_server: RunningServer) -> None:
    peer = await upgraded(chat_server.ws_port)
    middle = [client_frame(CONTINUATION, fin=False)] * (MAX_MESSAGE_FRAMES - 2)
    peer.send(
        client_frame(TEXT, b"al", fin=False) + b"".join(middle) + client_frame(CONTINUATION, b"ice")
    )
    await peer.received_until(server_frame(TEXT, b"READY"))


@pytest_twisted.ensureDeferred
async def test_endless_empty_continuations_close_1009(
    chat_server: RunningServer, log: list[dict[str, Any]]
) -> None:
    peer = await upgraded(chat_server.ws_port)
    peer.send(client_frame(TEXT, b"a", fin=False))
    peer.send(client_frame(CONTINUATION, fin=False) * 100_000)
    await peer.closed()
    assert closed_with(peer.received, 1009)
    await places_taken(chat_server, 0)
    assert tracebacks(log) == []


@serving(RoomConfig(), clock=Clock())
@pytest_twisted.ensureDeferred
async def test_an_unfinished_message_closes_1008_at_its_deadline(
    custom_server: RunningServer, log: list[dict[str, Any]]
) -> None:
    clock = clock_of(custom_server)
    peer = await upgraded(custom_server.ws_port)
    pong = server_frame(PONG, b"1")
    # A message finished in time is no concern, whenever the next one starts.
    peer.send(client_frame(TEXT, b"al", fin=False) + client_frame(PING, b"1"))
    await peer.received_until(pong)  # the server has read the first frame
    clock.advance(MESSAGE_SECONDS - 1)
    peer.send(client_frame(CONTINUATION, b"ice") + client_frame(TEXT, b"x", fin=False))
    peer.send(client_frame(PING, b"2"))
    await peer.received_until(server_frame(PONG, b"2"))
    assert server_frame(TEXT, b"READY") in peer.received
    clock.advance(MESSAGE_SECONDS - 1)
    assert not peer.lost.called
    clock.advance(1)
    await peer.closed()
    assert closed_with(peer.received, 1008)
    await places_taken(custom_server, 0)
    assert tracebacks(log) == []


# -- 22.8, 22.9, 22.10: paths, banners, origins, addresses -------------------


@pytest.mark.parametrize("path", [b"/%00", b"/%ff%fe", b"/%c0%af", b"/index.html%00.js"])
@pytest_twisted.ensureDeferred
async def test_a_path_no_file_can_have_is_400_without_a_traceback(
    chat_server: RunningServer, log: list[dict[str, Any]], path: bytes
) -> None:
    request = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path
    answer = await answer_and_close(chat_server.ws_port, request)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert tracebacks(log) == []


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        b"GET /no-such-file HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        b"GET /chat?redirect=http%3A%2F%2Fevil.example HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ],
)
@pytest_twisted.ensureDeferred
async def test_no_answer_names_a_library_version(
    chat_server: RunningServer, request_bytes: bytes
) -> None:
    answer = await answer_and_close(chat_server.ws_port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 ")
    lowered = answer.lower()
    for banner in (b"server:", b"twisted", b"autobahn", b"location:"):
        assert banner not in lowered


@pytest_twisted.ensureDeferred
async def test_the_upgrade_names_no_library_version(chat_server: RunningServer) -> None:
    peer = await upgraded(chat_server.ws_port)
    head = await peer.received_until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"server:" not in head.lower()


@pytest.mark.parametrize(
    "origin_headers",
    [
        b"Origin: null\r\n",
        b"Origin: http://\r\n",
        b"Origin: 127.0.0.1\r\n",
        b"Origin: http://127.0.0.1:99999\r\n",
        b"Origin: http://127.0.0.1.evil.example\r\n",
        b"Origin: http://127.0.0.1@evil.example\r\n",
        b"Origin: file://\r\n",
        b"Origin: http://127.0.0.1\r\nOrigin: http://127.0.0.1\r\n",
    ],
)
@pytest_twisted.ensureDeferred
async def test_every_refused_origin_gets_403(
    chat_server: RunningServer, log: list[dict[str, Any]], origin_headers: bytes
) -> None:
    request = UPGRADE_REQUEST[:-2] + origin_headers + b"Connection: close\r\n\r\n"
    request = request.replace(b"Connection: Upgrade\r\n", b"")
    answer = await answer_and_close(chat_server.ws_port, request)
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert tracebacks(log) == []


async def visit_as_an_attacker_and_a_user(server: RunningServer) -> None:
    """Requests that once logged the client's address: a file, a failed upgrade, a
    dropped slowloris, and a chat user who joins and leaves."""
    port = server.ws_port
    await answer_and_close(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    await answer_and_close(port, b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    slow = await connect_raw(port)
    slow.send(b"GET / HT")
    await places_taken(server, 1)
    clock_of(server).advance(REQUEST_SECONDS)
    await slow.closed()
    user = await connect_ws(port)
    await user.join("alice")
    user.send("BYE")
    await user.closed()


@serving(RoomConfig(), clock=Clock())
@pytest_twisted.ensureDeferred
async def test_no_log_line_holds_an_address(
    custom_server: RunningServer, log: list[dict[str, Any]]
) -> None:
    await visit_as_an_attacker_and_a_user(custom_server)
    lines = [formatEvent(event) for event in log]
    assert any("alice joined" in line for line in lines)
    assert any('"GET / HTTP/1.1" 200' in line for line in lines)  # the access log
    fields = [str(value) for event in log for value in event.values() if isinstance(value, str)]
    assert [text for text in lines + fields if "127.0.0.1" in text] == []


@serving(RoomConfig(log_addresses=True), clock=Clock())
@pytest_twisted.ensureDeferred
async def test_with_log_addresses_the_access_log_has_them(
    custom_server: RunningServer, log: list[dict[str, Any]]
) -> None:
    await visit_as_an_attacker_and_a_user(custom_server)
    lines = [formatEvent(event) for event in log]
    assert any(line.startswith('"127.0.0.1"') and "GET / HTTP/1.1" in line for line in lines)
    assert any(line.startswith("alice joined from 127.0.0.1:") for line in lines)
