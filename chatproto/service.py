"""The `chat` twistd plugin's options and the service they build.

This is the only place where command-line options become objects.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, get_args

from twisted.application import strports
from twisted.application.internet import TimerService
from twisted.application.service import IService, MultiService, Service
from twisted.internet import endpoints
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python import usage

from chatproto.core.config import RoomConfig
from chatproto.core.room import Room
from chatproto.doors.sockets import Keepalive
from chatproto.doors.tcp.protocol import WordPacketFactory
from chatproto.doors.websocket.origins import parse_origins
from chatproto.doors.websocket.protocol import ChatWebSocketFactory
from chatproto.doors.websocket.site import chat_site
from chatproto.fdlimit import raise_open_file_limit
from chatproto.history import FsyncPolicy, JsonLinesHistory
from chatproto.seams.history import IHistoryStore

FSYNC_POLICIES = get_args(FsyncPolicy)
#: The options that name a listening endpoint, one per door.
ENDPOINT_OPTIONS = ("port", "ws-port")
#: The listen backlog given to tcp, tcp6 and ssl endpoints that name none.
#: Twisted's default of 50 makes the kernel drop connections in a reconnect
#: storm (every client of a restarted server at once) that the clients
#: believe are open.
DEFAULT_BACKLOG = 1024
#: How often `--fsync interval` makes the history durable, in seconds.
FSYNC_INTERVAL = 1.0


def _bounded(kind: type[int] | type[float], low: float, high: float | None = None) -> Any:
    """A coercer for usage.Options that checks a number's range with a clear message."""

    def coerce(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a {kind.__name__}") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ValueError(f"{text} is out of range: {span}")
        return value

    coerce.coerceDoc = (  # type: ignore[attr-defined]
        f"{kind.__name__}, {low}..{high}" if high is not None else f"{kind.__name__} >= {low}"
    )
    return coerce


class Options(usage.Options):
    """Command-line options of `twistd chat`; every limit of PROTOCOL.md section 7."""

    optParameters: list[list[Any]] = [
        ["port", "p", "tcp:10328", "Endpoint description to listen on; a bare number is tcp"],
        ["history-file", None, "chat-history.jsonl", "The JSON Lines history file"],
        ["history-replay", None, 100, "Messages replayed to a joiner (0: none)", _bounded(int, 0)],
        ["history-retain", None, 10000, "Messages kept replayable", _bounded(int, 0)],
        ["fsync", None, "interval", "When history is fsynced: always, interval or never"],
        ["shutdown-grace", None, 5.0, "Seconds served after SIGTERM/SIGINT", _bounded(float, 0)],
        ["handshake-timeout", None, 30.0, "Seconds to reach READY (0: off)", _bounded(float, 0)],
        ["max-message-bytes", None, 4096, "Largest message, UTF-8 bytes", _bounded(int, 1, 16384)],
        ["rate", None, 10.0, "Frames a second per client (0: off)", _bounded(float, 0)],
        ["burst", None, 20, "Frames a client may send at once", _bounded(int, 0)],
        ["flood-errors", None, 50, "rate-limited errors in a row before disconnect (0: off)",
         _bounded(int, 0)],
        ["sendq-bytes", None, 1048576, "Unsent bytes per client before it is dropped (0: off)",
         _bounded(int, 0)],
        ["max-clients", None, 10000, "Connections at once, choosing ones included (0: off)",
         _bounded(int, 0)],
        ["max-per-ip", None, 64, "Connections per non-loopback address (0: off)", _bounded(int, 0)],
        ["ws-port", None, None, "Endpoint of the WebSocket door and web client (off unless given)"],
        ["ws-origins", None, "", "Origins allowed to open a WebSocket, comma-separated "
         "(default: the page's own; * for any)"],
        ["keepalive-idle", None, 60, "Seconds of silence before a peer is probed (0: off)",
         _bounded(int, 0)],
        ["keepalive-interval", None, 10, "Seconds between probes", _bounded(int, 1)],
        ["keepalive-count", None, 5, "Unanswered probes before a peer is dropped",
         _bounded(int, 1)],
    ]  # fmt: skip

    optFlags: list[list[Any]] = [
        ["log-addresses", None, "Log the peer address with joins and leaves"],
    ]

    compData = usage.Completions(optActions={"fsync": usage.CompleteList(list(FSYNC_POLICIES))})

    def postOptions(self) -> None:
        """Normalise the endpoint and check what single options cannot."""
        from twisted.internet import reactor

        for name in ENDPOINT_OPTIONS:
            if self[name] is None:
                continue
            port = _with_backlog(str(self[name]))
            try:
                endpoints.serverFromString(reactor, port)
            except (ValueError, KeyError, TypeError, OSError) as e:
                raise usage.UsageError(f"--{name} {port!r} is not a usable endpoint: {e}") from None
            self[name] = port
        if self["fsync"] not in FSYNC_POLICIES:
            raise usage.UsageError(f"--fsync must be one of {', '.join(FSYNC_POLICIES)}")
        if self["rate"] and not self["burst"]:
            raise usage.UsageError("--burst must be at least 1 while --rate is on")
        _check_writable(str(self["history-file"]))

    def room_config(self) -> RoomConfig:
        """The room settings these options describe."""
        return RoomConfig(
            handshake_timeout=self["handshake-timeout"],
            max_message_bytes=self["max-message-bytes"],
            rate=self["rate"],
            burst=self["burst"],
            flood_errors=self["flood-errors"],
            sendq_bytes=self["sendq-bytes"],
            max_clients=self["max-clients"],
            max_per_ip=self["max-per-ip"],
            history_replay=self["history-replay"],
            log_addresses=bool(self["log-addresses"]),
        )

    def keepalive(self) -> Keepalive:
        """How accepted TCP connections probe a silent peer (docs/protocol.md section 2)."""
        return Keepalive(
            self["keepalive-idle"], self["keepalive-interval"], self["keepalive-count"]
        )


def _with_backlog(description: str) -> str:
    """The endpoint description, a bare number as tcp, with a listen backlog of
    L{DEFAULT_BACKLOG} unless it names one (or has none, like unix:)."""
    if description.isdigit():
        description = f"tcp:{description}"
    kind = description.split(":", 1)[0]
    if kind in ("tcp", "tcp6", "ssl") and "backlog=" not in description:
        description += f":backlog={DEFAULT_BACKLOG}"
    return description


def _check_writable(path: str) -> None:
    """Fail early, as a usage error, when the history file cannot be opened for appending."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
    except OSError as e:
        raise usage.UsageError(f"--history-file {path!r}: {e.strerror}") from None


class RoomService(Service):
    """Owns the room's life: on stop, announce, serve through the grace, close, sync."""

    log = Logger()

    def __init__(
        self, room: Room, history: IHistoryStore, grace: float, reactor: IReactorTime
    ) -> None:
        self.room = room
        self.history = history
        self.grace = grace
        self.reactor = reactor

    def startService(self) -> None:
        """Lift the open-file limit so the room can hold its --max-clients."""
        super().startService()  # type: ignore[no-untyped-call]
        limit = raise_open_file_limit()
        if limit is not None:
            self.log.info("open-file limit is {limit}", limit=limit)

    def stopService(self) -> Deferred[None]:
        """Announce the shutdown, keep serving for the grace, then close everything."""
        super().stopService()  # type: ignore[no-untyped-call]
        self.room.announce_shutdown(self.grace)
        done: Deferred[None] = deferLater(self.reactor, self.grace, self.room.close_all)
        done.addCallback(lambda _: self.history.close())
        return done


def _logging_errors(action: Callable[[], Deferred[None]], log: Logger) -> Callable[[], Any]:
    """Wrap a periodic action so one failure is logged and the loop goes on."""

    def run() -> Deferred[None]:
        return action().addErrback(lambda failure: log.failure("periodic fsync failed", failure))

    return run


def makeService(options: Options, reactor: Any = None) -> IService:
    """Build the chat service: the room, one listener per door and the history's fsync timer."""
    if reactor is None:
        from twisted.internet import reactor as global_reactor

        reactor = global_reactor
    history = JsonLinesHistory(
        str(options["history-file"]), retain=options["history-retain"], fsync=options["fsync"]
    )
    room = Room(options.room_config(), history, reactor)
    top = MultiService()
    # Children stop in reverse order: the listener stops before the room's grace begins.
    room_service = RoomService(room, history, options["shutdown-grace"], reactor)
    room_service.setServiceParent(top)  # type: ignore[no-untyped-call]
    # strports makes a failure to listen (port in use) stop the start-up loudly.
    keepalive = options.keepalive()
    strports.service(options["port"], WordPacketFactory(room, keepalive)).setServiceParent(top)
    if options["ws-port"] is not None:
        sockets = ChatWebSocketFactory(room, parse_origins(options["ws-origins"]), keepalive)
        strports.service(options["ws-port"], chat_site(sockets)).setServiceParent(top)
    if options["fsync"] == "interval":
        sync = _logging_errors(history.sync, RoomService.log)
        TimerService(FSYNC_INTERVAL, sync).setServiceParent(top)
    return top
