"""Slotted TCP transports (chatproto/doors/transport.py) over real loopback sockets: every
attribute Twisted sets in a connection's life has its slot, and listeners use them."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet import reactor, tcp, unix
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol, serverFromString
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.doors.transport import SlottedServer, SlottedTransports
from chatproto.listeners import OptionListener
from tests.certs import make_certificate
from tests.loopback import DEADLINE, RawPeer
from tests.redis.server import free_port

#: More than Twisted's buffer (64 KiB): the write is queued and the producer paused.
BIG = b"x" * (1 << 20)


@implementer(IPushProducer)
class BigWriter(Protocol):
    """Registers as a streaming producer, writes L{BIG}, and closes once Twisted's buffer
    is empty again; keeps what a test checks of its transport when it is fresh."""

    def __init__(self) -> None:
        self.unreadable: list[str] = []
        self.fresh_dict: dict[str, Any] = {}
        self.fileno_was_the_socket_s = False
        self.names: tuple[str, str] = ("", "")
        self.paused = False
        self.gone: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        transport: Any = self.transport
        self.unreadable = [n for n in SlottedServer.__slots__ if not hasattr(transport, n)]
        self.fresh_dict = dict(vars(transport))
        self.fileno_was_the_socket_s = transport.fileno() == transport.getHandle().fileno()
        self.names = (transport.logstr, repr(transport))
        transport.registerProducer(self, True)
        transport.pauseProducing()  # reading stops and starts again
        transport.resumeProducing()
        transport.write(BIG)

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        # A paused producer left registered would hold the close open.
        transport: Any = self.transport
        transport.unregisterProducer()
        transport.loseConnection()

    def stopProducing(self) -> None:
        """Nothing to do: the connection closes itself."""

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.gone.callback(None)


def one_protocol(protocol: Protocol) -> Factory[Protocol]:
    """A factory that hands out C{protocol}."""
    return Factory.forProtocol(lambda: protocol)


async def read_until_closed(port: int, server: BigWriter) -> None:
    """Connect to C{port}, read until the server closes, and wait until its side is gone."""
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    peer = await connectProtocol(endpoint, RawPeer())
    await peer.lost.addTimeout(DEADLINE, reactor)
    await server.gone.addTimeout(DEADLINE, reactor)
    assert peer.received == BIG


@pytest_twisted.ensureDeferred
async def test_a_connection_life_leaves_nothing_outside_the_slots() -> None:
    server = BigWriter()
    endpoint = SlottedTransports(serverFromString(reactor, "tcp:0:interface=127.0.0.1"))
    port = await endpoint.listen(one_protocol(server))
    number = port.getHost().port
    try:
        await read_until_closed(number, server)
    finally:
        await port.stopListening()
    transport: Any = server.transport
    assert type(transport) is SlottedServer
    assert server.unreadable == []  # every slot readable on a fresh transport
    assert server.fresh_dict == {}
    assert server.fileno_was_the_socket_s
    assert server.paused  # the big write went through Twisted's buffer...
    assert vars(transport) == {}  # ... and still nothing landed in the dict
    assert not hasattr(transport, "socket")
    assert transport.fileno() == -1  # what Twisted's transport answers once closed
    # Its log prefix and repr read as Twisted formats them, fresh and once closed.
    session = transport.sessionno
    expected = (f"BigWriter,{session},127.0.0.1", f"<BigWriter #{session} on {number}>")
    assert server.names == expected
    assert (transport.logstr, repr(transport)) == expected


def test_no_slot_hides_a_method() -> None:
    hidden = [n for n in SlottedServer.__slots__ if inspect.isroutine(getattr(tcp.Server, n, None))]
    assert hidden == []


@pytest_twisted.ensureDeferred
async def test_tls_ports_get_slotted_transports_and_unix_ports_keep_theirs(
    tmp_path: Path,
) -> None:
    cert, key = make_certificate(tmp_path)
    descriptions = {
        f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}": SlottedServer,
        f"unix:{tmp_path / 'socket'}": unix.Server,
    }
    for description, transport in descriptions.items():
        endpoint = SlottedTransports(serverFromString(reactor, description))
        port: Any = await endpoint.listen(Factory.forProtocol(Protocol))
        try:
            assert port.transport is transport
        finally:
            await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_an_option_listener_gives_its_connections_slotted_transports() -> None:
    server = BigWriter()
    number = free_port()
    listener = OptionListener(
        "--port", f"tcp:{number}:interface=127.0.0.1", one_protocol(server), reactor
    )
    listener.privilegedStartService()
    try:
        await read_until_closed(number, server)
    finally:
        await listener.stopService()
    assert type(server.transport) is SlottedServer
