"""The pieces of the Redis seams that need no Redis: the URL, the options, the mirror."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import HostnameEndpoint, UNIXClientEndpoint
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from chatproto.seams.redis.address import RedisAddress, parse_redis_url
from chatproto.seams.redis.client import RedisUnavailable
from chatproto.seams.redis.joinorder import JoinOrder
from chatproto.seams.redis.moderation import RedisModeration
from chatproto.seams.redis.presence import RedisPresence
from chatproto.seams.redis.writer import MAX_QUEUED, FeedWriter
from chatproto.seams.rooms import (
    IRoomStores,
    ISharedRooms,
    ListedRoom,
    OpenedRoom,
    RoomFacts,
    TooManyRooms,
    TopicChanged,
)
from chatproto.seams.sharedmoderation import Order
from chatproto.service import Options
from tests.certs import make_certificate
from tests.fakes import FakeClient, MemoryRoomStores, make_room


class AddressTests(SynchronousTestCase):
    def test_tcp_with_defaults_and_with_everything(self) -> None:
        self.assertEqual(parse_redis_url("redis://cache"), RedisAddress(host="cache"))
        self.assertEqual(
            parse_redis_url("redis://me:s%40cret@10.0.0.5:7000/3"),
            RedisAddress(host="10.0.0.5", port=7000, db=3, username="me", password="s@cret"),
        )
        self.assertEqual(parse_redis_url("redis://:pw@h/1").password, "pw")

    def test_tls_and_unix(self) -> None:
        self.assertEqual(
            parse_redis_url("rediss://cache"), RedisAddress(host="cache", port=6380, tls=True)
        )
        unix = RedisAddress(path="/run/redis.sock", db=2)
        self.assertEqual(parse_redis_url("unix:/run/redis.sock?db=2"), unix)
        self.assertEqual(parse_redis_url("/run/redis.sock"), RedisAddress(path="/run/redis.sock"))

    def test_endpoints(self) -> None:
        from twisted.internet import reactor

        self.assertIsInstance(parse_redis_url("redis://h").endpoint(reactor), HostnameEndpoint)
        self.assertIsInstance(parse_redis_url("unix:/s").endpoint(reactor), UNIXClientEndpoint)
        self.assertNotIsInstance(parse_redis_url("rediss://h").endpoint(reactor), HostnameEndpoint)

    def test_logs_never_show_the_password(self) -> None:
        self.assertEqual(str(parse_redis_url("redis://:pw@h:1/2")), "redis://h:1/2")

    def test_bad_urls_say_why(self) -> None:
        for url, why in [
            ("http://h", "use redis://"),
            ("redis://h:99999", "port"),
            ("redis://h/x", "database"),
            ("redis:///0", "no host"),
            ("unix:relative.sock", "absolute"),
        ]:
            with self.assertRaises(ValueError) as raised:
                parse_redis_url(url)
            self.assertIn(why, str(raised.exception))


class OptionsTests(SynchronousTestCase):
    def test_redis_options(self) -> None:
        options = Options()
        options.parseOptions(["--redis", "redis://h:1/0", "--node-timeout", "2.5"])
        self.assertEqual((options["redis"].port, options["node-timeout"]), (1, 2.5))

    def test_bad_redis_options_are_usage_errors(self) -> None:
        for bad in (["--redis", "http://h"], ["--node-timeout", "0"], ["--node-timeout", "x"]):
            with self.assertRaises(usage.UsageError):
                Options().parseOptions(bad)

    def test_redis_ca_reads_the_certificates_and_says_what_is_wrong_with_a_bad_file(self) -> None:
        directory = Path(self.mktemp())
        directory.mkdir()
        certificate, key = make_certificate(directory)
        options = Options()
        options.parseOptions(["--redis", "rediss://localhost", "--redis-ca", str(certificate)])
        (pem,) = options["redis-ca"]
        self.assertEqual(pem, certificate.read_bytes())
        for path, why in [(directory / "missing.pem", "cannot read"), (key, "no PEM certificate")]:
            with self.assertRaises(usage.UsageError) as raised:
                Options().parseOptions(["--redis-ca", str(path)])
            self.assertIn(why, str(raised.exception))


class MirrorTests(SynchronousTestCase):
    """The presence mirror lists every node's members in join order."""

    def setUp(self) -> None:
        self.presence = RedisPresence(writer=None)  # type: ignore[arg-type]  # no claims here

    def test_join_order_whatever_the_arrival_order(self) -> None:
        self.presence.load([("a", 1, b'"a"', False, ""), ("c", 5, b'"c"', False, "")])
        self.presence.claimed("b", b'"b"', 3)
        self.presence.claimed("d", b'"d"', 7)
        self.assertEqual(list(self.presence.listed()), [b'"a"', b'"b"', b'"c"', b'"d"'])
        self.presence.freed("c", 5)
        self.assertEqual(list(self.presence.listed()), [b'"a"', b'"b"', b'"d"'])
        self.assertTrue(self.presence.is_held("b"))
        self.assertFalse(self.presence.is_held("c"))

    def test_members_outside_the_default_room_are_not_listed(self) -> None:
        self.presence.load([("a", 1, b'"a"', True, ""), ("b", 2, b'"b"', False, "")])
        self.assertEqual(list(self.presence.listed()), [b'"b"'])
        self.presence.outside("a", False)
        self.presence.outside("b", True)
        self.assertEqual(list(self.presence.listed()), [b'"a"'])
        self.presence.freed("b", 2)  # its next claim starts inside
        self.presence.claimed("b", b'"b"', 3)
        self.assertEqual(list(self.presence.listed()), [b'"a"', b'"b"'])

    def test_a_stale_freed_leaves_a_newer_claim_alone(self) -> None:
        self.presence.claimed("alice", b'"Alice"', 9)  # claimed again, on this node
        self.presence.freed("alice", 4)  # the feed tells of the earlier claim's end
        self.presence.claimed("alice", b'"Alice"', 9)  # and echoes the new claim
        self.assertEqual(list(self.presence.listed()), [b'"Alice"'])


