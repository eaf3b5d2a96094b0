"""The WebSocket door's upgrade, parsed once (docs/performance.md, "Third pass"), and its
connections' attributes, all in slots.

A plain request for /chat goes from the HTTP connection straight to autobahn, with
no Twisted Web request built; every other request, or a head longer than
MAX_HEAD_BYTES, goes to Twisted Web and is answered as before (docs/security.md,
"Web port limits").
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import Request

from chatproto.core.records import MAX_PACKET_BYTES
from chatproto.doors.websocket.protocol import ChatWebSocketFactory
from chatproto.doors.websocket.site import chat_site
from chatproto.doors.websocket.upgrade import (
    MAX_HEAD_BYTES,
    MAX_HEADER_LINES,
    is_plain_chat_request,
)
from tests.conftest import RunningServer
from tests.fakes import make_room
from tests.loopback import connect_raw
from tests.test_web_attacks import answer_and_close, places_taken
from tests.test_web_channel import WebConnection
from tests.websocket_client import UPGRADE_REQUEST, connect_ws

#: A browser's upgrade from the page at http://chat.example:8080/, head only.
BROWSER_HEAD = (
    b"GET /chat HTTP/1.1\r\nHost: chat.example:8080\r\nConnection: Upgrade\r\n"
    b"Pragma: no-cache\r\nCache-Control: no-cache\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36\r\n"
    b"Upgrade: websocket\r\nOrigin: http://chat.example:8080\r\n"
    b"Sec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br\r\n"
    b"Accept-Language: en-GB,en;q=0.9\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    b"Sec-WebSocket-Protocol: chatproto.v1"
)
#: Headers long enough to take a request head past MAX_HEAD_BYTES.
LONG_HEADERS = b"".join(b"X-Padding-%d: %s\r\n" % (n, b"p" * 1000) for n in range(9))
SAME_ORIGIN: frozenset[str] = frozenset()


def test_a_browsers_upgrade_is_a_plain_chat_request() -> None:
    assert is_plain_chat_request(BROWSER_HEAD, SAME_ORIGIN)
    assert is_plain_chat_request(UPGRADE_REQUEST[:-4], SAME_ORIGIN)  # a program: no Origin
    with_query = BROWSER_HEAD.replace(b"GET /chat ", b"GET /chat?v=2 ")
    assert is_plain_chat_request(with_query, SAME_ORIGIN)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"GET /chat ", b"GET / "),  # another page
        (b"GET /chat ", b"GET /chat/ "),
        (b"GET /chat ", b"GET /ch%61t "),
        (b"GET /chat ", b"POST /chat "),
        (b"GET /chat ", b"GET http://chat.example:8080/chat "),
        (b"HTTP/1.1\r\n", b"HTTP/1.0\r\n"),
        (b"Origin: http://chat.example:8080", b"Origin: http://evil.example"),  # 403
        (b"Origin: http://chat.example:8080", b"Origin: null"),
        (b"Pragma: no-cache", b"Origin: http://chat.example:8080"),  # two Origin headers
        (b"Pragma: no-cache", b"Content-Length: 0"),  # headers Twisted Web acts on
        (b"Pragma: no-cache", b"Transfer-Encoding: chunked"),
        (b"Pragma: no-cache", b"Expect: 100-continue"),
        (b"Pragma: no-cache", b"Pragma:\x00no-cache"),  # a control character
        (b"Pragma: no-cache", b"Pragma: no-cache\r\n folded"),  # a continuation line
        (b"Pragma: no-cache", b"Pragma no-cache"),  # not a header
        (b"Pragma: no-cache", b"Pragma: no\ncache"),  # a bare line feed
        (b"Pragma: no-cache", b"X-A: 1\r\n" * MAX_HEADER_LINES),
    ],
)
def test_anything_else_is_left_to_twisted_web(old: bytes, new: bytes) -> None:
    assert old in BROWSER_HEAD
    assert not is_plain_chat_request(BROWSER_HEAD.replace(old, new, 1), SAME_ORIGIN)


def test_the_listed_origins_are_the_ones_allowed() -> None:
    listed = frozenset({"https://chat.example"})
    assert not is_plain_chat_request(BROWSER_HEAD, listed)
    head = BROWSER_HEAD.replace(
        b"Origin: http://chat.example:8080", b"Origin: https://chat.example"
    )
    assert is_plain_chat_request(head, listed)


class RecordingRequest(Request):
    """A Twisted Web request that the test can count."""

    made: list[RecordingRequest] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.made.append(self)


class FrontTests(SynchronousTestCase):
    """The HTTP connection's first request head, on a fake transport."""

    def setUp(self) -> None:
        room, self.clock, _ = make_room()
        self.site = chat_site(ChatWebSocketFactory(room, clock=self.clock))
        self.site.requestFactory = RecordingRequest
        RecordingRequest.made = []

    def upgrade(self, head: bytes, *, byte_by_byte: bool = False) -> WebConnection:
        """A connection whose client sent C{head}, then the empty line."""
        web = WebConnection(self.site)
        request = head + b"\r\n\r\n"
        chunks = [request[n : n + 1] for n in range(len(request))] if byte_by_byte else [request]
        for chunk in chunks:
            web.send(chunk)
        # The fake transport has no reactor: tell autobahn's timers the connection is gone.
        self.addCleanup(lambda: web.transport.protocol.connectionLost(Failure(ConnectionDone())))
        return web

    def test_a_plain_upgrade_reaches_autobahn_without_a_twisted_web_request(self) -> None:
        web = self.upgrade(BROWSER_HEAD)
        self.assertTrue(web.answer().startswith(b"HTTP/1.1 101 Switching Protocols\r\n"))
        self.assertIn(b"Sec-WebSocket-Protocol: chatproto.v1\r\n", web.answer())
        self.assertEqual(RecordingRequest.made, [])

    def test_a_head_trickled_byte_by_byte_is_read_whole(self) -> None:
        web = self.upgrade(BROWSER_HEAD, byte_by_byte=True)
        self.assertTrue(web.answer().startswith(b"HTTP/1.1 101 "))
        self.assertEqual(RecordingRequest.made, [])

    def test_a_head_past_the_bound_goes_to_twisted_web(self) -> None:
        web = WebConnection(self.site)
        head = b"GET /no-such-page HTTP/1.1\r\nHost: chat.example\r\n" + LONG_HEADERS
        self.assertGreater(len(head), MAX_HEAD_BYTES)
        web.send(head[:MAX_HEAD_BYTES])  # held whole, not yet answered
        self.assertEqual(web.answer(), b"")
        web.send(head[MAX_HEAD_BYTES:] + b"\r\n")
        self.assertTrue(web.answer().startswith(b"HTTP/1.1 404 Not Found\r\n"))
        self.assertEqual(len(RecordingRequest.made), 1)


