"""Notices that list users or rooms stay within one packet."""

from __future__ import annotations

import json
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.notices import rooms_notice, users_notice
from chatproto.core.records import MAX_PACKET_BYTES, json_string


class UsersNoticeTests(SynchronousTestCase):
    """The users list is complete when it fits, else the longest prefix that fits."""

    def decode(self, data: bytes) -> dict[str, object]:
        self.assertLessEqual(len(data), MAX_PACKET_BYTES)
        packet = json.loads(data)
        assert isinstance(packet, dict)
        return packet

    def test_small_room_complete(self) -> None:
        names = ["alice", "Zoë", "李"]
        packet = self.decode(
            users_notice("t", "who", "3 online", [json_string(n) for n in names], last_id=4)
        )
        self.assertEqual(packet["users"], names)
        self.assertEqual(packet["last_id"], 4)
        self.assertNotIn("truncated", packet)

    def test_big_room_truncated(self) -> None:
        names = [f"{n:05d}" + "é" * 27 for n in range(5000)]
        packet = self.decode(users_notice("t", "welcome", "hi", [json_string(n) for n in names]))
        users = packet["users"]
        assert isinstance(users, list)
        self.assertEqual(users, names[: len(users)])
        self.assertGreater(len(users), 1000)
        self.assertEqual((packet["truncated"], packet["count"]), (True, 5000))
        one_more = users_notice(
            "t", "welcome", "hi", [json_string(n) for n in names[: len(users) + 1]]
        )
        self.assertTrue(self.decode(one_more).get("truncated"))


class RoomsNoticeTests(SynchronousTestCase):
    """The `rooms` list is complete when it fits, else the longest prefix that fits."""

    def decode(self, data: bytes) -> dict[str, Any]:
        self.assertLessEqual(len(data), MAX_PACKET_BYTES)
        packet = json.loads(data)
        assert isinstance(packet, dict)
        return packet

    def test_few_rooms_complete(self) -> None:
        rooms = [{"room": "#a", "users": 2, "topic": ""}, {"room": "#b", "users": 0, "topic": "x"}]
        packet = self.decode(rooms_notice("t", "2 rooms", rooms))
        self.assertEqual((packet["event"], packet["rooms"]), ("rooms", rooms))
        self.assertNotIn("truncated", packet)

    def test_a_thousand_long_topics_are_cut_to_one_packet(self) -> None:
        rooms = [{"room": f"#r{n:04d}", "users": 1, "topic": "t" * 390} for n in range(1000)]
        packet = self.decode(rooms_notice("t", "1000 rooms", rooms))
        listed = packet["rooms"]
        self.assertEqual(listed, rooms[: len(listed)])
        self.assertGreater(len(listed), 100)
        self.assertEqual((packet["truncated"], packet["count"]), (True, 1000))
