"""Rooms beside the default one (docs/protocol.md section 12), on fakes (no reactor)."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.seams.history import Stored
from tests.fakes import FakeClient, MemoryHistory, MemoryRoomStores, make_room


def joined(hall: Hall, nickname: str, port: int) -> FakeClient:
    """A client that has joined (its READY frames read)."""
    client = FakeClient(hall, port=port)
    client.join(nickname)
    return client


def notices(frames: list[Any], event: str) -> list[dict[str, Any]]:
    return [f for f in frames if isinstance(f, dict) and f.get("event") == event]


class JoinPartTests(SynchronousTestCase):
    """join, part, who and the room field of every packet about a room."""

    def setUp(self) -> None:
        self.stores = MemoryRoomStores()
        self.hall, self.clock, self.history = make_room(room_stores=self.stores)
        self.alice = joined(self.hall, "alice", 1)
        self.bob = joined(self.hall, "bob", 2)
        self.carol = joined(self.hall, "carol", 3)  # never names a room
        self.alice.received()
        self.bob.received()

    def join(self, client: FakeClient, room: str, **extra: Any) -> list[Any]:
        client.send_json({"command": "join", "room": room, **extra})
        return client.received()

    def test_join_answers_the_welcome_and_tells_the_room(self) -> None:
        self.assertEqual(
            self.join(self.alice, "#rust"),
            [
                {
                    "nickname": "server",
                    "timestamp": self.hall.timestamp(),
                    "event": "welcome",
                    "message": "Welcome to #rust, alice! 1 here.",
                    "users": ["alice"],
                    "last_id": 0,
                    "first_id": 0,
                    "operators": ["alice"],
                    "topic": "",
                    "room": "#rust",
                }
            ],
        )
        welcome = self.join(self.bob, "#RUST")[-1]
        self.assertEqual((welcome["room"], welcome["users"]), ("#rust", ["alice", "bob"]))
        told = notices(self.alice.received(), "join")
        self.assertEqual([(n["user"], n["room"]) for n in told], [("bob", "#rust")])
        self.assertEqual(self.carol.received(), [])

    def test_traffic_stays_in_its_room_with_ids_of_its_own(self) -> None:
        self.join(self.alice, "#rust")
        self.join(self.bob, "#rust")
        self.alice.send_json({"message": "default one"})
        self.alice.send_json({"message": "in rust", "room": "#rust"})
        self.alice.send_json({"message": "in rust again", "room": "#Rust"})
        seen_by_bob = [f for f in self.bob.received() if "id" in f]
        self.assertEqual(
            [(f["id"], f.get("room"), f["message"]) for f in seen_by_bob],
            [(1, None, "default one"), (1, "#rust", "in rust"), (2, "#rust", "in rust again")],
        )
        self.assertEqual(
            [(f["id"], f["message"]) for f in self.carol.received()], [(1, "default one")]
        )
        self.assertEqual(self.history.last_id, 1)

    def test_bye_said_in_a_room_is_a_message(self) -> None:
        self.join(self.alice, "#rust")
        self.alice.send_json({"message": "BYE", "room": "#rust"})
        self.assertEqual(self.alice.received()[-1]["message"], "BYE")
        self.assertFalse(self.alice.closed)

    def test_naming_the_default_room_is_the_same_as_not(self) -> None:
        self.alice.send_json({"message": "hi", "room": "#CHAT"})
        self.assertEqual(
            self.carol.received(),
            [
                {
                    "id": 1,
                    "timestamp": self.hall.timestamp(),
                    "nickname": "alice",
                    "message": "hi",
                }
            ],
        )

    def test_joining_again_answers_the_welcome_without_replay(self) -> None:
        self.join(self.alice, "#rust")
        self.alice.send_json({"message": "one", "room": "#rust"})
        self.alice.received()
        again = self.join(self.alice, "#rust", since=0)
        self.assertEqual([f["event"] for f in again], ["welcome"])
        self.assertEqual(again[0]["last_id"], 1)

    def test_replay_then_welcome_for_a_later_joiner(self) -> None:
        self.join(self.alice, "#rust")
        for text in ("one", "two", "three"):
            self.alice.send_json({"message": text, "room": "#rust"})
        frames = self.join(self.bob, "#rust", since=1)
        self.assertEqual(
            [(f.get("id"), f.get("history"), f.get("room")) for f in frames],
            [(2, True, "#rust"), (3, True, "#rust"), (None, None, "#rust")],
        )
        self.assertEqual((frames[-1]["last_id"], frames[-1]["first_id"]), (3, 1))

    def test_part_tells_the_room_and_the_leaver(self) -> None:
        self.join(self.alice, "#rust")
        self.join(self.bob, "#rust")
        self.alice.received()
        self.bob.send_json({"command": "part", "room": "#rust"})
        for client in (self.alice, self.bob):
            left = notices(client.received(), "leave")
            self.assertEqual(
                [(n["user"], n["reason"], n["room"]) for n in left], [("bob", "part", "#rust")]
            )
        self.assertEqual(self.carol.received(), [])
        self.bob.send_json({"message": "hi", "room": "#rust"})
        self.assertEqual(notices(self.bob.received(), "error")[0]["code"], "not-in-room")

    def test_parting_the_default_room_keeps_the_connection(self) -> None:
        self.bob.send_json({"command": "part"})
        self.assertEqual(
            [
                (n["user"], n["reason"], "room" in n)
                for n in notices(self.carol.received(), "leave")
            ],
            [("bob", "part", False)],
        )
        self.alice.send_json({"message": "hi"})
        self.assertEqual([f for f in self.bob.received() if "id" in f], [])
        self.bob.send_json({"command": "who"})
        self.assertEqual(notices(self.bob.received(), "error")[0]["code"], "not-in-room")
        self.assertFalse(self.bob.closed)
        self.alice.send_json({"command": "who"})
        self.assertEqual(notices(self.alice.received(), "who")[0]["users"], ["alice", "carol"])
        self.join(self.bob, "#chat")
        self.assertEqual(notices(self.carol.received(), "join")[0]["user"], "bob")

    def test_who_of_a_room(self) -> None:
        self.join(self.alice, "#rust")
        self.alice.send_json({"command": "who", "room": "#rust"})
        who = notices(self.alice.received(), "who")[0]
        self.assertEqual((who["room"], who["users"]), ("#rust", ["alice"]))

    def test_bad_rooms(self) -> None:
        for packet, code in [
            ({"command": "join", "room": "rust"}, "bad-room"),
            ({"command": "join", "room": "#"}, "bad-room"),
            ({"command": "join", "room": "#a b"}, "bad-room"),
            ({"command": "join", "room": "#a,b"}, "bad-room"),
            ({"command": "join", "room": "#" + "x" * 33}, "bad-room"),
            ({"command": "join", "room": 7}, "malformed"),
            ({"command": "join", "room": None}, "malformed"),
            ({"command": "join", "room": "#rust", "since": -1}, "malformed"),
            ({"message": "hi", "room": "#nowhere"}, "not-in-room"),
            ({"command": "part", "room": "#nowhere"}, "not-in-room"),
            ({"command": "who", "room": "#nowhere"}, "not-in-room"),
            ({"command": "topic", "room": "#nowhere", "topic": "x"}, "not-in-room"),
            ({"command": "history", "room": "#nowhere"}, "not-in-room"),
            ({"command": "dance"}, "unknown-command"),
        ]:
            self.alice.send_json(packet)
            self.assertEqual(notices(self.alice.received(), "error")[0]["code"], code, packet)
        self.join(self.alice, "##linux")
        self.assertEqual(self.join(self.alice, "#ｓerver")[-1]["room"], "#server")

    def test_leaving_the_server_leaves_every_room_once(self) -> None:
        for room in ("#a", "#b"):
            self.join(self.alice, room)
            self.join(self.bob, room)
        self.alice.received()
        self.bob.send("BYE")
        left = notices(self.alice.received(), "leave")
        self.assertEqual(
            [(n["user"], n["reason"], n.get("room")) for n in left],
            [("bob", "bye", None), ("bob", "bye", "#a"), ("bob", "bye", "#b")],
        )
        self.assertEqual(
            [(n["user"], n.get("room")) for n in notices(self.carol.received(), "leave")],
            [("bob", None)],
        )

    def test_dropped_member_leaves_every_room(self) -> None:
        self.join(self.alice, "#a")
        self.join(self.bob, "#a")
        self.alice.received()
        self.bob.drop()
        left = notices(self.alice.received(), "leave")
        self.assertEqual(
            [(n["reason"], n.get("room")) for n in left],
            [("disconnected", None), ("disconnected", "#a")],
        )


class RoomLifeTests(SynchronousTestCase):
    """Rooms come and go; a room that stores something stays, its store closed."""

    def setUp(self) -> None:
        self.stores = MemoryRoomStores()
        self.hall, self.clock, _ = make_room(room_stores=self.stores)
        self.alice = joined(self.hall, "alice", 1)

    def rooms(self) -> list[dict[str, Any]]:
        self.alice.send_json({"command": "rooms"})
        listed: list[dict[str, Any]] = notices(self.alice.received(), "rooms")[0]["rooms"]
        return listed

    def join(self, room: str) -> None:
        self.alice.send_json({"command": "join", "room": room})

    def test_rooms_lists_every_room_sorted_by_key(self) -> None:
        for room in ("#Zeta", "#alpha", "#Beta"):
            self.join(room)
        self.assertEqual(
            self.rooms(),
            [
                {"room": "#alpha", "users": 1, "topic": ""},
                {"room": "#Beta", "users": 1, "topic": ""},
                {"room": "#chat", "users": 1, "topic": ""},
                {"room": "#Zeta", "users": 1, "topic": ""},
            ],
        )

    def test_an_empty_room_storing_nothing_ceases_to_exist(self) -> None:
        self.join("#gone")
        self.alice.send_json({"command": "part", "room": "#gone"})
        self.assertEqual([r["room"] for r in self.rooms()], ["#chat"])
        self.assertNotIn("#gone", self.stores.names)

    def test_a_room_with_messages_stays_and_closes_its_store(self) -> None:
        self.join("#kept")
        self.alice.send_json({"message": "hello", "room": "#kept"})
        self.assertEqual(self.stores.opened, 1)
        self.alice.send_json({"command": "part", "room": "#kept"})
        self.assertEqual(self.stores.opened, 0)
        self.assertEqual(self.rooms()[1], {"room": "#kept", "users": 0, "topic": ""})
        self.alice.received()
        self.join("#kept")
        self.assertEqual(self.alice.received()[-1]["last_id"], 1)
        self.alice.send_json({"message": "again", "room": "#kept"})
        self.assertEqual(self.alice.received()[-1]["id"], 2)

    def test_a_join_while_the_store_closes_waits_for_it(self) -> None:
        self.join("#slow")
        self.alice.send_json({"message": "kept", "room": "#slow"})
        closing: Deferred[None] = Deferred()
        self.stores.histories["#slow"].close = lambda: closing  # type: ignore[method-assign]
        self.alice.send_json({"command": "part", "room": "#slow"})
        self.alice.received()
        self.join("#slow")
        self.assertEqual(self.alice.received(), [])
        closing.callback(None)
        frames = self.alice.received()
        self.assertEqual([f.get("id") for f in frames], [1, None])
        self.assertEqual((frames[-1]["event"], frames[-1]["last_id"]), ("welcome", 1))

    def test_known_rooms_exist_after_a_restart(self) -> None:
        self.join("#kept")
        self.alice.send_json({"message": "hello", "room": "#kept"})
        self.alice.send_json({"command": "topic", "room": "#chat", "topic": "the lobby"})
        hall, _, _ = make_room(room_stores=self.stores)
        alice = joined(hall, "alice", 1)
        alice.send_json({"command": "rooms"})
        self.assertEqual(
            notices(alice.received(), "rooms")[0]["rooms"],
            [
                {"room": "#chat", "users": 1, "topic": "the lobby"},
                {"room": "#kept", "users": 0, "topic": ""},
            ],
        )

    def test_limits(self) -> None:
        hall, _, _ = make_room(max_rooms=3, max_rooms_per_member=2)
        alice, bob, carol = (joined(hall, name, n) for n, name in enumerate(["a", "b", "c"]))
        alice.send_json({"command": "join", "room": "#one"})
        alice.send_json({"command": "join", "room": "#two"})  # a third room for alice
        self.assertEqual(notices(alice.received(), "error")[0]["code"], "too-many-rooms")
        bob.send_json({"command": "join", "room": "#two"})
        self.assertEqual(notices(bob.received(), "welcome")[0]["room"], "#two")
        carol.send_json({"command": "join", "room": "#three"})  # a fourth room
        self.assertEqual(notices(carol.received(), "error")[0]["code"], "too-many-rooms")
        carol.send_json({"command": "join", "room": "#one"})
        self.assertEqual(notices(carol.received(), "welcome")[0]["room"], "#one")

    def test_join_and_part_count_against_the_rate_limit(self) -> None:
        hall, _, _ = make_room(rate=1, burst=2)
        alice = joined(hall, "alice", 1)
        for room in ("#a", "#b", "#c"):
            alice.send_json({"command": "join", "room": room})
        error = notices(alice.received(), "error")[0]
        self.assertEqual(error["code"], "rate-limited")

    def test_a_store_that_cannot_open_answers_unavailable(self) -> None:
        self.stores.fail = True
        self.join("#broken")
        self.assertEqual(notices(self.alice.received(), "error")[0]["code"], "unavailable")
        self.assertEqual([r["room"] for r in self.rooms()], ["#chat"])

    def test_without_room_stores_only_the_default_room_is_served(self) -> None:
        hall = Hall(RoomConfig(), MemoryHistory(), self.clock)
        alice = joined(hall, "alice", 1)
        alice.send_json({"command": "join", "room": "#rust"})
        error = notices(alice.received(), "error")[0]
        self.assertEqual(error["code"], "unavailable")
        self.assertIn("not shared across nodes", error["message"])
        alice.send_json({"message": "still here"})
        self.assertEqual(alice.received()[0]["message"], "still here")


class HistoryAndTopicTests(SynchronousTestCase):
    """The history and topic commands."""

    def setUp(self) -> None:
        self.stores = MemoryRoomStores()
        self.hall, _, _ = make_room(room_stores=self.stores, rate=0)
        self.alice = joined(self.hall, "alice", 1)
        self.bob = joined(self.hall, "bob", 2)
        for client in (self.alice, self.bob):
            client.send_json({"command": "join", "room": "#rust"})
        for n in range(1, 121):
            self.alice.send_json({"message": f"m{n}", "room": "#rust"})
        self.alice.received()
        self.bob.received()

    def history(self, **fields: Any) -> list[Any]:
        self.alice.send_json({"command": "history", "room": "#rust", **fields})
        return self.alice.received()

    def test_before_since_and_neither(self) -> None:
        for fields, ids in [
            ({"before": 100, "limit": 3}, [97, 98, 99]),
            ({"since": 5, "limit": 2}, [6, 7]),
            ({"limit": 2}, [119, 120]),
            ({"before": 3}, [1, 2]),
            ({}, list(range(71, 121))),
        ]:
            frames = self.history(**fields)
            self.assertEqual([f["id"] for f in frames[:-1]], ids, fields)
            self.assertTrue(all(f["history"] and f["room"] == "#rust" for f in frames[:-1]))
            summary = frames[-1]
            self.assertEqual(
                (summary["event"], summary["room"], summary["count"], summary["first_id"]),
                ("history", "#rust", len(ids), 1),
            )

    def test_bad_combinations_are_malformed(self) -> None:
        for fields in [
            {"before": 5, "since": 1},
            {"limit": 0},
            {"limit": 101},
            {"limit": "5"},
            {"before": 1.5},
            {"since": True},
        ]:
            frames = self.history(**fields)
            self.assertEqual(notices(frames, "error")[0]["code"], "malformed", fields)

    def test_topic_reaches_the_room_and_is_kept(self) -> None:
        self.alice.send_json({"command": "topic", "room": "#rust", "topic": "crabs"})
        for client in (self.alice, self.bob):
            topic = notices(client.received(), "topic")[0]
            self.assertEqual(
                (topic["room"], topic["topic"], topic["user"]), ("#rust", "crabs", "alice")
            )
        self.assertEqual(self.stores.topics[self.hall.registry.rooms["#rust"].key], "crabs")
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.assertEqual(self.bob.received()[0]["topic"], "crabs")

    def test_bad_topics(self) -> None:
        for topic, code in [
            ("x" * 391, "too-long"),
            ("é" * 196, "too-long"),
            ("a\nb", "control-chars"),
            (5, "malformed"),
        ]:
            self.alice.send_json({"command": "topic", "room": "#rust", "topic": topic})
            self.assertEqual(notices(self.alice.received(), "error")[0]["code"], code, topic)
        self.alice.send_json({"command": "topic", "room": "#rust", "topic": "x" * 390})
        self.assertEqual(notices(self.alice.received(), "topic")[0]["topic"], "x" * 390)


class FanOutTests(SynchronousTestCase):
    """One write per member per turn, whatever its rooms."""

    def test_a_member_of_several_rooms_gets_one_write_per_turn(self) -> None:
        hall, _, _ = make_room()
        alice = joined(hall, "alice", 1)
        bob = joined(hall, "bob", 2)
        for room in ("#a", "#b", "#c"):
            for client in (alice, bob):
                client.send_json({"command": "join", "room": room})
        alice.received()
        bob.received()
        writes: list[bytes] = []
        write = bob.transport.write

        def counting(data: bytes) -> None:
            writes.append(data)
            write(data)

        bob.transport.write = counting  # type: ignore[method-assign]
        alice.send_json({"message": "lobby"})
        for room in ("#a", "#b", "#c"):
            alice.send_json({"message": f"in {room}", "room": room})
        frames = bob.received()
        self.assertEqual(len(writes), 1)
        self.assertEqual(
            [(f.get("room"), f["message"]) for f in frames],
            [(None, "lobby"), ("#a", "in #a"), ("#b", "in #b"), ("#c", "in #c")],
        )


class SlowReplayHistory(MemoryHistory):
    """A store whose replays answer only when the test says."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[Deferred[list[Stored]]] = []

    def recent(self, count: int) -> Deferred[list[Stored]]:
        held: Deferred[list[Stored]] = Deferred()
        self.held.append(held)
        return held


