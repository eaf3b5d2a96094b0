"""The room's records as IRC lines, and IRC text as the room's (docs/protocol.md section 10)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.msgids import parse_msgid, private_msgid
from chatproto.doors.irc.fitting import LINE_BYTES, pack_words, split_to_fit, text_budget
from chatproto.doors.irc.mapping import (
    CtcpNotCarried,
    chat_lines,
    join_line,
    leave_line,
    replay_lines,
    text_for_room,
)
from chatproto.doors.irc.message import Message, parse_line, serialise
from tests.irc.helpers import wire

NONE: frozenset[str] = frozenset()
TIME = "2026-11-24T03:30:44.123Z"


def record(message: str, nickname: str = "alice", **extra: Any) -> dict[str, Any]:
    """A chat record as the core hands it out."""
    return {"id": 42, "timestamp": TIME, "nickname": nickname, "message": message, **extra}


class InboundTextTests(SynchronousTestCase):
    """What an IRC client's text means in the room."""

    def test_plain_text_is_unchanged(self) -> None:
        self.assertEqual(text_for_room("alice", "hello * there"), "hello * there")

    def test_action(self) -> None:
        self.assertEqual(text_for_room("alice", "\x01ACTION waves\x01"), "* alice waves")
        self.assertEqual(text_for_room("alice", "\x01ACTION waves"), "* alice waves")
        self.assertEqual(text_for_room("alice", "\x01action waves\x01"), "* alice waves")
        self.assertEqual(text_for_room("alice", "\x01ACTION\x01"), "* alice")

    def test_other_ctcp(self) -> None:
        with self.assertRaises(CtcpNotCarried) as caught:
            text_for_room("alice", "\x01VERSION\x01")
        self.assertEqual(caught.exception.name, "VERSION")


class ChatLinesTests(SynchronousTestCase):
    """One record becomes one or more PRIVMSGs."""

    def test_public(self) -> None:
        self.assertEqual(
            wire(chat_lines(record("hello"), "#chat", NONE)),
            [":alice!alice@chatproto PRIVMSG #chat :hello"],
        )

    def test_private(self) -> None:
        self.assertEqual(
            wire(chat_lines(record("psst", to="bob"), "#chat", NONE)),
            [":alice!alice@chatproto PRIVMSG bob :psst"],
        )

    def test_one_privmsg_per_line(self) -> None:
        self.assertEqual(
            wire(chat_lines(record("one\ntwo\n\n  three"), "#chat", NONE)),
            [
                ":alice!alice@chatproto PRIVMSG #chat :one",
                ":alice!alice@chatproto PRIVMSG #chat :two",
                ":alice!alice@chatproto PRIVMSG #chat :  three",
            ],
        )

    def test_action(self) -> None:
        self.assertEqual(
            wire(chat_lines(record("* alice waves\n* bob waves\n* alice"), "#chat", NONE)),
            [
                ":alice!alice@chatproto PRIVMSG #chat :\x01ACTION waves\x01",
                ":alice!alice@chatproto PRIVMSG #chat :* bob waves",
                ":alice!alice@chatproto PRIVMSG #chat :\x01ACTION\x01",
            ],
        )

    def test_action_round_trip(self) -> None:
        (message,) = chat_lines(record(text_for_room("alice", "\x01ACTION waves\x01")), "#c", NONE)
        self.assertEqual(message.params[-1], "\x01ACTION waves\x01")

    def test_server_time(self) -> None:
        self.assertEqual(
            wire(chat_lines(record("hi"), "#chat", frozenset({"server-time"}))),
            [f"@time={TIME} :alice!alice@chatproto PRIVMSG #chat :hi"],
        )

    def test_msgid_with_message_tags(self) -> None:
        tags = frozenset({"message-tags", "server-time"})
        self.assertEqual(
            wire(chat_lines(record("hi"), "#chat", tags)),
            [f"@time={TIME};msgid=I2NoYXQ.42 :alice!alice@chatproto PRIVMSG #chat :hi"],
        )
        private_record = {"timestamp": TIME, "nickname": "alice", "message": "psst", "to": "bob"}
        (private,) = chat_lines(private_record, "#chat", tags)
        self.assertEqual(private.tags["msgid"], private_msgid(TIME, "alice", "bob", "psst"))

    def test_each_line_of_a_record_has_its_own_msgid(self) -> None:
        messages = chat_lines(record("one\ntwo\nthree"), "#chat", frozenset({"message-tags"}))
        msgids = [message.tags["msgid"] for message in messages]
        self.assertEqual(msgids, ["I2NoYXQ.42", "I2NoYXQ.42.1", "I2NoYXQ.42.2"])
        self.assertEqual({parse_msgid(msgid) for msgid in msgids}, {("#chat", 42)})

    def test_long_lines_are_split_within_512_bytes(self) -> None:
        nickname = "𝔵" * 32  # 128 bytes of UTF-8, twice in the source
        text = "é" * 300 + " " + "word " * 200 + "🦊" * 200
        messages = chat_lines(record(text, nickname), "#chat", frozenset({"server-time"}))
        self.assertGreater(len(messages), 5)
        for message in messages:
            self.assertLessEqual(len(serialise(replace(message, tags={}))), LINE_BYTES)
        self.assertEqual("".join(message.params[-1] for message in messages), text)

    def test_long_actions_stay_actions(self) -> None:
        messages = chat_lines(record("* alice " + "ab " * 400), "#chat", NONE)
        self.assertGreater(len(messages), 1)
        for message in messages:
            self.assertRegex(message.params[-1], "^\x01ACTION [ab ]+\x01$")
            self.assertLessEqual(len(serialise(message)), LINE_BYTES)


