"""Notices that list users stay within one packet."""

from __future__ import annotations

import json

from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.notices import users_notice
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
