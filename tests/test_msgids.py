"""Message ids as one text (chatproto.core.msgids): unique across rooms, read back by the server."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.msgids import msgid_for, parse_msgid, private_msgid

STAMP = "2026-11-24T03:30:44.123Z"
#: What a tag value may hold without escaping, and short: no space, ; \ CR LF NUL.
TAG_SAFE = re.compile(r"[A-Za-z0-9_.~-]{1,200}")
ROOM_KEYS = st.text(min_size=1, max_size=33).map(lambda text: "#" + text)
IDS = st.integers(min_value=0, max_value=2**63)


class StoredMessageTests(SynchronousTestCase):
    """A stored message's msgid names its room and id."""

    def test_example(self) -> None:
        self.assertEqual(msgid_for("#chat", 42), "I2NoYXQ.42")
        self.assertEqual(msgid_for("#chat", 42, part=2), "I2NoYXQ.42.2")
        self.assertEqual(parse_msgid("I2NoYXQ.42"), ("#chat", 42))
        self.assertEqual(parse_msgid("I2NoYXQ.42.2"), ("#chat", 42))

    @given(ROOM_KEYS, IDS, st.integers(min_value=0, max_value=1000))
    def test_round_trip(self, room_key: str, message_id: int, part: int) -> None:
        text = msgid_for(room_key, message_id, part)
        self.assertRegex(text, TAG_SAFE)
        self.assertEqual(parse_msgid(text), (room_key, message_id))

    @given(ROOM_KEYS, ROOM_KEYS, IDS, IDS)
    def test_unique_across_rooms(self, one: str, other: str, id_one: int, id_other: int) -> None:
        if (one, id_one) != (other, id_other):
            self.assertNotEqual(msgid_for(one, id_one), msgid_for(other, id_other))

    def test_names_nothing(self) -> None:
        for text in [
            "",
            "I2NoYXQ",
            "I2NoYXQ.",
            "I2NoYXQ.x",
            "I2NoYXQ.-1",
            "I2NoYXQ.042",
            "I2NoYXQ.4.0",
            "I2NoYXQ.4.2.1",
            "I2NoYXQ=.4",
            ".4",
            "!!!.4",
            "_w.4",  # base64url of a byte that is not UTF-8
            "I2NoYXQ.٤٢",  # Arabic-Indic digits
            private_msgid(STAMP, "alice", "bob", "hi"),
        ]:
            self.assertIsNone(parse_msgid(text), text)

    @given(st.text(max_size=300))
    def test_any_text_parses_or_names_nothing(self, text: str) -> None:
        found = parse_msgid(text)  # a client's text: never an exception
        if found is not None:
            written = msgid_for(*found)
            self.assertTrue(text.startswith(written))
            self.assertRegex(text[len(written) :], r"\A(\.[1-9][0-9]*)?\Z")  # a piece


class PrivateMessageTests(SynchronousTestCase):
    """A private message's msgid is derived from the message: the same everywhere."""

    def test_same_message_same_msgid(self) -> None:
        one = private_msgid(STAMP, "alice", "bob", "hi")
        self.assertEqual(one, private_msgid(STAMP, "alice", "bob", "hi"))
        self.assertRegex(one, TAG_SAFE)
        self.assertTrue(one.startswith("~"))
        self.assertEqual(private_msgid(STAMP, "alice", "bob", "hi", part=1), one + ".1")

    def test_any_difference_another_msgid(self) -> None:
        ids = {
            private_msgid(STAMP, "alice", "bob", "hi"),
            private_msgid("2026-11-24T03:30:44.124Z", "alice", "bob", "hi"),
            private_msgid(STAMP, "bob", "alice", "hi"),
            private_msgid(STAMP, "alice", "carol", "hi"),
            private_msgid(STAMP, "alice", "bob", "hi!"),
        }
        self.assertEqual(len(ids), 5)