class ReplayTests(SynchronousTestCase):
    """History: @time with server-time, a chathistory batch with batch, else [HH:MM]."""

    records = [
        record("first", history=True),
        record("* bob waves", "bob", history=True, timestamp="2026-11-24T13:05:00.000Z"),
    ]

    def test_without_capabilities(self) -> None:
        self.assertEqual(
            wire(replay_lines(self.records, "irc.test", "#chat", NONE)),
            [
                ":alice!alice@chatproto PRIVMSG #chat :[03:30] first",
                ":bob!bob@chatproto PRIVMSG #chat :\x01ACTION [13:05] waves\x01",
            ],
        )

    def test_server_time(self) -> None:
        self.assertEqual(
            wire(replay_lines(self.records[:1], "irc.test", "#chat", frozenset({"server-time"}))),
            [f"@time={TIME} :alice!alice@chatproto PRIVMSG #chat :first"],
        )

    def test_batch_and_server_time(self) -> None:
        capabilities = frozenset({"batch", "server-time"})
        self.assertEqual(
            wire(replay_lines(self.records, "irc.test", "#chat", capabilities, "r1")),
            [
                ":irc.test BATCH +r1 chathistory #chat",
                f"@batch=r1;time={TIME} :alice!alice@chatproto PRIVMSG #chat :first",
                "@batch=r1;time=2026-11-24T13:05:00.000Z"
                " :bob!bob@chatproto PRIVMSG #chat :\x01ACTION waves\x01",
                ":irc.test BATCH -r1",
            ],
        )

    def test_replayed_lines_carry_their_msgid(self) -> None:
        capabilities = frozenset({"batch", "message-tags", "server-time"})
        lines = wire(replay_lines(self.records[:1], "irc.test", "#chat", capabilities, "r1"))
        self.assertEqual(
            lines[1],
            f"@batch=r1;time={TIME};msgid=I2NoYXQ.42 :alice!alice@chatproto PRIVMSG #chat :first",
        )

    def test_batch_without_server_time_keeps_the_clock(self) -> None:
        lines = wire(replay_lines(self.records[:1], "irc.test", "#chat", frozenset({"batch"})))
        self.assertEqual(
            lines[1], "@batch=history :alice!alice@chatproto PRIVMSG #chat :[03:30] first"
        )

    def test_nothing_to_replay(self) -> None:
        self.assertEqual(list(replay_lines([], "irc.test", "#chat", frozenset({"batch"}))), [])

    def test_live_lines_get_no_clock(self) -> None:
        (message,) = chat_lines(record("first", history=True), "#chat", NONE)
        self.assertEqual(message.params[-1], "first")


