"""The `chat` twistd plugin's options and the service they build.

This is the only place where command-line options become objects.
"""

from __future__ import annotations

import errno
import math
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, get_args

from twisted.application.internet import TimerService
from twisted.application.service import IService, MultiService, Service
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IReactorThreads, IReactorTime
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python import usage

from chatproto.accounts.serving import AccountsService
from chatproto.accounts.sqlite import SQLiteAccountStore, UnusableDatabase, prepare_database
from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.core.nicknames import InvalidNickname, validate_nickname
from chatproto.core.observer import QUIET, IRoomObserver
from chatproto.core.roomnames import InvalidRoomName, validate_room_name
from chatproto.doors.irc.identity import DEFAULT_CHANNEL, ServerInfo
from chatproto.doors.irc.protocol import IrcFactory
from chatproto.doors.sockets import Keepalive
from chatproto.doors.tcp.protocol import WordPacketFactory
from chatproto.doors.websocket.origins import parse_origins
from chatproto.doors.websocket.protocol import ChatWebSocketFactory
from chatproto.doors.websocket.site import chat_site
from chatproto.fdlimit import raise_open_file_limit
from chatproto.history import FsyncPolicy, JsonLinesHistory
from chatproto.listeners import OptionListener, endpoint_for
from chatproto.moderationdb import SQLiteModerationStore, read_snapshot
from chatproto.operations.config import file_values, given_options
from chatproto.operations.health import HealthProbe, health_checks
from chatproto.operations.metrics import (
    Metrics,
    ModerationCounting,
    RoomCollector,
    process_registry,
)
from chatproto.operations.reload import Reloader, ReloadOnHangup
from chatproto.operations.serving import metrics_site
from chatproto.roomfiles import RoomFiles
from chatproto.seams.history import HistoryUnavailable, IHistoryStore
from chatproto.seams.moderation import ModerationSnapshot
from chatproto.seams.redis.accounts import RedisAccountStore
from chatproto.seams.redis.wiring import REDIS_OPTIONS, make_seams

FSYNC_POLICIES = get_args(FsyncPolicy)
#: How often `--fsync interval` makes the history durable, in seconds.
FSYNC_INTERVAL = 1.0
#: How long the shutdown waits for the connections it closes to be gone (each peer
#: reading what it is owed, a WebSocket answering the close frame), in seconds.
CLOSE_WAIT = 2.0
#: The options that name an endpoint to listen on (checked by listeners.endpoint_for).
ENDPOINT_OPTIONS = ("port", "ws-port", "irc-port", "metrics-port")
#: The longest --motd, in UTF-8 bytes.
MAX_MOTD_BYTES = 4096
#: The account database when `--accounts-db` is not given (in the working directory).
DEFAULT_ACCOUNTS_DB = "chat-accounts.sqlite3"


def _number(
    name: str,
    default: float,
    doc: str,
    kind: type[int] | type[float],
    low: float,
    high: float | None = None,
) -> list[Any]:
    """One optParameters row for a number option whose errors name the option."""

    def coerce(text: str) -> int | float:
        try:
            value: float | None = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value):  # nan and inf are no limits
            noun = "an integer" if kind is int else "a number"
            raise usage.UsageError(f"--{name} must be {noun}, got {text!r}")
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f">= {low}"
            raise usage.UsageError(f"--{name} must be {span}, got {text}")
        return value

    coerce.coerceDoc = (  # type: ignore[attr-defined]
        f"{kind.__name__}, {low}..{high}" if high is not None else f"{kind.__name__} >= {low}"
    )
    return [name, None, default, doc, coerce]


