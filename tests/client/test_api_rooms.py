"""The client API's rooms on StringTransports: requests, events, and the rejoin after a drop."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from chatproto.client.api import ChatError, History, RoomInfo, Welcome
from chatproto.client.rooms import MAX_HELD
from tests.client.fakes import Wire, chat, notice, welcome
from tests.client.test_api import RecordingClient, joined_client


def in_rust(wire: Wire, client: RecordingClient, *, last_id: int = 2) -> Welcome:
    """Join #rust (its replay: ids 1 and 2 by bob); return the welcome."""
    joining = client.join("#rust")
    assert wire.sent() == [{"command": "join", "room": "#rust"}]
    wire.server(
        chat(1, "bob", "one", room="#rust", history=True),
        chat(2, "bob", "two", room="#rust", history=True),
        welcome(last_id=last_id, first_id=1, users=["bob", "bot"], room="#rust", topic="crabs"),
    )
    joined: Welcome = SynchronousTestCase().successResultOf(joining)
    return joined


def rust_messages(events: list[tuple[Any, ...]]) -> list[int]:
    """The ids of the #rust messages among C{events}."""
    return [event[1] for event in events if event[0] == "message" and event[-1] == "#rust"]


class RoomClient(RecordingClient):
    """Records messages with their room (last)."""

    def message_received(self, message: Any) -> None:
        self.events.append(("message", message.id, message.text, message.history, message.room))

    def joined(self, welcome: Welcome) -> None:
        self.events.append(("joined", welcome.room, welcome.topic))

    def rejoined(self, welcome: Welcome) -> None:
        self.events.append(("rejoined", welcome.room))


def room_client() -> tuple[RoomClient, Wire]:
    """A client on the server (default room, last id 0), in no other room yet."""
    client = RoomClient()
    wire = Wire(client, client.clock)
    wire.join(users=("alice", "bot"))
    client.taken()
    return client, wire


