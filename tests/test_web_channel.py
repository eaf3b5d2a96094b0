"""The web door's HTTP connection on fakes with a fake clock (docs/security.md,
"Web port limits"): a deadline per request however the bytes trickle in, and a
--max-clients / --max-per-ip place from the first byte."""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.hall import Hall
from chatproto.doors.websocket.channel import REQUEST_SECONDS, ChatHTTPChannel
from chatproto.doors.websocket.protocol import ChatWebSocketFactory
from chatproto.doors.websocket.site import ChatSite, chat_site
from tests.fakes import make_room

# A page answered at once (a file would be pulled by the reactor's cooperator).
GET = b"GET /no-such-page HTTP/1.1\r\nHost: chat.example\r\n\r\n"


class WebConnection:
    """One connection to the web door from C{host}, on a string transport."""

    def __init__(self, site: ChatSite, host: str = "192.0.2.7", port: int = 1) -> None:
        address = IPv4Address("TCP", host, port)
        self.transport = StringTransport(peerAddress=address)
        self.channel: ChatHTTPChannel = site.buildProtocol(address)
        self.channel.makeConnection(self.transport)

    def send(self, data: bytes) -> None:
        """The client sends C{data}."""
        self.channel.dataReceived(data)

    def answer(self) -> bytes:
        """What the server wrote so far."""
        return self.transport.value()

    @property
    def dropped(self) -> bool:
        """Whether the server closed the connection (the transport then reports it lost)."""
        return self.transport.disconnecting

    def lost(self) -> None:
        """The transport reports the connection gone."""
        self.channel.connectionLost(Failure(ConnectionError()))


class WebChannelTests(SynchronousTestCase):
    """ChatHTTPChannel through ChatSite, as the web door builds them."""

    def site(self, **limits: object) -> tuple[Hall, ChatSite]:
        room, self.clock, _ = make_room(**limits)
        return room, chat_site(ChatWebSocketFactory(room, clock=self.clock))

    def test_a_trickled_request_head_gets_no_more_time(self) -> None:
        room, site = self.site()
        web = WebConnection(site)
        head = GET[:-2]  # never complete
        step = REQUEST_SECONDS / 64  # exact in binary: the sums below are too
        for byte in head:  # each byte used to restart Twisted's idle timer
            self.clock.advance(step)
            web.send(bytes([byte]))
        self.clock.advance(REQUEST_SECONDS - len(head) * step - step)
        web.send(b"\r")
        self.assertFalse(web.dropped)
        self.clock.advance(step)  # REQUEST_SECONDS since the connection, just after a byte
        self.assertTrue(web.transport.disconnected)  # aborted
        self.assertEqual(web.answer(), b"")
        self.assertEqual(room.connection_count(), 1)  # until the transport reports it lost
        web.lost()
        self.assertEqual(room.connection_count(), 0)

    def test_a_silent_connection_is_dropped_at_the_deadline(self) -> None:
        _, site = self.site()
        web = WebConnection(site)
        self.clock.advance(REQUEST_SECONDS - 0.01)
        self.assertFalse(web.dropped)
        self.clock.advance(0.01)
        self.assertTrue(web.dropped)

    def test_each_request_of_a_kept_alive_connection_gets_its_own_time(self) -> None:
        _, site = self.site()
        web = WebConnection(site)
        for _ in range(3):
            self.clock.advance(REQUEST_SECONDS - 1)
            web.send(GET)
            self.assertTrue(web.answer().startswith(b"HTTP/1.1 404 Not Found\r\n"))
            web.transport.clear()
        self.assertFalse(web.dropped)
        self.clock.advance(REQUEST_SECONDS)  # idle after its last answer
        self.assertTrue(web.dropped)

    def test_a_closing_connection_gets_the_same_time_to_flush_its_answer(self) -> None:
        _, site = self.site()
        web = WebConnection(site)
        web.send(GET.replace(b"HTTP/1.1", b"HTTP/1.0"))  # answered, then closed after flushing
        self.assertTrue(web.answer().startswith(b"HTTP/1.0 404 "))
        self.assertFalse(web.transport.disconnected)
        self.clock.advance(REQUEST_SECONDS)  # a client that never reads the answer
        self.assertTrue(web.transport.disconnected)

    def test_a_body_is_refused_before_anything_holds_it(self) -> None:
        _, site = self.site()
        for head in (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n",
        ):
            web = WebConnection(site)
            web.send(head + b"x" * 100_000)
            self.assertTrue(web.answer().startswith(b"HTTP/1.1 413 Content Too Large\r\n"))
            self.assertTrue(web.dropped)
            # Twisted Web stores a body in request.content (a temporary file past
            # 100 kB): it is never made.
            self.assertEqual([request.content for request in web.channel.requests], [None])

    def test_answers_carry_no_server_header(self) -> None:
        _, site = self.site()
        web = WebConnection(site)
        web.send(GET)
        head = web.answer().split(b"\r\n\r\n")[0].lower()
        self.assertNotIn(b"server:", head)
        self.assertNotIn(b"twisted", head)

    def test_connections_waiting_for_an_upgrade_count_against_max_clients(self) -> None:
        room, site = self.site(max_clients=2)
        first, second = WebConnection(site, port=1), WebConnection(site, host="192.0.2.8")
        self.assertEqual(room.connection_count(), 2)
        site.overflow.most = 1
        third = WebConnection(site, host="192.0.2.9")  # an overflow place: no room place
        self.assertFalse(third.dropped)
        self.assertEqual(room.connection_count(), 2)
        fourth = WebConnection(site, host="192.0.2.10")  # past the overflow too
        self.assertTrue(fourth.answer().startswith(b"HTTP/1.1 503 Service Unavailable\r\n"))
        self.assertTrue(fourth.dropped)
        fourth.lost()
        self.assertFalse(second.dropped)
        self.clock.advance(REQUEST_SECONDS)  # an overflow connection's time ends as any
        self.assertTrue(third.dropped)
        third.lost()
        first.lost()
        self.assertEqual(room.connection_count(), 1)
        fifth = WebConnection(site, host="192.0.2.9")
        self.assertFalse(fifth.dropped)
        self.assertEqual(room.connection_count(), 2)

    def test_connections_waiting_for_an_upgrade_count_against_max_per_ip(self) -> None:
        room, site = self.site(max_per_ip=2)
        for port in (1, 2):
            self.assertFalse(WebConnection(site, port=port).dropped)
        site.overflow.most = 0
        refused = WebConnection(site, port=3)
        self.assertTrue(refused.answer().startswith(b"HTTP/1.1 503 "))
        self.assertFalse(WebConnection(site, host="192.0.2.8").dropped)
        self.assertEqual(room.connection_count(), 3)

    def test_shutdown_closes_connections_waiting_for_an_upgrade(self) -> None:
        room, site = self.site()
        web = WebConnection(site)
        room.close_all()
        self.assertTrue(web.dropped)