def _motd(text: str) -> str:
    """The --motd text, checked: bounded, and no control characters but line breaks."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:  # undecodable bytes of the command line
        raise usage.UsageError("--motd must be UTF-8 text") from None
    if size > MAX_MOTD_BYTES:
        raise usage.UsageError(f"--motd must be at most {MAX_MOTD_BYTES} bytes of UTF-8")
    if any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in text):
        raise usage.UsageError("--motd must hold no control characters but line breaks")
    return text


_motd.coerceDoc = f"text, at most {MAX_MOTD_BYTES} bytes"  # type: ignore[attr-defined]


def _operators(given: str) -> tuple[str, ...]:
    """The account names of `--operators` (comma-separated nicknames)."""
    names = [name.strip() for name in given.split(",") if name.strip()]
    try:
        return tuple(validate_nickname(name) for name in names)
    except InvalidNickname as e:
        raise usage.UsageError(f"--operators {given!r}: {e}") from None


_operators.coerceDoc = "account names, comma-separated"  # type: ignore[attr-defined]


class Options(usage.Options):
    """Command-line options of `twistd chat`; every limit of docs/protocol.md section 7."""

    optParameters: list[list[Any]] = [
        ["port", "p", "tcp:10328", "Endpoint description to listen on; a bare number is tcp"],
        ["history-file", None, "chat-history.jsonl", "The JSON Lines history file"],
        _number("history-replay", 100, "Messages replayed to a joiner (0: none)", int, 0),
        _number("history-retain", 10000, "Messages kept replayable", int, 0),
        ["fsync", None, "interval", "When history is fsynced: always, interval or never"],
        _number("shutdown-grace", 5.0, "Seconds served after SIGTERM/SIGINT", float, 0),
        _number("handshake-timeout", 30.0, "Seconds to reach READY (0: off)", float, 0),
        _number("max-message-bytes", 4096, "Largest message, UTF-8 bytes", int, 1, 16384),
        _number("rate", 10.0, "Frames a second per client (0: off)", float, 0),
        _number("burst", 20, "Frames a client may send at once", int, 0),
        _number("flood-errors", 50, "rate-limited errors in a row before disconnect (0: off)",
                int, 0),
        _number("sendq-bytes", 1048576, "Unsent bytes per client before it is dropped (0: off)",
                int, 0),
        _number("max-clients", 10000, "Connections at once, choosing ones included (0: off)",
                int, 0),
        _number("max-per-ip", 64, "Connections per non-loopback address (0: off)", int, 0),
        ["ws-port", None, None, "Endpoint of the WebSocket door and web client (off unless given)"],
        ["ws-origins", None, "", "Origins allowed to open a WebSocket, comma-separated "
         "(default: the page's own; * for any)"],
        ["irc-port", None, None, "Endpoint of the IRC door (off unless given)"],
        ["default-room", None, DEFAULT_CHANNEL,
         "The room every member joins at READY (also --irc-channel, the IRC channel)"],
        _number("max-rooms", 1000, "Rooms at once, the default room included (0: off)", int, 0),
        _number("max-rooms-per-member", 20,
                "Rooms one member may be in, the default room included (0: off)", int, 0),
        ["irc-server-name", None, socket.gethostname(), "The IRC server's name in numerics"],
        _number("keepalive-idle", 60, "Seconds of silence before a peer is probed (0: off)",
                int, 0),
        _number("keepalive-interval", 10, "Seconds between probes", int, 1),
        _number("keepalive-count", 5, "Unanswered probes before a peer is dropped", int, 1),
        ["accounts-db", None, None, "The SQLite file of registered nicknames "
         f"(default: {DEFAULT_ACCOUNTS_DB}; with --redis, Redis keeps them)"],
        ["operators", None, (), "Accounts that operate the server, comma-separated",
         _operators],
        ["moderation-db", None, None, "The SQLite file of bans, mutes and operators "
         "(default: the --accounts-db file; with --redis, Redis keeps them)"],
        _number("register-per-hour", 5,
                "Registrations per address per hour, every door together (0: off)", int, 0),
        *REDIS_OPTIONS,
        ["config", None, None, "A TOML file of these options (keys without the dashes); "
         "the command line wins, SIGHUP reloads it"],
        ["motd", None, "", "The message of the day: in every welcome, and the IRC MOTD", _motd],
        ["metrics-port", None, None,
         "Endpoint serving /metrics (Prometheus) and /healthz (off unless given)"],
    ]  # fmt: skip

    optFlags: list[list[Any]] = [
        ["log-addresses", None, "Log the peer address with joins and leaves"],
        ["no-irc-autojoin", None, "Do not join IRC clients to the default room at registration"],
    ]

    compData = usage.Completions(optActions={"fsync": usage.CompleteList(list(FSYNC_POLICIES))})

    def opt_irc_channel(self, name: str) -> None:
        """Another name for --default-room: the IRC channel that is the default room."""
        self["default-room"] = name

    #: The options given on the command line, which a --config file never overrides.
    given: frozenset[str] = frozenset()

    def parseOptions(self, options: Sequence[str] | None = None) -> None:
        """Parse and check the options, those of the --config file first (the command line
        wins). Under twistd or twist (a runner's subcommand), a mistake ends the process
        with status 1 and one line naming the option, where the runner would print its
        whole usage text first: the usage is for `--help`."""
        arguments = sys.argv[1:] if options is None else list(options)
        try:
            given, path = given_options(self, arguments)
            self.given = frozenset(given)
            if path is not None:
                self.update(file_values(self, path))
            super().parseOptions(arguments)  # type: ignore[no-untyped-call]
        except usage.UsageError as e:
            if self.parent is None:  # called by a program (a .tac file, a test): it reports
                raise
            command = f"{os.path.basename(sys.argv[0])} {self.parent.subCommand}"
            raise SystemExit(f"{command}: {e}") from None

    def postOptions(self) -> None:
        """Check the endpoints and what single options cannot."""
        from twisted.internet import reactor

        for name in ENDPOINT_OPTIONS:
            if self[name] is not None:
                endpoint_for(f"--{name}", str(self[name]), reactor)
        if self["fsync"] not in FSYNC_POLICIES:
            raise usage.UsageError(
                f"--fsync must be one of {', '.join(FSYNC_POLICIES)}, got {self['fsync']!r}"
            )
        self.check_together()
        _check_writable("--history-file", str(self["history-file"]))
        if self["redis"] is None:
            _check_database("--accounts-db", self.accounts_db())
        if self["moderation-db"] is not None and self["redis"] is None:
            _check_database("--moderation-db", self.moderation_db())
        try:
            self["default-room"] = validate_room_name(self["default-room"])
        except InvalidRoomName as e:
            raise usage.UsageError(f"--default-room {self['default-room']!r}: {e}") from None
        if self["irc-port"] is not None:
            try:
                self.irc_server()
            except ValueError as e:
                raise usage.UsageError(f"--default-room or --irc-server-name: {e}") from None

    def check_together(self) -> None:
        """Check what single options cannot (also on reload)."""
        if self["rate"] and not self["burst"]:
            raise usage.UsageError("--burst must be at least 1 while --rate is on")

    def accounts_db(self) -> str:
        """The account database's path (`--accounts-db`, else the default)."""
        given = self["accounts-db"]
        return DEFAULT_ACCOUNTS_DB if given is None else str(given)

    def moderation_db(self) -> str:
        """The moderation database's path without `--redis` (docs/moderation.md):
        `--moderation-db`, else the account database."""
        given = self["moderation-db"]
        return self.accounts_db() if given is None else str(given)

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
            default_room=self["default-room"],
            max_rooms=self["max-rooms"],
            max_rooms_per_member=self["max-rooms-per-member"],
            motd=self["motd"],
            operators=frozenset(self["operators"]),
        )

    def irc_server(self) -> ServerInfo:
        """What the IRC door says about itself (docs/irc.md)."""
        created = time.strftime("%a %b %d %Y at %H:%M:%S UTC", time.gmtime())
        return ServerInfo(
            self["irc-server-name"],
            created,
            self["default-room"],
            max_rooms_per_member=self["max-rooms-per-member"],
            autojoin=not self["no-irc-autojoin"],
        )

    def keepalive(self) -> Keepalive:
        """How accepted TCP connections probe a silent peer (docs/protocol.md section 2)."""
        return Keepalive(
            self["keepalive-idle"], self["keepalive-interval"], self["keepalive-count"]
        )


