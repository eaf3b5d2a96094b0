"""Write straight to a TCP socket while Twisted has nothing queued for it.

C{transport.write} always queues: it registers the socket for writability and
sends on the next reactor iteration, two C{epoll_ctl} calls and a wake-up per
recipient per turn. When Twisted's buffer for a connection is empty, sending
at once is equivalent and several times cheaper; whatever the kernel does not
take goes through C{transport.write} as usual, so back-pressure, producers and
close-after-flush keep working.

This reads two attributes Twisted does not document (C{dataBuffer} and
C{_tempDataLen} of L{twisted.internet.abstract.FileDescriptor}). If a Twisted
release drops them, L{direct_socket} returns None and every write takes the
ordinary path.
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet import tcp

from chatproto.core.outbox import unsent
from chatproto.doors.transport import SlottedServer

#: The transports whose buffers L{send_now} knows: Twisted's and ours (same attributes).
_PLAIN_TCP = (tcp.Server, SlottedServer)


def direct_socket(transport: object) -> socket.socket | None:
    """The socket behind a plain TCP server transport whose buffers we can see, else None.

    TLS and UNIX transports, and anything unexpected, get None.
    """
    if type(transport) not in _PLAIN_TCP:
        return None
    if not (hasattr(transport, "dataBuffer") and hasattr(transport, "_tempDataLen")):
        return None
    sock = getattr(transport, "socket", None)
    return sock if isinstance(sock, socket.socket) else None


def send_now(transport: Any, sock: socket.socket, data: bytes) -> bytes:
    """Send what the kernel takes of C{data} now, if nothing is queued before it.

    Returns what is left to hand to C{transport.write} (all of it when Twisted
    still has bytes queued, so the order of bytes never changes).
    """
    if transport.dataBuffer or transport._tempDataLen or transport.disconnecting:
        return data
    return unsent(sock, data)
