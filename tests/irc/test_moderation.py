"""Moderation over IRC (docs/protocol.md section 14), on fakes: KICK, MODE of a channel
(+o +v +b +q +t +m and the ban list), REDACT, the numerics of refusals, and what the
moderation of another door looks like on IRC.

alice (IRC) created #rust, so she operates it; carol (IRC) and bob (word packet) are
members of it.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.msgids import msgid_for
from chatproto.core.roomnames import room_key
from tests.fakes import FakeClient, MemoryRoomStores, make_room
from tests.irc.fakes import FakeIrcClient
from tests.moderation.helpers import RedactableHistory

REDACTION = ("draft/message-redaction", "message-tags", "echo-message")


class ModerationTests(SynchronousTestCase):
    """An operator and two members of #rust, on two doors."""

    def setUp(self) -> None:
        stores = MemoryRoomStores()
        self.rust = stores.histories[room_key("#rust")] = RedactableHistory()
        self.room, self.clock, _ = make_room(room_stores=stores, operators=frozenset({"root"}))
        self.alice = FakeIrcClient(self.room)
        self.alice.register("alice", *REDACTION)
        self.factory = self.alice.factory
        self.carol = FakeIrcClient(self.room, self.factory, host="203.0.113.7")
        self.carol.register("carol")
        self.bob = FakeClient(self.room)
        self.bob.join("bob")
        self.alice.send("JOIN #rust")
        self.carol.send("JOIN #rust")
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.settle()

    def settle(self) -> None:
        """Forget what everyone received so far."""
        self.alice.lines()
        self.carol.lines()
        self.bob.received()

    def bob_events(self) -> list[tuple[Any, ...]]:
        """What bob received: each notice's event, reason or action, and user."""
        return [
            (packet["event"], packet.get("reason") or packet.get("action"), packet.get("user"))
            for packet in self.bob.received()
        ]

    # KICK -----------------------------------------------------------------------

    def test_kick_with_a_comment_and_without(self) -> None:
        self.alice.send("KICK #rust bob :calm down")
        kick = ":alice!alice@chatproto KICK #rust bob :calm down"
        self.assertEqual(self.alice.lines(), [kick])
        self.assertEqual(self.carol.lines(), [kick])
        (leave,) = self.bob.received()
        self.assertEqual(
            (leave["reason"], leave["by"], leave["comment"]), ("kicked", "alice", "calm down")
        )
        self.alice.send("KICK #RUST carol")
        self.assertEqual(self.carol.lines(), [":alice!alice@chatproto KICK #rust carol :alice"])
        self.alice.lines()
        self.alice.send("NAMES #rust")
        self.assertEqual(self.alice.lines()[0], ":irc.test 353 alice = #rust :@alice")

    def test_kick_refused(self) -> None:
        FakeIrcClient(self.room, self.factory).register("dave")
        self.settle()
        self.carol.send("KICK #rust bob")
        self.assertEqual(
            self.carol.lines(), [":irc.test 482 carol #rust :You may not kick in #rust"]
        )
        self.alice.send("KICK #rust dave", "KICK #rust nobody", "KICK #nowhere bob", "KICK #rust")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 441 alice dave #rust :They aren't on that channel",
                ":irc.test 401 alice nobody :No such nick/channel",
                ":irc.test 403 alice #nowhere :No such channel",
                ":irc.test 461 alice KICK :Not enough parameters",
            ],
        )
        self.assertEqual(self.bob_events(), [])

    def test_a_refused_kick_looks_up_only_the_nickname_it_names(self) -> None:
        FakeIrcClient(self.room, self.factory).register("dave")
        self.settle()

        def everyone() -> list[bytes]:
            raise AssertionError("a refused KICK read every member's nickname")

        self.patch(self.room, "everyone", everyone)
        self.alice.send("KICK #rust DAVE", "KICK #rust nobody")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 441 alice DAVE #rust :They aren't on that channel",
                ":irc.test 401 alice nobody :No such nick/channel",
            ],
        )

    # MODE -----------------------------------------------------------------------

    def test_modes_of_the_room(self) -> None:
        self.carol.send("MODE #rust")
        self.assertEqual(
            self.carol.lines(),
            [":irc.test 324 carol #rust +n", ":irc.test 329 carol #rust 1800000000"],
        )
        self.alice.send("MODE #rust +tm")
        self.assertEqual(
            self.carol.lines(),
            [
                ":alice!alice@chatproto MODE #rust +t",
                ":alice!alice@chatproto MODE #rust +m",
            ],
        )
        self.carol.send("MODE #rust")
        self.assertEqual(self.carol.lines()[0], ":irc.test 324 carol #rust +mnt")
        self.assertEqual(
            self.bob_events(),
            [("moderation", "topic-lock", None), ("moderation", "moderated", None)],
        )

    def test_op_and_voice_show_in_names_and_who(self) -> None:
        self.alice.send("MODE #rust +o carol")
        op = ":alice!alice@chatproto MODE #rust +o carol"
        self.assertEqual(self.alice.lines(), [op])
        self.assertEqual(self.carol.lines(), [op])
        self.assertEqual(self.bob_events(), [("moderation", "op", "carol")])
        self.carol.send("MODE #rust +v bob")
        self.assertEqual(self.carol.lines(), [":carol!carol@chatproto MODE #rust +v bob"])
        self.alice.send("NAMES #rust", "WHO #rust")
        self.assertEqual(
            self.alice.lines(),
            [
                ":carol!carol@chatproto MODE #rust +v bob",
                ":irc.test 353 alice = #rust :@alice @carol +bob",
                ":irc.test 366 alice #rust :End of /NAMES list",
                ":irc.test 352 alice #rust ~alice chatproto irc.test alice H@ :0 alice",
                ":irc.test 352 alice #rust ~carol chatproto irc.test carol H@ :0 carol",
                ":irc.test 352 alice #rust bob chatproto irc.test bob H+ :0 bob",
                ":irc.test 315 alice #rust :End of WHO list",
            ],
        )
        self.alice.send("MODE #rust -o+v-v carol carol bob")
        self.assertEqual(
            self.carol.lines(),
            [
                ":alice!alice@chatproto MODE #rust -o carol",
                ":alice!alice@chatproto MODE #rust +v carol",
                ":alice!alice@chatproto MODE #rust -v bob",
            ],
        )

    def test_mode_refused(self) -> None:
        FakeIrcClient(self.room, self.factory).register("dave")
        self.settle()
        self.carol.send("MODE #rust +o carol")
        self.assertEqual(self.carol.lines(), [":irc.test 482 carol #rust :You may not op in #rust"])
        self.alice.send(
            "MODE #rust +o dave", "MODE #rust +o nobody", "MODE #nowhere +o bob", "MODE #rust +kio"
        )
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 441 alice dave #rust :They aren't on that channel",
                ":irc.test 401 alice nobody :No such nick/channel",
                ":irc.test 403 alice #nowhere :No such channel",
                ":irc.test 472 alice k :is unknown mode char to me",
                ":irc.test 472 alice i :is unknown mode char to me",
                ":irc.test 461 alice MODE :Not enough parameters",
            ],
        )

    def test_topic_lock(self) -> None:
        self.alice.send("MODE #rust +t")
        self.carol.lines()
        self.carol.send("TOPIC #rust :mine")
        self.assertEqual(
            self.carol.lines(), [":irc.test 482 carol #rust :The topic of #rust is locked"]
        )
        self.alice.send("TOPIC #rust :ours")
        self.assertEqual(self.carol.lines(), [":alice!alice@chatproto TOPIC #rust :ours"])

    def test_mute_and_moderated(self) -> None:
        self.alice.send("MODE #rust +q carol!*@*")
        self.assertEqual(self.carol.lines(), [":alice!alice@chatproto MODE #rust +q carol"])
        self.carol.send("PRIVMSG #rust :hello?")
        self.assertEqual(self.carol.lines(), [":irc.test 404 carol #rust :You are muted in #rust"])
        self.alice.send("MODE #rust -q carol", "MODE #rust +m")
        self.carol.lines()
        self.carol.send("PRIVMSG #rust :and now?")
        self.assertEqual(
            self.carol.lines(),
            [
                ":irc.test 404 carol #rust :#rust is moderated:"
                " only operators and voiced members speak"
            ],
        )
        self.alice.send("MODE #rust +v carol")
        self.carol.send("PRIVMSG #rust :voiced")
        self.assertEqual(self.bob.received()[-1]["message"], "voiced")
        self.assertTrue(
            self.alice.lines()[-1].endswith(" :carol!carol@chatproto PRIVMSG #rust :voiced")
        )

    # Bans -------------------------------------------------------------------------

    def test_ban_by_nickname_then_lifted(self) -> None:
        self.alice.send("MODE #rust +b bob!*@*")
        self.assertEqual(
            self.carol.lines(),
            [
                ":alice!alice@chatproto MODE #rust +b bob!*@*",
                ":alice!alice@chatproto KICK #rust bob :Banned",
            ],
        )
        self.assertEqual(
            self.bob_events(), [("moderation", "ban", None), ("leave", "banned", "bob")]
        )
        self.alice.lines()
        self.bob.send_json({"command": "join", "room": "#rust"})
        (refused,) = self.bob.received()
        self.assertEqual((refused["code"], refused["room"]), ("banned", "#rust"))
        self.alice.send("MODE #rust b")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 367 alice #rust bob!*@*",
                ":irc.test 368 alice #rust :End of channel ban list",
            ],
        )
        self.carol.send("MODE #rust +b")
        self.assertEqual(
            self.carol.lines(),
            [
                ":irc.test 368 carol #rust"
                " :End of channel ban list (only its operators see the bans)"
            ],
        )
        self.alice.send("MODE #rust -b bob!*@*")
        self.assertEqual(self.carol.lines(), [":alice!alice@chatproto MODE #rust -b bob!*@*"])
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.assertIn("welcome", [packet["event"] for packet in self.bob.received()])

    def test_ban_by_address_and_account_and_a_mask_the_room_cannot_match(self) -> None:
        self.alice.send("MODE #rust +b *!*@203.0.113.0/24")
        self.assertEqual(
            self.alice.lines(),
            [
                ":alice!alice@chatproto MODE #rust +b *!*@203.0.113.0/24",
                ":alice!alice@chatproto KICK #rust carol :Banned",
            ],
        )
        self.carol.lines()
        self.carol.send("JOIN #rust")
        self.assertEqual(
            self.carol.lines(), [":irc.test 474 carol #rust :You are banned from #rust"]
        )
        self.alice.send("MODE #rust +b-b $a:bob $a:bob", "MODE #rust +b ba*!*@*")
        self.assertEqual(
            self.alice.lines(),
            [
                ":alice!alice@chatproto MODE #rust +b $a:bob",
                ":alice!alice@chatproto MODE #rust -b $a:bob",
                ":irc.test 696 alice #rust b ba*!*@* :only nick!*@*, *!*@address (or CIDR"
                " block) and $a:account masks can be set",
            ],
        )

    def test_server_wide_ban_at_registration(self) -> None:
        self.bob.protocol.session.account = "root"  # logged in to an operator account
        self.bob.send_json({"command": "ban", "scope": "server", "mask": "mallory"})
        self.bob.received()
        mallory = FakeIrcClient(self.room, self.factory)
        mallory.send("NICK mallory", "USER m 0 * :M")
        self.assertEqual(
            mallory.lines(),
            [
                ":irc.test 465 mallory :You are banned from this server",
                "ERROR :Closing link (Banned)",
            ],
        )
        self.assertTrue(mallory.closed)

    def test_server_wide_ban_of_a_connected_client(self) -> None:
        self.bob.protocol.session.account = "root"
        self.bob.send_json({"command": "ban", "scope": "server", "mask": "203.0.113.0/24"})
        self.assertEqual(
            self.carol.lines(),
            [
                ":bob!bob@chatproto KICK #chat carol :Banned",
                ":bob!bob@chatproto KICK #rust carol :Banned",
                "ERROR :Closing link",
            ],
        )
        self.assertTrue(self.carol.closed)
        self.assertEqual(
            self.alice.lines(),
            [
                ":bob!bob@chatproto KICK #chat carol :Banned",
                ":bob!bob@chatproto KICK #rust carol :Banned",
            ],
        )

    def test_what_the_room_cannot_take(self) -> None:
        self.alice.send("KICK #rust bob :" + "x" * 201, "MODE #rust q", "MODE #rust -b nobody!*@*")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test NOTICE alice :KICK refused (too-long): a comment has at most 200 bytes",
                ":irc.test 461 alice MODE :Not enough parameters",
                ":alice!alice@chatproto MODE #rust -b nobody!*@*",  # to her alone
            ],
        )
        self.assertEqual((self.carol.lines(), self.bob.received()), ([], []))

    # REDACT -------------------------------------------------------------------------

    def test_redact(self) -> None:
        self.bob.send_json({"message": "oops", "room": "#rust"})
        self.settle()
        msgid = msgid_for("#rust", self.rust.last_id)
        self.carol.send(f"REDACT #rust {msgid}")
        self.assertEqual(
            self.carol.lines(),
            [f":irc.test FAIL REDACT REDACT_FORBIDDEN #rust {msgid} :You may not redact in #rust"],
        )
        self.alice.send(f"REDACT #rust {msgid} :spam")
        self.assertEqual(self.alice.lines(), [f":alice!alice@chatproto REDACT #rust {msgid} :spam"])
        self.assertEqual(self.carol.lines(), [])  # no draft/message-redaction
        (notice,) = self.bob.received()
        self.assertEqual((notice["event"], notice["id"], notice["by"]), ("redact", 1, "alice"))
        self.alice.send(
            f"REDACT #rust {msgid}", f"REDACT #chat {msgid}", "REDACT #nowhere x", "REDACT bob x"
        )
        self.assertEqual(
            self.alice.lines(),
            [
                f":irc.test FAIL REDACT UNKNOWN_MSGID #rust {msgid} :#rust keeps no message 1",
                f":irc.test FAIL REDACT UNKNOWN_MSGID #chat {msgid}"
                " :#chat has no message with that msgid",
                ":irc.test FAIL REDACT INVALID_TARGET #nowhere"
                " :Only messages of a channel that exists can be redacted",
                ":irc.test FAIL REDACT INVALID_TARGET bob"
                " :Only messages of a channel that exists can be redacted",
            ],
        )

    def redact_then_ping(self) -> tuple[str, Deferred[bool]]:
        """bob says something in #rust; alice redacts it, then pings: the msgid and the
        store's answer to the redaction, which the test gives."""
        self.bob.send_json({"message": "oops", "room": "#rust"})
        self.settle()
        msgid = msgid_for("#rust", self.rust.last_id)
        answers: list[Deferred[bool]] = []
        self.rust.answers = answers
        self.alice.send(f"REDACT #rust {msgid}", "PING :after")
        return msgid, answers[0]

    def test_lines_after_a_redaction_wait_for_the_store(self) -> None:
        msgid, answer = self.redact_then_ping()
        self.assertEqual(self.alice.lines(), [])
        answer.callback(True)
        self.assertEqual(
            self.alice.lines(),
            [
                f":alice!alice@chatproto REDACT #rust {msgid}",
                ":irc.test PONG irc.test after",
            ],
        )

    def test_a_redaction_that_fails_unexpectedly_is_answered(self) -> None:
        _, answer = self.redact_then_ping()
        answer.errback(RuntimeError("the disk is on fire"))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        lines = self.alice.lines()
        self.assertIn("REDACT refused (unavailable)", lines[0])
        self.assertEqual(lines[1], ":irc.test PONG irc.test after")

    # From another door ------------------------------------------------------------

    def test_a_packet_door_operator_seen_on_irc(self) -> None:
        self.bob.send_json({"command": "join", "room": "#bobs"})
        self.carol.send("JOIN #bobs")
        self.settle()
        for command in (
            {"command": "op", "user": "carol"},
            {"command": "deop", "user": "carol"},
            {"command": "voice", "user": "carol"},
            {"command": "mute", "user": "carol", "seconds": 60},
            {"command": "unmute", "user": "carol"},
            {"command": "topic-lock", "on": True},
            {"command": "moderated", "on": False},
            {"command": "ban", "mask": "198.51.100.0/24", "comment": "spam"},
            {"command": "kick", "user": "carol"},
        ):
            self.bob.send_json({**command, "room": "#bobs"})
        self.assertEqual(
            self.carol.lines(),
            [
                ":bob!bob@chatproto MODE #bobs +o carol",
                ":bob!bob@chatproto MODE #bobs -o carol",
                ":bob!bob@chatproto MODE #bobs +v carol",
                ":bob!bob@chatproto MODE #bobs +q carol",
                ":bob!bob@chatproto MODE #bobs -q carol",
                ":bob!bob@chatproto MODE #bobs +t",
                ":bob!bob@chatproto MODE #bobs -m",
                ":bob!bob@chatproto MODE #bobs +b *!*@198.51.100.0/24",
                ":bob!bob@chatproto KICK #bobs carol :bob",
            ],
        )

    def test_announce(self) -> None:
        self.bob.protocol.session.account = "root"
        self.bob.send_json({"command": "announce", "text": "restart at noon"})
        self.assertEqual(self.carol.lines(), [":irc.test NOTICE * :restart at noon"])