def _check_writable(option: str, path: str) -> None:
    """Fail early, as a usage error, when the file C{option} names cannot be opened for
    appending (it is created 0600 if missing)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
    except OSError as e:
        directory = os.path.dirname(path) or "."
        if e.errno == errno.ENOENT and not os.path.isdir(directory):
            reason = f"its directory {directory!r} does not exist"
        else:
            reason = e.strerror or str(e)
        raise usage.UsageError(f"{option} {path!r}: {reason}") from None


def _check_database(option: str, path: str) -> None:
    """Fail early, as a usage error, when the SQLite file C{option} names cannot be
    written or created (it is created at start, not here: see L{SQLiteAccountStore})."""
    if os.path.exists(path):
        _check_writable(option, path)
        return
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise usage.UsageError(f"{option} {path!r}: its directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise usage.UsageError(f"{option} {path!r}: cannot create a file in {directory!r}")


#: Called with the action that ends the shutdown grace at once; arranges for a second
#: SIGINT or SIGTERM to run it.
InterruptHook = Callable[[Callable[[], None]], None]


class RoomService(Service):
    """Owns the room's life: on stop, announce, serve through the grace, close every
    connection and wait until each is gone (L{CLOSE_WAIT} at most), sync.

    With nobody connected there is no grace. C{on_interrupt}, when given, is told how to
    end the grace at once (makeService: on a second SIGINT or SIGTERM).
    """

    log = Logger()

    def __init__(
        self,
        hall: Hall,
        history: IHistoryStore,
        grace: float,
        reactor: IReactorTime,
        on_interrupt: InterruptHook | None = None,
    ) -> None:
        self.hall = hall
        self.history = history
        self.grace = grace
        self.reactor = reactor
        self.on_interrupt = on_interrupt

    def startService(self) -> None:
        """Lift the open-file limit so the room can hold its --max-clients."""
        super().startService()  # type: ignore[no-untyped-call]
        limit = raise_open_file_limit()
        if limit is not None:
            self.log.info("open-file limit is {limit}", limit=limit, event_kind="start")

    def stopService(self) -> Deferred[None]:
        """Announce the shutdown, keep serving for the grace, then close everything."""
        super().stopService()  # type: ignore[no-untyped-call]
        grace_over: Deferred[None] = Deferred()
        if self.hall.connection_count():
            self.hall.announce_shutdown(self.grace)
            timer = self.reactor.callLater(self.grace, grace_over.callback, None)

            def end_grace() -> None:
                if timer.active():
                    self.log.info(
                        "interrupted again: closing every connection now", event_kind="shutdown"
                    )
                    timer.cancel()
                    grace_over.callback(None)

            if self.on_interrupt is not None:
                self.on_interrupt(end_grace)
        else:
            self.log.info("shutting down now: nobody is connected", event_kind="shutdown")
            grace_over.callback(None)
        grace_over.addCallback(lambda _: self._close_connections())
        grace_over.addCallback(lambda _: self.hall.close_rooms())
        return grace_over.addCallback(lambda _: self.history.close())

    def _close_connections(self) -> Deferred[None]:
        """Close every connection and wait until each is gone, its closing bytes sent (the
        process must not exit before); after L{CLOSE_WAIT} seconds drop the rest."""
        done: Deferred[None] = Deferred()

        def drop_the_rest() -> None:
            dropped = self.hall.drop_all()
            self.log.info(
                "dropped {count} connections still open after {seconds} seconds",
                count=dropped,
                seconds=CLOSE_WAIT,
                event_kind="shutdown",
            )
            done.callback(None)

        bound = self.reactor.callLater(CLOSE_WAIT, drop_the_rest)

        def all_gone(_: None) -> None:
            if bound.active():
                bound.cancel()
                done.callback(None)

        self.hall.close_all().addCallback(all_gone)
        return done


def _signals_end_grace(reactor: IReactorThreads) -> InterruptHook:
    """An L{InterruptHook} that runs its action on the next SIGINT or SIGTERM, in place of
    the reactor's handlers (which, called while stopping, fail with ReactorNotRunning)."""

    def install(end_grace: Callable[[], None]) -> None:
        def handler(signum: int, frame: object) -> None:
            reactor.callFromThread(end_grace)  # as Twisted does: signals come between bytecodes

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, handler)

    return install


