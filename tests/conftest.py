"""Fixtures: a real chat server on a loopback port, inside the test's reactor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.logger import globalLogPublisher

from chatproto.accounts.manager import Accounts
from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.doors.tcp.protocol import WordPacketFactory
from chatproto.doors.transport import SlottedTransports
from chatproto.doors.websocket.protocol import ChatWebSocketFactory
from chatproto.doors.websocket.site import chat_site
from chatproto.history import JsonLinesHistory
from chatproto.roomfiles import RoomFiles


def server_endpoint(description: str = "tcp:0:interface=127.0.0.1") -> IStreamServerEndpoint:
    """The endpoint C{description} names, with slotted transports as the server's
    listeners have (L{SlottedTransports})."""
    return SlottedTransports(serverFromString(reactor, description))


@dataclass
class RunningServer:
    """A room listening on 127.0.0.1:C{port}."""

    room: Hall
    factory: WordPacketFactory
    port: int
    history_path: Path
    #: The WebSocket door's port (web client at /, chat at /chat).
    ws_port: int
    #: The WebSocket door's factory (its clock, its origins).
    sockets: ChatWebSocketFactory


@contextmanager
def running_server(
    tmp_path: Path, config: RoomConfig, accounts: Accounts | None = None, **websocket: Any
) -> Iterator[RunningServer]:
    """Serve a room with C{config} and a history file in C{tmp_path} on loopback ports,
    one per door (C{websocket}: options of the WebSocket door's factory), with
    C{accounts} if given; for synchronous fixtures: it blocks on the reactor with
    pytest_twisted.blockon."""
    path = tmp_path / "history.jsonl"
    history = JsonLinesHistory(str(path), retain=10000, fsync="never")
    rooms = RoomFiles(str(path), retain=10000, fsync="never")
    room = Hall(config, history, reactor, room_stores=rooms, accounts=accounts)
    factory = WordPacketFactory(room)
    listening = pytest_twisted.blockon(server_endpoint().listen(factory))
    sockets = ChatWebSocketFactory(room, **websocket)
    site = chat_site(sockets)
    web = pytest_twisted.blockon(server_endpoint().listen(site))
    try:
        yield RunningServer(
            room, factory, listening.getHost().port, path, web.getHost().port, sockets
        )
    finally:
        pytest_twisted.blockon(web.stopListening())
        pytest_twisted.blockon(listening.stopListening())
        room.close_all()
        pytest_twisted.blockon(room.close_rooms())
        pytest_twisted.blockon(history.close())


@pytest.fixture
def chat_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A chat server with default limits and a history file in tmp_path."""
    with running_server(tmp_path, RoomConfig(history_replay=100)) as server:
        yield server


@pytest.fixture
def custom_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    """A server with the room settings and WebSocket factory options the test names
    (indirect parametrisation: C{(RoomConfig, {option: value})})."""
    config, websocket = request.param
    with running_server(tmp_path, config, **websocket) as server:
        yield server


def serving(config: RoomConfig, **websocket: Any) -> Any:
    """Run the test against a L{custom_server} with these settings."""
    return pytest.mark.parametrize("custom_server", [(config, websocket)], indirect=True)


@pytest.fixture
def log() -> Iterator[list[dict[str, Any]]]:
    """Every event logged while the test runs (see L{tests.logs.tracebacks})."""
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        yield events
    finally:
        globalLogPublisher.removeObserver(events.append)