class PresenceTests(SynchronousTestCase):
    """join and leave notices of any door become JOIN and QUIT."""

    def test_join(self) -> None:
        event = {"event": "join", "user": "bob", "timestamp": TIME}
        self.assertEqual(wire([join_line(event, "#chat", NONE)]), [":bob!bob@chatproto JOIN #chat"])
        self.assertEqual(
            wire([join_line(event, "#chat", frozenset({"server-time"}))]),
            [f"@time={TIME} :bob!bob@chatproto JOIN #chat"],
        )

    def test_leave(self) -> None:
        lines = [
            wire([leave_line({"event": "leave", "user": "bob", "reason": reason}, NONE)])[0]
            for reason in ["bye", "disconnected", "slow", "flood", "new-reason"]
        ]
        self.assertEqual(
            lines,
            [
                ":bob!bob@chatproto QUIT :Quit",
                ":bob!bob@chatproto QUIT :Connection lost",
                ":bob!bob@chatproto QUIT :Too slow to read (send queue full)",
                ":bob!bob@chatproto QUIT :Excess flood",
                ":bob!bob@chatproto QUIT :new-reason",
            ],
        )


class FittingTests(SynchronousTestCase):
    """Splitting text and packing words into 512-byte lines."""

    def test_budget(self) -> None:
        template = Message("PRIVMSG", ("#chat",), "a!a@chatproto")
        # ":a!a@chatproto PRIVMSG #chat :" is 30 bytes, CR LF 2 more
        self.assertEqual(text_budget(template), LINE_BYTES - 32)
        self.assertEqual(text_budget(Message("X", tags={"time": "t" * 100})), LINE_BYTES - 5)

    def test_split_prefers_spaces(self) -> None:
        self.assertEqual(split_to_fit("aaa bbb ccc", 8), ["aaa bbb ", "ccc"])
        self.assertEqual(split_to_fit("abcdefghij", 4), ["abcd", "efgh", "ij"])
        self.assertEqual(split_to_fit("", 10), [""])

    def test_split_never_cuts_a_character(self) -> None:
        self.assertEqual(split_to_fit("ééé", 5), ["éé", "é"])
        self.assertEqual(split_to_fit("🦊🦊", 7), ["🦊", "🦊"])

    def test_budget_too_small(self) -> None:
        with self.assertRaises(ValueError):
            split_to_fit("x", 3)

    @given(st.text(), st.integers(4, 600))
    def test_split_property(self, text: str, budget: int) -> None:
        pieces = split_to_fit(text, budget)
        self.assertEqual("".join(pieces), text)
        for piece in pieces:
            self.assertLessEqual(len(piece.encode("utf-8")), budget)
        self.assertTrue(all(pieces[:-1]))

    def test_pack_words(self) -> None:
        self.assertEqual(pack_words(["ab", "cd", "ef", "g"], 5), ["ab cd", "ef g"])
        self.assertEqual(pack_words(["toolong", "a"], 3), ["toolong", "a"])
        self.assertEqual(pack_words([], 10), [])


class WireSafetyTests(SynchronousTestCase):
    """Whatever the text, a record gives whole lines that parse back to it."""

    @given(st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1))
    def test_any_text(self, text: str) -> None:
        messages = chat_lines(record(text), "#chat", NONE)
        for message in messages:
            line = serialise(message)
            self.assertLessEqual(len(line), LINE_BYTES)
            parsed = parse_line(line.removesuffix(b"\r\n"))
            self.assertEqual((parsed.source, parsed.params), (message.source, message.params))
