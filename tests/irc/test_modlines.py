"""Moderation notices as IRC lines, whatever door the moderator used (docs/protocol.md
section 14), and the moderation numerics."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.msgids import msgid_for
from chatproto.doors.irc.modlines import moderation_lines
from chatproto.doors.irc.modreplies import ListEntry, ModerationReplies
from tests.irc.helpers import REPLIES, wire

NONE: frozenset[str] = frozenset()
REDACTION = frozenset({"draft/message-redaction"})
TIME = "2026-11-24T03:30:44.123Z"


def shown(capabilities: frozenset[str] = NONE, **packet: Any) -> list[str]:
    """The lines of C{packet} in #rust, as the wire shows them."""
    lines = moderation_lines({"timestamp": TIME, **packet}, "#rust", capabilities, "irc.test")
    assert lines is not None
    return wire(lines)


class ModeLineTests(SynchronousTestCase):
    """A `moderation` notice is a MODE from the moderator."""

    def test_each_action_is_a_mode(self) -> None:
        for action, argument, line in (
            ("op", {"user": "bob"}, "+o bob"),
            ("deop", {"user": "bob"}, "-o bob"),
            ("voice", {"user": "bob"}, "+v bob"),
            ("devoice", {"user": "bob"}, "-v bob"),
            ("mute", {"user": "bob", "seconds": 60}, "+q bob"),
            ("unmute", {"user": "bob"}, "-q bob"),
            ("ban", {"mask": "bob"}, "+b bob!*@*"),
            ("ban", {"mask": "203.0.113.0/24"}, "+b *!*@203.0.113.0/24"),
            ("unban", {"mask": "account:bob"}, "-b $a:bob"),
            ("topic-lock", {"on": True}, "+t"),
            ("topic-lock", {"on": False}, "-t"),
            ("moderated", {"on": True}, "+m"),
            ("moderated", {"on": False}, "-m"),
        ):
            self.assertEqual(
                shown(event="moderation", action=action, by="alice", message="", **argument),
                [f":alice!alice@chatproto MODE #rust {line}"],
            )

    def test_server_time(self) -> None:
        self.assertEqual(
            shown(frozenset({"server-time"}), event="moderation", action="op", by="a", user="b"),
            [f"@time={TIME} :a!a@chatproto MODE #rust +o b"],
        )

    def test_an_action_without_a_mode_is_a_server_notice(self) -> None:
        self.assertEqual(
            shown(
                event="moderation",
                action="ban",
                scope="server",
                by="alice",
                mask="bob",
                message="alice banned bob from the server",
            ),
            [":irc.test NOTICE * :alice banned bob from the server"],
        )


class RemovalTests(SynchronousTestCase):
    """Kicked or banned members leave as a KICK from the moderator."""

    def test_kick_with_and_without_a_comment(self) -> None:
        self.assertEqual(
            shown(event="leave", reason="kicked", user="bob", by="alice", comment="calm down"),
            [":alice!alice@chatproto KICK #rust bob :calm down"],
        )
        self.assertEqual(
            shown(event="leave", reason="kicked", user="bob", by="alice"),
            [":alice!alice@chatproto KICK #rust bob :alice"],
        )

    def test_banned(self) -> None:
        self.assertEqual(
            shown(event="leave", reason="banned", user="bob", by="alice"),
            [":alice!alice@chatproto KICK #rust bob :Banned"],
        )

    def test_a_long_comment_fits_one_line(self) -> None:
        (line,) = shown(event="leave", reason="kicked", user="bob", by="alice", comment="x" * 900)
        self.assertLessEqual(len(line.encode()) + 2, 512)

    def test_other_leaves_are_not_moderation(self) -> None:
        packet = {"event": "leave", "reason": "part", "user": "bob"}
        self.assertIsNone(moderation_lines(packet, "#rust", NONE, "irc.test"))


class RedactAndAnnounceTests(SynchronousTestCase):
    """REDACT to clients with the capability only; announcements from the server."""

    def test_redact(self) -> None:
        msgid = msgid_for("#rust", 7)
        self.assertEqual(
            shown(REDACTION, event="redact", id=7, by="alice"),
            [f":alice!alice@chatproto REDACT #rust {msgid}"],
        )
        self.assertEqual(
            shown(REDACTION, event="redact", id=7, by="alice", comment="spam"),
            [f":alice!alice@chatproto REDACT #rust {msgid} :spam"],
        )
        self.assertEqual(shown(event="redact", id=7, by="alice"), [])

    def test_announce(self) -> None:
        self.assertEqual(
            shown(event="announce", message="restart at noon"),
            [":irc.test NOTICE * :restart at noon"],
        )


class ModerationRepliesTests(SynchronousTestCase):
    """The moderation numerics."""

    def test_numerics(self) -> None:
        replies = ModerationReplies(REPLIES)
        self.assertEqual(
            wire(
                [
                    *replies.channel_modes("alice", "#rust", "+nt", "1800000000"),
                    *replies.ban_list(
                        "alice", "#rust", [ListEntry("bob!*@*", "carol", "1800000000")]
                    ),
                    *replies.mute_list("alice", "#rust", [ListEntry("dave")]),
                    replies.not_operator("alice", "#rust"),
                    replies.not_in_channel("alice", "bob", "#rust"),
                    replies.banned_from("alice", "#rust"),
                    replies.banned_from_server("alice"),
                    replies.unknown_mode("alice", "k"),
                    replies.invalid_mode_parameter("alice", "#rust", "b", "x*!*@*", "why"),
                    replies.redact_failed("UNKNOWN_MSGID", "No such message", "#rust", "m1"),
                ]
            ),
            [
                ":irc.test 324 alice #rust +nt",
                ":irc.test 329 alice #rust 1800000000",
                ":irc.test 367 alice #rust bob!*@* carol 1800000000",
                ":irc.test 368 alice #rust :End of channel ban list",
                ":irc.test 728 alice #rust q dave",
                ":irc.test 729 alice #rust q :End of channel mute list",
                ":irc.test 482 alice #rust :You're not channel operator",
                ":irc.test 441 alice bob #rust :They aren't on that channel",
                ":irc.test 474 alice #rust :Cannot join channel (+b)",
                ":irc.test 465 alice :You are banned from this server",
                ":irc.test 472 alice k :is unknown mode char to me",
                ":irc.test 696 alice #rust b x*!*@* :why",
                ":irc.test FAIL REDACT UNKNOWN_MSGID #rust m1 :No such message",
            ],
        )
