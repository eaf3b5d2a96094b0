"""Twisted's TCP server transport with its attributes in slots: less memory per client.

Every accepted connection has a L{twisted.internet.tcp.Server}, which keeps about twenty
attributes in its instance dict. Python shares one table of attribute names between the
instances of a class only while each adds its names in the same order and the table has
room; a transport that once queues a write adds C{dataBuffer} and C{offset} late, and its
dict becomes a table of its own: 832 bytes per connection (docs/performance.md, "Third
pass"). L{SlottedServer} keeps those attributes in C{__slots__} (8 bytes each) and
L{SlottedTransports} makes a listening TCP port (the `tcp:`, `tcp6:` and `ssl:` endpoints;
TLS runs in a protocol above it) build one for each connection it accepts.

A slot hides a class attribute of the same name in a base class (C{connected = 0},
C{producer = None}...), so a new L{SlottedServer} first copies every such default into
its slot (L{chatproto.doors.slots}). An
attribute not listed goes, as before, into the instance's dict (made only then): the
lambdas C{abortConnection} puts over C{doRead} and C{doWrite}, for example, which must
not be slots since they stand for methods. tests/test_transport.py checks that a
connection's life puts nothing in the dict, so the list follows Twisted's.

The log prefix and C{repr} that Twisted formats for every connection (C{logstr},
C{repstr}: about 160 bytes together) are formatted when read instead, from the shared
parts kept in slots.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from twisted.internet import tcp
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort, IProtocolFactory, IStreamServerEndpoint
from zope.interface import implementer

from chatproto.doors.slots import fill_defaults, shadowed_defaults


def _closed_fileno() -> int:
    """What a transport's C{fileno()} answers once its socket is gone (as Twisted's)."""
    return -1


class SlottedServer(tcp.Server):
    """A L{tcp.Server} whose attributes are slots; see the module docstring."""

    # Every attribute Twisted 26.10 sets on a server connection in its life: in
    # FileDescriptor, _ConsumerMixin, Connection, _AbortingMixin and Server.
    __slots__ = (
        "_aborting",
        "_addressType",
        "_log_prefix",
        "_port_number",
        "_protocol_name",
        "_tempDataBuffer",
        "_tempDataLen",
        "_writeDisconnected",
        "_writeDisconnecting",
        "client",
        "connected",
        "dataBuffer",
        "disconnected",
        "disconnecting",
        "hostname",
        "offset",
        "producer",
        "producerPaused",
        "protocol",
        "reactor",
        "server",
        "sessionno",
        "socket",
        "streamingProducer",
    )  # fmt: skip

    def __init__(
        self,
        sock: socket.socket,
        protocol: Any,
        client: tuple[object, ...],
        server: tcp.Port,
        sessionno: int,
        reactor: Any,
    ) -> None:
        fill_defaults(self, _SHADOWED_DEFAULTS)
        # Shared strings (a class's name, a protocol's prefix), not two made per connection.
        self._log_prefix = self._getLogPrefix(protocol)
        self._protocol_name = type(protocol).__name__
        self._port_number = server._realPortNumber  # the port's own int, shared
        super().__init__(sock, protocol, client, server, sessionno, reactor)

    # Twisted formats C{logstr} and C{repstr} for every connection (about 160 bytes
    # together) from parts the transport keeps anyway; they are formatted when asked.
    @property
    def logstr(self) -> str:
        """The prefix of this connection's log events, as Twisted's."""
        return f"{self._log_prefix},{self.sessionno},{self.hostname}"

    @logstr.setter
    def logstr(self, formatted: str) -> None:
        """Twisted sets it from the same parts in C{__init__}: nothing to keep."""

    @property
    def repstr(self) -> str:
        """This connection's C{repr}, as Twisted's."""
        return f"<{self._protocol_name} #{self.sessionno} on {self._port_number}>"

    @repstr.setter
    def repstr(self, formatted: str) -> None:
        """Twisted sets it from the same parts in C{__init__}: nothing to keep."""

    # Twisted sets C{fileno} to the socket's bound method and deletes it with the socket,
    # falling back to FileDescriptor's (-1). The socket's is reached through the socket
    # itself instead: one bound method (72 bytes) less per connection.
    @property
    def fileno(self) -> Callable[[], int]:
        """The socket's C{fileno}, or one that answers -1 once the socket is gone."""
        try:
            return self.socket.fileno
        except AttributeError:
            return _closed_fileno

    @fileno.setter
    def fileno(self, method: Callable[[], int]) -> None:
        """Twisted sets the socket's own C{fileno}: the getter finds it from the socket."""

    @fileno.deleter
    def fileno(self) -> None:
        """Twisted deletes it with the socket: the getter then answers -1."""


_SHADOWED_DEFAULTS = shadowed_defaults(SlottedServer)


def use_slotted_transport(port: IListeningPort) -> IListeningPort:
    """Make C{port}, if a plain TCP port, build a L{SlottedServer} per connection.

    A UNIX port (a subclass of L{tcp.Port}) and any other kind are left as they are.
    """
    if type(port) is tcp.Port and port.transport is tcp.Server:
        port.transport = SlottedServer
    return port


@implementer(IStreamServerEndpoint)
class SlottedTransports:
    """A server endpoint that listens as C{endpoint} does, with L{use_slotted_transport}."""

    def __init__(self, endpoint: IStreamServerEndpoint) -> None:
        self._endpoint = endpoint

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """Listen as the wrapped endpoint does; its port builds slotted transports."""
        listening: Deferred[IListeningPort] = self._endpoint.listen(protocolFactory)
        return listening.addCallback(use_slotted_transport)
