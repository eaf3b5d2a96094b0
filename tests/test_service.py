"""Options of the `chat` plugin and the service they build."""

from __future__ import annotations

import os

from twisted.application.internet import StreamServerEndpointService, TimerService
from twisted.application.service import IServiceCollection
from twisted.internet.task import Clock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.config import RoomConfig
from chatproto.service import Options, RoomService, makeService
from tests.fakes import FakeClient, MemoryHistory, make_room


class OptionsTests(SynchronousTestCase):
    """Parsing and validating every option with the names PROTOCOL.md section 7 gives."""

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
                "port": "tcp:10328:backlog=1024",
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
            },
        )
        self.assertEqual(options.room_config(), RoomConfig())

    def test_bare_number_is_tcp(self) -> None:
        self.assertEqual(self.parse("--port", "4000")["port"], "tcp:4000:backlog=1024")
        self.assertEqual(self.parse("--port", "unix:chat.sock")["port"], "unix:chat.sock")
        self.assertEqual(self.parse("--port", "tcp:4000:backlog=5")["port"], "tcp:4000:backlog=5")

    def test_values_reach_the_room(self) -> None:
        options = self.parse("--rate", "0", "--max-per-ip", "0", "--sendq-bytes", "2048")
        config = options.room_config()
        self.assertEqual((config.rate, config.max_per_ip, config.sendq_bytes), (0.0, 0, 2048))

    def test_bad_values(self) -> None:
        for bad in (
            ["--max-message-bytes", "0"],
            ["--max-message-bytes", "16385"],
            ["--rate", "-1"],
            ["--burst", "many"],
            ["--fsync", "sometimes"],
            ["--port", "nonsense:1"],
            ["--rate", "5", "--burst", "0"],
            ["--history-file", "/nonexistent/dir/h.jsonl"],
        ):
            with self.assertRaises(usage.UsageError, msg=str(bad)):
                self.parse(*bad)


class ServiceTests(SynchronousTestCase):
    """makeService composes the listener, the room's life and the fsync timer."""

    def test_children(self) -> None:
        path = self.mktemp()
        options = Options()
        options.parseOptions(["--port", "tcp:0:interface=127.0.0.1", "--history-file", path])
        service = makeService(options, reactor=Clock())
        assert IServiceCollection.providedBy(service)
        kinds = [type(child) for child in service]
        self.assertEqual(kinds, [RoomService, StreamServerEndpointService, TimerService])

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
        self.successResultOf(stopped)
        self.assertTrue(history.closed)