class EntranceOrderTests(SynchronousTestCase):
    """A room's entrance never overtakes an earlier one that its store answers later."""

    def test_a_room_joined_before_the_ready_replay_comes_after_it(self) -> None:
        history = SlowReplayHistory()
        hall, _, _ = make_room(history=history)
        alice = FakeClient(hall)
        alice.received()
        alice.send("alice")
        alice.send_json({"command": "join", "room": "#rust"})
        self.assertEqual(alice.received(), [])
        history.held[0].callback([])
        frames = alice.received()
        self.assertEqual(
            [f if isinstance(f, str) else (f["event"], f.get("room")) for f in frames],
            ["READY", ("welcome", None), ("welcome", "#rust")],
        )


class ResumeTests(SynchronousTestCase):
    """A resume-token takeover keeps every room."""

    def test_takeover_keeps_rooms(self) -> None:
        hall, _, _ = make_room()
        old = FakeClient(hall, port=1)
        token = old.join("alice")[-1]["resume_token"]
        watcher = joined(hall, "bob", 2)
        for client in (old, watcher):
            client.send_json({"command": "join", "room": "#rust"})
        old.send_json({"message": "before", "room": "#rust"})
        watcher.received()
        new = FakeClient(hall, port=3)
        new.received()
        new.send_json({"nickname": "alice", "since": 0, "token": token})
        frames = new.received()
        self.assertEqual(frames[0], "READY")
        self.assertEqual(
            [(f["event"], f.get("room")) for f in frames[1:]],
            [("welcome", None), ("welcome", "#rust")],
        )
        self.assertEqual(frames[-1]["users"], ["alice", "bob"])
        self.assertTrue(old.closed)
        self.assertEqual(watcher.received(), [])
        new.send_json({"message": "after", "room": "#rust"})
        self.assertEqual(watcher.received()[0]["message"], "after")