def _logging_errors(action: Callable[[], Deferred[None]], log: Logger) -> Callable[[], Any]:
    """Wrap a periodic action so one failure is logged and the loop goes on."""

    def run() -> Deferred[None]:
        return action().addErrback(
            lambda failure: log.failure("periodic fsync failed", failure, event_kind="store")
        )

    return run


def _accounts_service(options: Options, reactor: Any) -> AccountsService:
    """The accounts: in Redis with `--redis` (every node sees a registration at once),
    else in the SQLite file `--accounts-db` (a file that cannot be used ends the
    process with one line)."""
    per_hour = options["register-per-hour"]
    address = options["redis"]
    if address is None:
        path = options.accounts_db()
        try:
            prepare_database(path)
        except (UnusableDatabase, sqlite3.Error, OSError) as e:
            raise SystemExit(f"--accounts-db {path!r}: {e}") from None
        return AccountsService(
            reactor, lambda: SQLiteAccountStore.open(reactor, path), path, per_hour
        )
    if options["redis-ca"] is not None:
        address = replace(address, ca_certificates=options["redis-ca"])
    where = "Redis"
    if options["accounts-db"] is not None:
        where += f" (--accounts-db {options['accounts-db']!r} is not used with --redis)"
    return AccountsService(
        reactor, lambda: RedisAccountStore.open(address, reactor), where, per_hour
    )


