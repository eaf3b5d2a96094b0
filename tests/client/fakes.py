"""Fakes for the client's unit tests: a recording front end and a session wired to memory."""

from __future__ import annotations

import json
import struct
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from chatproto.client.api import ChatClient
from chatproto.client.protocol import ChatClientProtocol
from chatproto.client.render import LocalNotice, Shown, plain, render
from chatproto.client.session import Session
from chatproto.core.records import dump_json
from chatproto.doors.tcp.framing import frame, frame_text

STAMP = "2026-11-24T03:30:44.123Z"
#: The session's --timeout in these tests.
TIMEOUT = 10.0


class RecordingFrontend:
    """Records what the session shows; nickname questions wait for the test to answer."""

    def __init__(self) -> None:
        self.shown: list[Shown] = []
        self.questions: list[tuple[str | None, Deferred[str]]] = []
        self.joins = 0
        #: Every status set, C{None} when cleared.
        self.statuses: list[str | None] = []

    def ask_nickname(self, problem: str | None) -> Deferred[str]:
        answer: Deferred[str] = Deferred()
        self.questions.append((problem, answer))
        return answer

    def ask_password(self, question: str) -> Deferred[str]:
        answer: Deferred[str] = Deferred()
        self.questions.append((question, answer))
        return answer

    def joined(self, session: Session) -> None:
        self.joins += 1

    def show(self, item: Shown) -> None:
        self.shown.append(item)

    def status(self, text: str | None) -> None:
        self.statuses.append(text)

    def lines(self) -> list[str]:
        """Everything shown so far, as plain one-line text; then forget it."""
        shown, self.shown = self.shown, []
        return [plain(render(item, one_line=True)) for item in shown]

    def notices(self) -> list[str]:
        """The local notices shown so far (other items are kept)."""
        return [item.text for item in self.shown if isinstance(item, LocalNotice)]


class Wire:
    """A client's connections to StringTransports, with a Clock: the test plays the server."""

    def __init__(self, client: ChatClient, clock: Clock) -> None:
        self.client = client
        self.clock = clock
        self.protocol = ChatClientProtocol(client)
        self.transport = StringTransport()

    def connect(self) -> None:
        """Open a new connection (after a drop, a new protocol as ClientService makes)."""
        self.protocol = ChatClientProtocol(self.client)
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)

    def drop(self, clean: bool = False) -> None:
        """The connection goes away."""
        reason = ConnectionDone() if clean else ConnectionLost("network down")
        self.protocol.connectionLost(Failure(reason))

    def server(self, *frames: str | dict[str, Any] | bytes) -> None:
        """The server sends these frames (control words or text, packets, raw bytes)."""
        for item in frames:
            if isinstance(item, dict):
                data = frame(dump_json(item))
            elif isinstance(item, bytes):
                data = frame(item)
            else:
                data = frame_text(item)
            self.protocol.dataReceived(data)

    def sent(self) -> list[Any]:
        """The frames the client wrote since the last call: packets as dicts, words as str."""
        data = self.transport.value()
        self.transport.clear()
        frames: list[Any] = []
        while data:
            (length,) = struct.unpack(">H", data[:2])
            text = data[2 : 2 + length].decode("utf-8")
            frames.append(json.loads(text) if text.startswith("{") else text)
            data = data[2 + length :]
        return frames

    def join(self, *, last_id: int = 0, users: tuple[str, ...] = ("alice",), **extra: Any) -> None:
        """Connect and go through HELLO/NICK/READY and the welcome (with C{extra} fields)."""
        self.connect()
        self.server("HELLO", "NICK")
        self.sent()
        self.server("READY", welcome(last_id=last_id, users=list(users), **extra))

    def reconnect(self) -> list[Any]:
        """Drop the connection, open a new one, say HELLO and NICK; return what the client
        sent (its nickname frame)."""
        self.drop()
        self.connect()
        self.server("HELLO", "NICK")
        return self.sent()


def chat(id: int | None, nickname: str, message: str, **extra: Any) -> dict[str, Any]:
    """A chat packet as the server sends it."""
    packet: dict[str, Any] = {"timestamp": STAMP, "nickname": nickname, "message": message}
    if id is not None:
        packet["id"] = id
    return packet | extra


def notice(event: str, message: str = "", **extra: Any) -> dict[str, Any]:
    """A notice as the server sends it."""
    return {"nickname": "server", "timestamp": STAMP, "event": event, "message": message} | extra


def welcome(
    *, last_id: int = 0, first_id: int = 0, users: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A welcome notice (C{extra}: more fields, such as C{resume_token})."""
    users = users or ["alice"]
    return notice("welcome", "Welcome", users=users, last_id=last_id, first_id=first_id) | extra


class Harness(Wire):
    """A session with a recording front end, a clock, and connections to StringTransports."""

    def __init__(
        self,
        nickname: str | None = "alice",
        *,
        reconnect: bool = True,
        timeout: float = TIMEOUT,
        show_history: bool = True,
        room: str | None = None,
        **accounts: Any,
    ) -> None:
        """C{accounts}: the session's password options (password, asks_password,
        clear_text_warning)."""
        clock = Clock()
        self.frontend = RecordingFrontend()
        self.exits: list[tuple[int, str | None]] = []
        self.session = Session(
            self.frontend,
            clock,
            server="chat.example:10328",
            nickname=nickname,
            reconnect=reconnect,
            timeout=timeout,
            show_history=show_history,
            on_exit=lambda status, message: self.exits.append((status, message)),
            room=room,
            **accounts,
        )
        super().__init__(self.session, clock)