class RoomRequestTests(SynchronousTestCase):
    """Each room request sends its command and fires with the server's answer."""

    def test_join_replays_then_welcomes_with_room_and_topic(self) -> None:
        client, wire = room_client()
        joined = in_rust(wire, client)
        self.assertEqual(
            (joined.room, joined.topic, joined.users.names), ("#rust", "crabs", ["bob", "bot"])
        )
        self.assertEqual(
            client.taken(),
            [
                ("message", 1, "one", True, "#rust"),
                ("message", 2, "two", True, "#rust"),
                ("joined", "#rust", "crabs"),
            ],
        )
        self.assertEqual(client.rooms_joined, [None, "#rust"])
        self.assertEqual((client.last_id_in("#RUST"), client.topic("#rust")), (2, "crabs"))

    def test_join_with_since_asks_after_it_and_drops_what_is_older(self) -> None:
        client, wire = room_client()
        client.join("#rust", since=5)
        self.assertEqual(wire.sent(), [{"command": "join", "room": "#rust", "since": 5}])
        wire.server(
            chat(5, "bob", "seen", room="#rust", history=True),
            chat(6, "bob", "new", room="#rust", history=True),
            welcome(last_id=6, first_id=1, room="#rust"),
        )
        self.assertEqual(rust_messages(client.taken()), [6])

    def test_a_refused_join_fails_with_the_code_and_is_not_remembered(self) -> None:
        client, wire = room_client()
        joining = client.join("#no way")
        wire.server(notice("error", "bad room name", code="bad-room"))
        self.assertEqual(self.failureResultOf(joining, ChatError).value.code, "bad-room")
        self.assertEqual(client.rooms_joined, [None])

    def test_send_to_a_room_and_its_receipt(self) -> None:
        client, wire = room_client()
        in_rust(wire, client)
        client.taken()
        sent = client.send("hi", room="#rust")
        self.assertEqual(wire.sent(), [{"message": "hi", "room": "#rust"}])
        wire.server(chat(3, "bot", "hi", room="#rust"))
        receipt = self.successResultOf(sent)
        self.assertEqual((receipt.id, receipt.room, receipt.own), (3, "#rust", True))
        client.send("BYE", room="#rust")
        self.assertEqual(wire.sent(), [{"message": "BYE", "room": "#rust"}])
        with self.assertRaises(ValueError):
            client.send("BYE")

    def test_not_in_room_fails_the_send(self) -> None:
        client, wire = room_client()
        sent = client.send("hi", room="#elsewhere")
        wire.server(notice("error", "You are not in #elsewhere.", code="not-in-room"))
        self.assertEqual(self.failureResultOf(sent, ChatError).value.code, "not-in-room")

    def test_history_gathers_its_records_apart_from_the_events(self) -> None:
        client, wire = room_client()
        in_rust(wire, client)
        client.taken()
        asked = client.history("#rust", before=3, limit=2)
        self.assertEqual(
            wire.sent(), [{"command": "history", "room": "#rust", "before": 3, "limit": 2}]
        )
        wire.server(
            chat(1, "bob", "one", room="#rust", history=True),
            chat(9, "carol", "live", room="#rust"),
            chat(2, "bob", "two", room="#rust", history=True),
            notice("history", room="#rust", count=2, first_id=1),
        )
        records = self.successResultOf(asked)
        self.assertIsInstance(records, History)
        self.assertEqual(([m.id for m in records], records.first_id), ([1, 2], 1))
        self.assertEqual(rust_messages(client.taken()), [9])

    def test_history_arguments_are_checked(self) -> None:
        client, _ = room_client()
        with self.assertRaises(ValueError):
            client.history("#rust", before=3, since=1)
        with self.assertRaises(ValueError):
            client.history("#rust", limit=101)

    def test_rooms_lists_them(self) -> None:
        client, wire = room_client()
        listed = client.rooms()
        self.assertEqual(wire.sent(), [{"command": "rooms"}])
        rooms = [
            {"room": "#chat", "users": 3, "topic": ""},
            {"room": "#rust", "users": 1, "topic": "crabs"},
            "junk",
        ]
        wire.server(notice("rooms", rooms=rooms))
        self.assertEqual(
            self.successResultOf(listed),
            [RoomInfo("#chat", 3, ""), RoomInfo("#rust", 1, "crabs")],
        )

    def test_set_topic_is_answered_by_our_own_topic_notice(self) -> None:
        client, wire = room_client()
        in_rust(wire, client)
        client.taken()
        setting = client.set_topic("#rust", "oxidised")
        self.assertEqual(wire.sent(), [{"command": "topic", "room": "#rust", "topic": "oxidised"}])
        wire.server(notice("topic", room="#rust", topic="someone else's", user="bob"))
        self.assertNoResult(setting)
        wire.server(notice("topic", room="#rust", topic="oxidised", user="bot"))
        self.successResultOf(setting)
        self.assertEqual(
            client.taken(),
            [("topic", "#rust", "someone else's", "bob"), ("topic", "#rust", "oxidised", "bot")],
        )
        self.assertEqual(client.topic("#rust"), "oxidised")

    def test_part_is_answered_by_our_leave_and_the_room_goes_quiet(self) -> None:
        client, wire = room_client()
        in_rust(wire, client)
        client.taken()
        parting = client.part("#rust")
        self.assertEqual(wire.sent(), [{"command": "part", "room": "#rust"}])
        wire.server(notice("leave", room="#rust", user="bob", reason="part"))
        self.assertNoResult(parting)
        wire.server(notice("leave", room="#rust", user="bot", reason="part"))
        self.successResultOf(parting)
        wire.server(chat(7, "bob", "after", room="#rust"))
        self.assertEqual(
            client.taken(),
            [("user_left", "bob", "part", "#rust"), ("user_left", "bot", "part", "#rust")],
        )
        self.assertEqual(client.rooms_joined, [None])

    def test_who_of_a_room_and_joins_in_it(self) -> None:
        client, wire = room_client()
        in_rust(wire, client)
        client.taken()
        asked = client.who("#rust")
        self.assertEqual(wire.sent(), [{"command": "who", "room": "#rust"}])
        wire.server(notice("join", room="#rust", user="carol"))
        wire.server(notice("who", room="#rust", users=["bob", "bot", "carol"], count=3))
        self.assertEqual(self.successResultOf(asked).names, ["bob", "bot", "carol"])
        self.assertEqual(client.taken(), [("user_joined", "carol", "#rust")])

    def test_the_default_room_joined_by_its_name_is_the_default_room(self) -> None:
        client, wire = room_client()
        wire.server(chat(1, "alice", "hello"))
        joining = client.join("#chat")
        self.assertEqual(wire.sent(), [{"command": "join", "room": "#chat"}])
        wire.server(welcome(last_id=1, users=["alice", "bot"]))
        self.assertIsNone(self.successResultOf(joining).room)
        self.assertEqual(client.rooms_joined, [None])
        self.assertIsNone(client.room_key("#CHAT"))
        client.send("hi", room="#chat")
        self.assertEqual(wire.sent(), [{"message": "hi", "room": "#chat"}])


