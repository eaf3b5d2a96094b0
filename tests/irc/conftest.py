"""Fixtures: one room behind all three doors (word packet, WebSocket, IRC) on loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import pytest_twisted
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Factory

from chatproto.core.hall import Hall
from chatproto.doors.irc.protocol import IrcFactory
from chatproto.doors.websocket.protocol import ChatWebSocketFactory
from chatproto.doors.websocket.site import chat_site
from tests.conftest import RunningServer, server_endpoint
from tests.irc.fakes import SERVER


@dataclass
class Doors:
    """A room and the loopback port of each of its doors."""

    room: Hall
    packet_port: int
    websocket_port: int
    irc_port: int


def listen(factory: Factory) -> IListeningPort:  # type: ignore[type-arg]
    """Listen on a free loopback port (for synchronous fixtures)."""
    port: IListeningPort = pytest_twisted.blockon(server_endpoint().listen(factory))
    return port


@pytest.fixture
def doors(chat_server: RunningServer) -> Iterator[Doors]:
    """The chat server's room behind a WebSocket door and an IRC door too."""
    room = chat_server.room
    websocket = listen(chat_site(ChatWebSocketFactory(room)))
    irc = listen(IrcFactory(room, SERVER))
    try:
        yield Doors(room, chat_server.port, websocket.getHost().port, irc.getHost().port)
    finally:
        pytest_twisted.blockon(websocket.stopListening())
        pytest_twisted.blockon(irc.stopListening())