def _moderation_store(
    options: Options, reactor: Any
) -> tuple[SQLiteModerationStore, ModerationSnapshot]:
    """The moderation store (docs/moderation.md) and what it holds, its tables created
    and read now (a file that cannot be used ends the process with one line)."""
    path = options.moderation_db()
    try:
        snapshot = read_snapshot(path)
    except (UnusableDatabase, sqlite3.Error, OSError) as e:
        raise SystemExit(f"--moderation-db {path!r}: {e}") from None
    return SQLiteModerationStore(reactor, path), snapshot


def makeService(options: Options, reactor: Any = None) -> IService:
    """Build the chat service: the room, one listener per door and the history's fsync timer.

    A history file that cannot be opened (locked by another server, unreadable) ends the
    process with one line.
    """
    if reactor is None:
        from twisted.internet import reactor as global_reactor

        reactor = global_reactor
    top = MultiService()
    seams = make_seams(options, reactor)  # --redis: several nodes share the room
    accounts = _accounts_service(options, reactor)
    metrics = Metrics(process_registry()) if options["metrics-port"] is not None else None
    observer: IRoomObserver = metrics if metrics is not None else QUIET
    history: IHistoryStore
    if seams is None:
        moderation, moderated = _moderation_store(options, reactor)
        # Children stop in reverse order: the store closes after every connection is gone.
        moderation.setServiceParent(top)  # type: ignore[no-untyped-call]
        path = str(options["history-file"])
        try:
            rooms = RoomFiles(path, retain=options["history-retain"], fsync=options["fsync"])
            history = JsonLinesHistory(
                path, retain=options["history-retain"], fsync=options["fsync"]
            )
        except HistoryUnavailable as e:
            raise SystemExit(str(e)) from None
        hall = Hall(
            options.room_config(),
            history,
            reactor,
            room_stores=rooms,
            accounts=accounts.accounts,
            observer=observer,
            moderation_store=moderation,
        )
        hall.moderation.load(moderated)
    else:
        history = seams.history
        hall = Hall(
            options.room_config(),
            history,
            reactor,
            seams.hub,
            seams.presence,
            seams.rooms,
            accounts=accounts.accounts,
            observer=observer,
            moderation_store=seams.moderation,  # read when the node reaches Redis
        )
        seams.service.setServiceParent(top)  # type: ignore[no-untyped-call]
    accounts.setServiceParent(top)  # type: ignore[no-untyped-call]
    # Children stop in reverse order: the listener stops before the room's grace begins.
    room_service = RoomService(
        hall, history, options["shutdown-grace"], reactor, _signals_end_grace(reactor)
    )
    room_service.setServiceParent(top)  # type: ignore[no-untyped-call]
    keepalive = options.keepalive()
    doors: list[tuple[str, Factory[Any]]] = [("port", WordPacketFactory(hall, keepalive))]
    if options["ws-port"] is not None:
        sockets = ChatWebSocketFactory(hall, parse_origins(options["ws-origins"]), keepalive)
        doors.append(("ws-port", chat_site(sockets)))
    if options["irc-port"] is not None:
        doors.append(("irc-port", IrcFactory(hall, options.irc_server(), keepalive)))
    if metrics is not None:
        metrics.registry.register(RoomCollector(hall))
        counting = ModerationCounting(metrics)
        counting.setServiceParent(top)  # type: ignore[no-untyped-call]
        checks = health_checks(hall, history, seams.service.node if seams is not None else None)
        probe = HealthProbe(checks, reactor)
        doors.append(("metrics-port", metrics_site(metrics.registry, probe)))
    for _, factory in doors:
        factory.noisy = False  # no "Starting factory": the port's "starting on" says it
    listeners = [
        OptionListener(f"--{name}", options[name], factory, reactor) for name, factory in doors
    ]
    for listener in listeners:
        listener.setServiceParent(top)  # type: ignore[no-untyped-call]
    reloader = Reloader(options, hall, listeners)
    hangup = ReloadOnHangup(reloader, reactor)
    hangup.setServiceParent(top)  # type: ignore[no-untyped-call]
    if options["fsync"] == "interval":

        def sync_all() -> Deferred[None]:
            synced = gatherResults([history.sync(), hall.sync_rooms()])
            return synced.addCallback(lambda _: None)

        sync = _logging_errors(sync_all, RoomService.log)
        TimerService(FSYNC_INTERVAL, sync).setServiceParent(top)
    return top
