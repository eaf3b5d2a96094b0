"""Options of the `chat` plugin and the service they build."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

from twisted.application.internet import TimerService
from twisted.application.service import IServiceCollection
from twisted.internet.task import Clock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from chatproto.accounts.serving import AccountsService
from chatproto.core.config import RoomConfig
from chatproto.doors.irc.protocol import IrcFactory
from chatproto.doors.sockets import Keepalive
from chatproto.listeners import OptionListener, listen_description
from chatproto.moderationdb import SQLiteModerationStore
from chatproto.operations.reload import ReloadOnHangup
from chatproto.service import CLOSE_WAIT, Options, RoomService, makeService
from tests.certs import make_certificate
from tests.fakes import FakeClient, MemoryHistory, MemoryRoomStores, make_room


def accounts_db(test: SynchronousTestCase) -> list[str]:
    """The option that puts a test's account database in its temporary folder."""
    return ["--accounts-db", test.mktemp()]


class OptionsTests(SynchronousTestCase):
    """Parsing and validating every option with the names docs/protocol.md section 7 gives."""

    def setUp(self) -> None:
        self.cwd = os.getcwd()
        workdir = self.mktemp()
        os.makedirs(workdir)
        os.chdir(workdir)  # the default history file is created in the working directory

    def tearDown(self) -> None:
        os.chdir(self.cwd)

    def parse(self, *args: str) -> Options:
        options = Options()
        options.parseOptions(list(args))
        return options

    def test_defaults(self) -> None:
        options = self.parse()
        self.assertEqual(
            {key: options[key] for key in options.defaults},
            {
                "port": "tcp:10328",
                "history-file": "chat-history.jsonl",
                "history-replay": 100,
                "history-retain": 10000,
                "fsync": "interval",
                "shutdown-grace": 5.0,
                "handshake-timeout": 30.0,
                "max-message-bytes": 4096,
                "rate": 10.0,
                "burst": 20,
                "flood-errors": 50,
                "sendq-bytes": 1048576,
                "max-clients": 10000,
                "max-per-ip": 64,
                "ws-port": None,
                "ws-origins": "",
                "irc-port": None,
                "default-room": "#chat",
                "max-rooms": 1000,
                "max-rooms-per-member": 20,
                "irc-server-name": socket.gethostname(),
                "keepalive-idle": 60,
                "keepalive-interval": 10,
                "keepalive-count": 5,
                "log-addresses": 0,
                "no-irc-autojoin": 0,
                "accounts-db": None,
                "operators": (),
                "moderation-db": None,
                "register-per-hour": 5,
                "redis": None,
                "redis-ca": None,
                "node-timeout": 10.0,
                "config": None,
                "motd": "",
                "metrics-port": None,
            },
        )
        self.assertEqual(options.room_config(), RoomConfig())
        self.assertEqual(options.keepalive(), Keepalive())

    def test_port_is_kept_as_typed(self) -> None:
        """The option keeps what the user typed; the listener is told the full description."""
        self.assertEqual(self.parse("--port", "4000")["port"], "4000")
        self.assertEqual(listen_description("4000"), "tcp:4000:backlog=1024")
        self.assertEqual(listen_description("unix:chat.sock"), "unix:chat.sock")
        self.assertEqual(listen_description("tcp:4000:backlog=5"), "tcp:4000:backlog=5")

    def test_values_reach_the_room(self) -> None:
        options = self.parse("--rate", "0", "--max-per-ip", "0", "--sendq-bytes", "2048")
        config = options.room_config()
        self.assertEqual((config.rate, config.max_per_ip, config.sendq_bytes), (0.0, 0, 2048))

    def test_bad_values_name_the_option(self) -> None:
        for bad, message in (
            (["--max-message-bytes", "0"], "--max-message-bytes must be from 1 to 16384, got 0"),
            (["--max-message-bytes", "16385"],
             "--max-message-bytes must be from 1 to 16384, got 16385"),
            (["--rate", "-1"], "--rate must be >= 0, got -1"),
            (["--shutdown-grace", "inf"], "--shutdown-grace must be a number, got 'inf'"),
            (["--rate", "nan"], "--rate must be a number, got 'nan'"),
            (["--burst", "many"], "--burst must be an integer, got 'many'"),
            (["--fsync", "sometimes"],
             "--fsync must be one of always, interval, never, got 'sometimes'"),
            (["--port", "nonsense:1"], "--port 'nonsense:1': Unknown endpoint type: 'nonsense'"),
            (["--rate", "5", "--burst", "0"], "--burst must be at least 1 while --rate is on"),
            (["--port", "tcp:notaport"],
             "--port 'tcp:notaport': the port must be a number, got 'notaport'"),
            (["--port", "tcp:port=x:interface=127.0.0.1"],
             "--port 'tcp:port=x:interface=127.0.0.1': the port must be a number, got 'x'"),
            (["--port", "tcp:0:backlog=many"],
             "--port 'tcp:0:backlog=many': 'many' must be a number"),
            (["--history-file", "/nonexistent/dir/h.jsonl"],
             "--history-file '/nonexistent/dir/h.jsonl': its directory '/nonexistent/dir'"
             " does not exist"),
            (["--history-file", "."], "--history-file '.': Is a directory"),
        ):  # fmt: skip
            with self.assertRaises(usage.UsageError, msg=str(bad)) as raised:
                self.parse(*bad)
            self.assertEqual(str(raised.exception), message)

    def test_unusable_tls_files_name_the_option(self) -> None:
        """Missing, unreadable or wrong TLS files are usage errors that echo the endpoint."""
        cert = make_certificate(Path.cwd())[0]
        os.mkdir("other")
        _, other_key = make_certificate(Path("other"))
        Path("junk.pem").write_text("not a key\n")
        for private_key, reason in (
            ("missing.pem", "No such file or directory: "),
            ("other", "Is a directory: "),
            ("junk.pem", "not a usable TLS key or certificate ("),
            (str(other_key), "Certificate public and private keys do not match."),
        ):
            typed = f"ssl:0:privateKey={private_key}:certKey={cert}"
            with self.assertRaises(usage.UsageError) as raised:
                self.parse("--port", typed)
            self.assertTrue(str(raised.exception).startswith(f"--port {typed!r}: {reason}"))

    def test_rooms_options(self) -> None:
        options = self.parse("--irc-channel", "#Lobby", "--max-rooms", "5")
        config = options.room_config()
        self.assertEqual(
            (config.default_room, config.max_rooms, config.max_rooms_per_member),
            ("#Lobby", 5, 20),
        )
        self.assertEqual(self.parse("--default-room", "＃ｈｉ").room_config().default_room, "#hi")
        for bad, says in [
            (["--default-room", "lobby"], "--default-room 'lobby': a room name starts with #"),
            (["--max-rooms", "-1"], "--max-rooms must be >= 0, got -1"),
            (["--max-rooms-per-member", "x"], "--max-rooms-per-member must be an integer"),
        ]:
            with self.assertRaises(usage.UsageError, msg=str(bad)) as raised:
                self.parse(*bad)
            self.assertTrue(str(raised.exception).startswith(says), str(raised.exception))

    def test_accounts_database(self) -> None:
        self.assertEqual(self.parse().accounts_db(), "chat-accounts.sqlite3")
        self.assertFalse(os.path.exists("chat-accounts.sqlite3"))  # created at start
        self.assertEqual(self.parse("--accounts-db", "a.db").accounts_db(), "a.db")
        with self.assertRaises(usage.UsageError) as raised:
            self.parse("--accounts-db", "missing/a.db")
        self.assertEqual(
            str(raised.exception),
            "--accounts-db 'missing/a.db': its directory 'missing' does not exist",
        )
        with self.assertRaises(usage.UsageError) as raised:
            self.parse("--register-per-hour", "-1")
        self.assertEqual(str(raised.exception), "--register-per-hour must be >= 0, got -1")

    def test_bad_irc_values(self) -> None:
        for bad in (
            ["--irc-port", "nonsense:1"],
            ["--irc-port", "6667", "--irc-channel", "chat"],
            ["--irc-port", "6667", "--irc-server-name", "two words"],
        ):
            with self.assertRaises(usage.UsageError, msg=str(bad)):
                self.parse(*bad)

    def test_irc_door(self) -> None:
        options = self.parse(
            "--irc-port", "6667", "--irc-channel", "#room", "--irc-server-name", "irc.example"
        )
        self.assertEqual(options["irc-port"], "6667")
        server = options.irc_server()
        self.assertEqual((server.name, server.channel), ("irc.example", "#room"))