class RoomRejoinTests(SynchronousTestCase):
    """After a drop every room comes back with what was missed, once, in id order."""

    def setUp(self) -> None:
        self.client, self.wire = room_client()
        in_rust(self.wire, self.client)
        self.client.taken()

    def reconnect_to_default(self, *frames: dict[str, Any]) -> None:
        sent = self.wire.reconnect()
        self.assertEqual(sent, [{"nickname": "bot", "since": 0}])
        self.wire.server("READY", welcome(last_id=0), *frames)
        self.assertEqual(
            [event[0] for event in self.client.taken() if event[0] != "message"],
            ["disconnected", "reconnected", "rejoined"],
        )

    def test_each_room_is_rejoined_with_since_after_a_restart(self) -> None:
        self.reconnect_to_default()
        self.assertEqual(self.wire.sent(), [{"command": "who"}])
        self.wire.server(notice("who", users=["bot"], count=1))
        self.assertEqual(self.wire.sent(), [{"command": "join", "room": "#rust", "since": 2}])
        self.wire.server(
            chat(2, "bob", "two", room="#rust", history=True),
            chat(3, "bob", "three", room="#rust", history=True),
            welcome(last_id=3, first_id=1, room="#rust"),
            chat(4, "bob", "four", room="#rust"),
        )
        events = self.client.taken()
        self.assertEqual(rust_messages(events), [3, 4])
        self.assertIn(("rejoined", "#rust"), events)
        self.assertEqual(self.client.last_id_in("#rust"), 4)

    def test_a_room_past_its_retention_reports_the_gap(self) -> None:
        self.reconnect_to_default()
        self.wire.server(notice("who", users=["bot"], count=1))
        self.wire.sent()
        self.wire.server(
            chat(10, "bob", "ten", room="#rust", history=True),
            welcome(last_id=10, first_id=10, room="#rust"),
        )
        self.assertEqual(
            self.client.taken(),
            [
                ("message", 10, "ten", True, "#rust"),
                ("missed", 3, 9, "#rust"),
                ("rejoined", "#rust"),
            ],
        )

    def test_after_a_takeover_a_kept_room_catches_up_with_history(self) -> None:
        self.reconnect_to_default(
            welcome(last_id=4, first_id=1, room="#rust"),
            chat(5, "bob", "live five", room="#rust"),
        )
        self.assertEqual(self.wire.sent(), [{"command": "who"}])
        self.wire.server(notice("who", users=["bot"], count=1))
        self.assertEqual(
            self.wire.sent(), [{"command": "history", "room": "#rust", "since": 2, "limit": 100}]
        )
        self.wire.server(
            chat(6, "bob", "live six", room="#rust"),
            chat(3, "bob", "three", room="#rust", history=True),
            chat(4, "bob", "four", room="#rust", history=True),
            chat(5, "bob", "live five", room="#rust", history=True),
            notice("history", room="#rust", count=3, first_id=1),
        )
        events = self.client.taken()
        self.assertEqual(rust_messages(events), [3, 4, 5, 6])
        self.assertEqual(events[-1], ("rejoined", "#rust"))

    def test_a_catch_up_of_more_than_a_page_asks_again(self) -> None:
        self.reconnect_to_default(welcome(last_id=200, first_id=1, room="#rust"))
        self.wire.server(notice("who", users=["bot"], count=1))
        self.wire.sent()
        page = [chat(n, "bob", f"m{n}", room="#rust", history=True) for n in range(3, 103)]
        self.wire.server(*page, notice("history", room="#rust", count=100, first_id=1))
        self.assertEqual(
            self.wire.sent(), [{"command": "history", "room": "#rust", "since": 102, "limit": 100}]
        )
        self.wire.server(notice("history", room="#rust", count=0, first_id=1))
        events = self.client.taken()
        self.assertEqual(rust_messages(events), list(range(3, 103)))
        self.assertEqual(events[-1], ("rejoined", "#rust"))

    def test_too_much_live_traffic_during_a_catch_up_ends_it_with_the_gap_reported(self) -> None:
        self.reconnect_to_default(welcome(last_id=4, first_id=1, room="#rust"))
        live = [chat(n, "bob", "live", room="#rust") for n in range(10, 11 + MAX_HELD)]
        self.wire.server(*live)
        events = self.client.taken()
        self.assertEqual(events[0], ("missed", 3, 9, "#rust"))
        self.assertEqual(rust_messages(events), list(range(10, 11 + MAX_HELD)))

    def test_a_message_in_flight_at_the_drop_is_not_sent_twice_when_the_replay_has_it(
        self,
    ) -> None:
        sending = self.client.send("mine", room="#rust")
        self.assertEqual(self.wire.sent(), [{"message": "mine", "room": "#rust"}])
        self.reconnect_to_default()
        self.assertEqual(self.wire.sent(), [{"command": "who"}])
        self.wire.server(notice("who", users=["bot"], count=1))
        self.assertEqual(self.wire.sent(), [{"command": "join", "room": "#rust", "since": 2}])
        self.wire.server(
            chat(3, "bot", "mine", room="#rust", history=True),
            welcome(last_id=3, first_id=1, room="#rust"),
        )
        self.assertEqual(self.successResultOf(sending).id, 3)
        self.assertEqual(self.wire.sent(), [])

    def test_a_message_in_flight_at_the_drop_goes_after_the_rejoin(self) -> None:
        self.client.send("mine", room="#rust")
        self.wire.sent()
        self.reconnect_to_default()
        self.wire.server(notice("who", users=["bot"], count=1))
        self.wire.sent()
        self.wire.server(welcome(last_id=2, first_id=1, room="#rust"))
        self.assertEqual(self.wire.sent(), [{"message": "mine", "room": "#rust"}])

    def test_a_room_the_restarted_server_refuses_is_reported_and_forgotten(self) -> None:
        self.reconnect_to_default()
        self.wire.server(notice("who", users=["bot"], count=1))
        self.wire.sent()
        self.wire.server(notice("error", "Too many rooms.", code="too-many-rooms"))
        self.assertEqual(self.client.taken(), [("error", "too-many-rooms")])
        self.assertEqual(self.client.rooms_joined, [None])

    def test_a_parted_default_room_is_parted_again(self) -> None:
        self.client.part(None)
        self.wire.server(notice("leave", user="bot", reason="part"))
        self.wire.sent()
        self.client.taken()
        self.reconnect_to_default(chat(1, "alice", "default", history=True))
        self.assertEqual(self.wire.sent(), [{"command": "who"}])
        self.wire.server(notice("who", users=["bot"], count=1))
        self.assertEqual(
            self.wire.sent(),
            [
                {"command": "join", "room": "#rust", "since": 2},
            ],
        )
        self.wire.server(welcome(last_id=2, first_id=1, room="#rust"))
        self.assertEqual(self.wire.sent(), [{"command": "part"}])
        events = self.client.taken()
        self.assertNotIn("default", [event[2] for event in events if event[0] == "message"])


class JoinedClientTests(SynchronousTestCase):
    """Old clients' view is unchanged: a welcome without a room is the default room."""

    def test_messages_without_room_are_the_default_rooms(self) -> None:
        client, wire = joined_client()
        wire.server(chat(1, "alice", "hi"))
        self.assertEqual(client.taken(), [("message", 1, "alice", "hi", False, False)])
        self.assertEqual(client.rooms_joined, [None])