class JoinOrderTests(SynchronousTestCase):
    """A room's members in join order, as a node lists them before Redis has ordered a
    join of its own."""

    def test_a_joiner_is_listed_last_until_its_order_comes_back(self) -> None:
        members = JoinOrder()
        members.add("a", b'"a"', 4)
        members.add("me", b'"me"', math.inf)  # joined here, its order not known yet
        members.add("b", b'"b"', 5)  # joined elsewhere meanwhile
        self.assertEqual(list(members.listed), [b'"a"', b'"b"', b'"me"'])
        members.add("me", b'"me"', 6)  # the room's feed tells its order
        self.assertEqual(list(members.listed), [b'"a"', b'"b"', b'"me"'])
        self.assertFalse(members.remove("me", 3))  # the end of an earlier stay
        self.assertTrue(members.remove("me"))
        self.assertEqual(list(members.listed), [b'"a"', b'"b"'])


class _AnsweringRedis:
    """A connection that answers each script call at once with C{answer} per write."""

    up = True
    address = "redis://answering"

    def __init__(self) -> None:
        self.answer: object = 0
        self.sent: list[Sequence[object]] = []

    def run(self, script: object, keys: object, args: Sequence[object]) -> Deferred[object]:
        self.sent.append(args)
        return succeed([self.answer] * ((len(args) - 3) // 4))


class PlacesTests(SynchronousTestCase):
    """This node's places: lost when freed or taken elsewhere, given up when fenced."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.redis = _AnsweringRedis()
        writer = FeedWriter(self.redis, self.clock, "node", 100, lambda: 0)  # type: ignore[arg-type]
        self.presence = RedisPresence(writer)
        self.presence.ready = True
        self.lost: list[str] = []
        self.presence.watch(self.lost.append)

    def claim(self, key: str, order: int) -> bool:
        self.redis.answer = order
        claimed = self.presence.claim(key, f'"{key}"'.encode(), f"token of {key}")
        self.clock.advance(0)
        return self.successResultOf(claimed)

    def test_redis_is_sent_a_hash_of_the_token_never_the_token(self) -> None:
        self.assertTrue(self.claim("alice", 1))
        kind, key, nickname, kept = self.redis.sent[-1][3:]
        self.assertEqual((kind, key, nickname), (b"j", b"alice", b'"alice"'))
        self.assertEqual(kept, hashlib.sha256(b"token of alice").hexdigest().encode())

    def test_a_member_freed_by_another_node_loses_its_place_here(self) -> None:
        self.claim("alice", 1)
        self.presence.freed("alice", 1)  # another node found this one silent
        self.assertEqual(self.lost, ["alice"])

    def test_a_place_taken_over_elsewhere_is_lost_once(self) -> None:
        self.claim("alice", 1)
        self.presence.moved("alice")
        self.presence.moved("alice")
        self.assertEqual(self.lost, ["alice"])
        self.assertTrue(self.presence.is_held("alice"))  # by the other node now

    def test_fencing_gives_up_every_place_here_and_takes_no_member(self) -> None:
        self.claim("bob", 2)
        self.claim("alice", 1)
        self.presence.claimed("carol", b'"carol"', 3)  # a member of another node
        self.assertEqual(self.presence.fence(), [("alice", b'"alice"'), ("bob", b'"bob"')])
        self.assertEqual(sorted(self.lost), ["alice", "bob"])
        self.assertFalse(self.presence.reachable)
        self.assertFalse(self.claim("dave", 4))


class StoreOutageLogTests(SynchronousTestCase):
    """A store that refuses messages (Redis down) is logged once per outage."""

    def test_logged_once_until_a_message_is_stored_again(self) -> None:
        room, _clock, history = make_room()
        bob = FakeClient(room)
        bob.join("bob")
        history.fail = True
        with capturedLogs() as events:
            for n in range(3):
                bob.send_json({"message": f"lost {n}"})
            history.fail = False
            bob.send_json({"message": "stored"})
            history.fail = True
            bob.send_json({"message": "lost again"})
        errors = [e for e in events if e.get("log_format", "").startswith("history unavailable")]
        self.assertEqual(len(errors), 2)
        codes = [f.get("code") for f in bob.received() if f.get("event") == "error"]
        self.assertEqual(codes, ["unavailable"] * 4)


class _SilentRedis:
    """A connection that is up but never answers (a Redis that does not keep up)."""

    up = True
    address = "redis://silent"

    def run(self, *args: object) -> Deferred[object]:
        return Deferred()


class WriterBoundTests(SynchronousTestCase):
    def test_writes_past_the_bound_are_refused_not_queued(self) -> None:
        clock = Clock()
        writer = FeedWriter(_SilentRedis(), clock, "node", 100, lambda: 0)  # type: ignore[arg-type]
        first = writer.chat(b"{}")
        clock.advance(0)  # in flight, never answered
        waiting = [writer.chat(b"{}") for _ in range(MAX_QUEUED)]
        refused = writer.chat(b"{}")
        self.failureResultOf(refused, RedisUnavailable)
        self.assertNoResult(first)
        self.assertNoResult(waiting[-1])


@implementer(IRoomStores, ISharedRooms)
class SlowSharedRooms(MemoryRoomStores):
    """Room stores shared by several nodes whose rooms get ready when the test says (as
    Redis answers), listing each room's members as this node entered them."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[str, Deferred[OpenedRoom]] = {}
        self.members_of: dict[str, list[bytes]] = {}

    def open(self, key: str, name: str) -> Any:
        self.pending[key] = Deferred()
        return super().open(key, name)

    def opened(self, key: str) -> Deferred[OpenedRoom] | None:  # not MemoryRoomStores' count
        return self.pending[key]

    def entered(self, key: str, member_key: str, encoded_nickname: bytes) -> None:
        self.members_of.setdefault(key, []).append(encoded_nickname)

    def exited(self, key: str, member_key: str) -> None:
        """Nothing: these tests part nobody."""

    def members(self, key: str) -> Sequence[bytes]:
        return self.members_of.get(key, [])

    def rooms_of(self, member_key: str) -> Deferred[list[tuple[str, str]]]:
        return succeed([])

    def listing(self, limit: int) -> Deferred[tuple[int, list[ListedRoom]]]:
        return succeed((0, []))

    def about(self, key: str) -> Deferred[RoomFacts | None]:
        return succeed(None)

    def watch_topics(self, changed: TopicChanged) -> None:
        """Nothing: no other node sets topics here."""


class SharedRoomOpeningTests(SynchronousTestCase):
    """A join waits for a room store shared by several nodes to get ready (the hall's
    hook for --redis, L{ISharedRooms.opened})."""

    def setUp(self) -> None:
        self.stores = SlowSharedRooms()
        self.hall, _, _ = make_room(room_stores=self.stores, rate=0)
        self.alice = FakeClient(self.hall, port=1)
        self.alice.join("alice")
        self.bob = FakeClient(self.hall, port=2)
        self.bob.join("bob")
        self.alice.received()
        self.bob.received()

    def welcomes(self, client: FakeClient) -> list[dict[str, Any]]:
        return [f for f in client.received() if f.get("event") == "welcome"]

    def test_joiners_wait_and_see_the_creators_spelling(self) -> None:
        self.alice.send_json({"command": "join", "room": "#rust"})
        self.bob.send_json({"command": "join", "room": "#RUST"})
        self.assertEqual(self.welcomes(self.alice), [])
        self.stores.pending["#rust"].callback(OpenedRoom("#Rust", False))  # named elsewhere
        self.assertEqual([w["room"] for w in self.welcomes(self.alice)], ["#Rust"])
        [welcome] = self.welcomes(self.bob)
        self.assertEqual((welcome["room"], welcome["users"]), ("#Rust", ["alice", "bob"]))

    def test_too_many_rooms_on_every_node_refuses_the_joiner(self) -> None:
        self.alice.send_json({"command": "join", "room": "#rust"})
        self.stores.pending["#rust"].errback(TooManyRooms("#rust"))
        [error] = [f for f in self.alice.received() if f.get("event") == "error"]
        self.assertEqual(error["code"], "too-many-rooms")
        self.assertNotIn("#rust", self.hall.registry.rooms)
        self.assertNotIn("#rust", self.stores.histories)  # closed and forgotten

    def test_a_room_opened_for_a_joiner_gone_meanwhile_is_given_back(self) -> None:
        self.alice.send_json({"command": "join", "room": "#rust"})
        self.alice.drop()
        self.stores.pending["#rust"].callback(OpenedRoom("#rust", True))
        self.assertNotIn("#rust", self.hall.registry.rooms)
        self.assertNotIn("#rust", self.stores.histories)  # closed and forgotten


class OrderTests(SynchronousTestCase):
    """Orders for the node holding a member come off the feed as the node sent them."""

    def setUp(self) -> None:
        self.moderation = RedisModeration(connection=None, node_id="a")  # type: ignore[arg-type]  # nothing is sent
        self.told: list[Any] = []
        self.moderation.watch(self.told.append)

    def test_an_order_of_another_node_is_told(self) -> None:
        order = Order("kick", "#rust", "bob", "alice", None, None)
        self.moderation.changed(json.dumps({"order": asdict(order)}).encode(), "b")
        self.moderation.changed(json.dumps({"order": asdict(order)}).encode(), "a")  # its own
        self.assertEqual(self.told, [order])

    def test_an_order_this_version_cannot_read_is_logged_and_ignored(self) -> None:
        with capturedLogs() as events:
            unknown_target = {**asdict(Order("kick", "#r", "bob", "a", None, None)), "target": 5}
            for described in ({"action": "kick"}, unknown_target):
                self.moderation.changed(json.dumps({"order": described}).encode(), "b")
        self.assertEqual(self.told, [])
        self.assertEqual(len(events), 2)