class ServiceTests(SynchronousTestCase):
    """makeService composes the listener, the room's life and the fsync timer."""

    def test_children(self) -> None:
        path = self.mktemp()
        options = Options()
        options.parseOptions(
            ["--port", "tcp:0:interface=127.0.0.1", "--history-file", path, *accounts_db(self)]
        )
        service = makeService(options, reactor=Clock())
        assert IServiceCollection.providedBy(service)
        kinds = [type(child) for child in service]
        # The stores start first and stop last, after the room's grace.
        self.assertEqual(
            kinds,
            [
                SQLiteModerationStore,
                AccountsService,
                RoomService,
                OptionListener,
                ReloadOnHangup,
                TimerService,
            ],
        )

    def test_rooms_directory_beside_the_history_file(self) -> None:
        path = self.mktemp()
        options = Options()
        options.parseOptions(
            ["--port", "tcp:0:interface=127.0.0.1", "--history-file", path, *accounts_db(self)]
        )
        makeService(options, reactor=Clock())
        self.assertTrue(os.path.isdir(path + ".rooms"))
        blocked = self.mktemp()
        options.parseOptions(
            ["--port", "tcp:0:interface=127.0.0.1", "--history-file", blocked, *accounts_db(self)]
        )
        with open(blocked + ".rooms", "w"):
            pass  # a file where the directory should be
        with self.assertRaises(SystemExit) as raised:
            makeService(options, reactor=Clock())
        self.assertIn("cannot create the rooms directory", str(raised.exception))

    def test_stop_closes_the_rooms_stores(self) -> None:
        stores = MemoryRoomStores()
        history = MemoryHistory()
        room, clock, _ = make_room(history=history, room_stores=stores)
        alice = FakeClient(room)
        alice.join("alice")
        alice.send_json({"command": "join", "room": "#rust"})
        self.assertEqual(stores.opened, 1)
        stopped = RoomService(room, history, 0.0, clock).stopService()
        clock.advance(0)
        alice.drop()
        self.successResultOf(stopped)
        self.assertEqual(stores.opened, 0)
        self.assertTrue(history.closed)

    def test_irc_door_listens_when_asked(self) -> None:
        options = Options()
        options.parseOptions(
            [
                "--irc-port",
                "tcp:0:interface=127.0.0.1",
                "--history-file",
                self.mktemp(),
                *accounts_db(self),
            ]
        )
        service = makeService(options, reactor=Clock())
        assert IServiceCollection.providedBy(service)
        listeners = [child for child in service if isinstance(child, OptionListener)]
        self.assertIsInstance(listeners[-1].factory, IrcFactory)

    def test_stop_announces_waits_grace_closes_and_syncs(self) -> None:
        history = MemoryHistory()
        room, clock, _ = make_room(history=history)
        alice = FakeClient(room)
        alice.join("alice")
        service = RoomService(room, history, 3.0, clock)
        service.startService()
        stopped = service.stopService()
        self.assertEqual(alice.events(), ["shutdown"])
        clock.advance(2.9)
        self.assertFalse(alice.closed)
        clock.advance(0.2)
        self.assertTrue(alice.closed)
        # The history is closed (and the process exits) once the connection is gone.
        self.assertNoResult(stopped)
        self.assertFalse(history.closed)
        alice.drop()
        self.successResultOf(stopped)
        self.assertTrue(history.closed)

    def test_stop_drops_a_connection_still_open_after_the_close_wait(self) -> None:
        history = MemoryHistory()
        room, clock, _ = make_room(history=history)
        alice = FakeClient(room)
        alice.join("alice")
        stopped = RoomService(room, history, 0.0, clock).stopService()
        clock.advance(0)
        self.assertTrue(alice.closed)
        clock.advance(CLOSE_WAIT - 0.1)
        self.assertNoResult(stopped)
        self.assertFalse(alice.transport.disconnected)
        clock.advance(0.1)
        self.assertTrue(alice.transport.disconnected)  # aborted
        self.successResultOf(stopped)
        self.assertTrue(history.closed)

    def test_stop_with_nobody_connected_has_no_grace(self) -> None:
        history = MemoryHistory()
        room, clock, _ = make_room(history=history)
        service = RoomService(room, history, 3.0, clock)
        service.startService()
        self.successResultOf(service.stopService())
        self.assertTrue(history.closed)

    def test_interrupt_during_the_grace_closes_at_once(self) -> None:
        """A second SIGINT (the hook's action) ends the grace; later ones change nothing."""
        history = MemoryHistory()
        room, clock, _ = make_room(history=history)
        alice = FakeClient(room)
        alice.join("alice")
        interrupts: list[Callable[[], None]] = []
        service = RoomService(room, history, 3.0, clock, interrupts.append)
        service.startService()
        stopped = service.stopService()
        [interrupt] = interrupts
        clock.advance(1)
        self.assertFalse(alice.closed)
        interrupt()
        self.assertTrue(alice.closed)
        alice.drop()
        self.successResultOf(stopped)
        self.assertTrue(history.closed)
        interrupt()
        clock.advance(5)
        self.assertEqual(alice.events(), ["shutdown"])