@pytest_twisted.ensureDeferred
async def test_an_upgrade_past_the_bound_is_served_by_twisted_web(
    chat_server: RunningServer,
) -> None:
    peer = await connect_raw(chat_server.ws_port)
    peer.send(UPGRADE_REQUEST[:-2] + LONG_HEADERS + b"\r\n")
    assert (await peer.received_until(b"NICK")).startswith(b"HTTP/1.1 101 ")


@pytest_twisted.ensureDeferred
async def test_a_request_for_chat_twisted_web_handles_is_answered_as_before(
    chat_server: RunningServer,
) -> None:
    peer = await connect_raw(chat_server.ws_port)
    peer.send(UPGRADE_REQUEST.replace(b"GET /chat ", b"GET /chat/ "))
    assert (await peer.received_until(b"NICK")).startswith(b"HTTP/1.1 101 ")
    not_upgrade = b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    assert (await answer_and_close(chat_server.ws_port, not_upgrade)).startswith(b"HTTP/1.1 426 ")


@pytest_twisted.ensureDeferred
async def test_no_attribute_lands_in_a_dict_over_a_connections_life(
    chat_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Any] = []
    build = chat_server.sockets.buildProtocol

    def recording(address: Any) -> Any:
        built.append(build(address))
        return built[-1]

    monkeypatch.setattr(chat_server.sockets, "buildProtocol", recording)
    alice = await connect_ws(chat_server.ws_port)
    await alice.join("alice")
    alice.sendMessage(json.dumps({"message": "in frames"}).encode(), fragmentSize=8)
    alice.sendPing(b"there?")
    alice.send_json({"message": "whole"})
    assert [(await alice.next_chat())["message"] for _ in range(2)] == ["in frames", "whole"]
    alice.send("BYE")  # closed by the server
    await alice.closed()
    bob = await connect_ws(chat_server.ws_port)
    await bob.join("bob")
    bob.send_bytes(b"x" * (MAX_PACKET_BYTES + 1))  # refused: 1009
    await bob.closed()
    carol = await connect_ws(chat_server.ws_port)
    carol.sendClose(1000)  # closed by the client before joining
    await carol.closed()
    await places_taken(chat_server, 0)
    assert [vars(protocol) for protocol in built] == [{}, {}, {}]
