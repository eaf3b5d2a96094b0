"""The server's numerics and notices on the IRC door (docs/protocol.md section 10)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.fitting import LINE_BYTES
from chatproto.doors.irc.identity import MemberIdentity, ServerInfo
from chatproto.doors.irc.message import Message, serialise
from chatproto.doors.irc.replies import (
    ERR_ALREADYREGISTERED,
    ERR_CHANOPRIVSNEEDED,
    ERR_INPUTTOOLONG,
    ERR_NEEDMOREPARAMS,
    ERR_NICKCHANGEREFUSED,
    ERR_NICKNAMEINUSE,
    ERR_NOSUCHNICK,
    ERR_NOTEXTTOSEND,
    ERR_UMODEUNKNOWNFLAG,
    ERR_UNKNOWNCOMMAND,
    ERR_USERSDONTMATCH,
    RPL_ENDOFBANLIST,
    Replies,
    RoomTopic,
)
from tests.irc.helpers import ISUPPORT_TO_ALICE, REPLIES, SERVER, wire


def assert_fits(test: SynchronousTestCase, messages: list[Message]) -> None:
    """Every message is one IRC line of at most 512 bytes."""
    for message in messages:
        test.assertLessEqual(len(serialise(message)), LINE_BYTES, message)


class WelcomeTests(SynchronousTestCase):
    """001-005 then the MOTD."""

    def test_welcome(self) -> None:
        self.assertEqual(
            wire(REPLIES.welcome("alice")),
            [
                ":irc.test 001 alice :Welcome to the chatproto network, alice!alice@chatproto",
                ":irc.test 002 alice :Your host is irc.test, running version chatproto-0.1.0",
                ":irc.test 003 alice :This server was created 2026-11-24T03:00:00.000Z",
                ":irc.test 004 alice irc.test chatproto-0.1.0 i bmnoqtv",
                *ISUPPORT_TO_ALICE,
                ":irc.test 375 alice :- irc.test Message of the day - ",
                ":irc.test 372 alice :- #chat is this server's room for everyone on it (IRC,"
                " browser and terminal alike); /join #name joins or makes another, /list shows"
                " them, /msg <nick> reaches one person.",
                ":irc.test 376 alice :End of /MOTD command.",
            ],
        )

    def test_the_motd_names_the_room(self) -> None:
        replies = Replies(ServerInfo("irc.test", "then", channel="#lounge"))
        self.assertIn("- #lounge is this server's room", wire(replies.motd("alice"))[1])

    def test_an_operators_motd_replaces_it_line_by_line_each_cut_to_fit(self) -> None:
        motd = "Welcome to the school chat.\n" + "Be kind. " * 100
        replies = Replies(SERVER, lambda: motd)
        lines = wire(replies.motd("alice"))
        self.assertEqual(lines[1], ":irc.test 372 alice :- Welcome to the school chat.")
        self.assertTrue(all(line.startswith(":irc.test 372 alice :") for line in lines[2:-1]))
        self.assertGreater(len(lines), 4)
        said = "".join(line.removeprefix(":irc.test 372 alice :") for line in lines[2:-1])
        self.assertEqual(said, "- " + "Be kind. " * 100)
        assert_fits(self, replies.motd("𝔵" * 32))

    def test_chanlimit_is_the_rooms_a_member_may_be_in(self) -> None:
        for limit, token in [(3, "CHANLIMIT=#:3"), (0, "CHANLIMIT=#:")]:
            replies = Replies(ServerInfo("irc.test", "then", max_rooms_per_member=limit))
            self.assertIn(f" {token} ", wire(replies.welcome("alice"))[4])

    def test_longest_nickname_fits(self) -> None:
        assert_fits(self, REPLIES.welcome("𝔵" * 32))


class ChannelTests(SynchronousTestCase):
    """The join burst, the topic, the names."""

    def test_join_burst(self) -> None:
        arrival = REPLIES.arrival("alice", "#chat", RoomTopic(""))
        self.assertEqual(
            wire([*arrival, *REPLIES.names("alice", "#chat", ["bob", "alice"])]),
            [
                ":alice!alice@chatproto JOIN #chat",
                ":irc.test 353 alice = #chat :bob alice",
                ":irc.test 366 alice #chat :End of /NAMES list",
            ],
        )
        topic = RoomTopic("crabs", "bob", "1800000000")
        self.assertEqual(
            wire(REPLIES.arrival("alice", "#rust", topic))[1:3],
            [
                ":irc.test 332 alice #rust :crabs",
                ":irc.test 333 alice #rust bob 1800000000",
            ],
        )

    def test_topic(self) -> None:
        self.assertEqual(
            wire(REPLIES.topic("alice", "#room", RoomTopic("Hello all"))),
            [":irc.test 332 alice #room :Hello all"],
        )
        self.assertEqual(
            wire(REPLIES.topic("alice", "#room", RoomTopic(""))),
            [":irc.test 331 alice #room :No topic is set"],
        )

    def test_list(self) -> None:
        self.assertEqual(
            wire([REPLIES.listed("alice", "#rust", 2, "crabs"), REPLIES.listed("a", "#x", 1, "")]),
            [":irc.test 322 alice #rust 2 :crabs", ":irc.test 322 a #x 1 :"],
        )

    def test_names_fill_several_lines(self) -> None:
        members = [f"member{n:04d}" for n in range(1000)]
        names = REPLIES.names("alice", "#chat", members)
        assert_fits(self, names)
        listed = [name for message in names[:-1] for name in message.params[-1].split(" ")]
        self.assertEqual(listed, members)
        self.assertGreater(len(names), 20)
        self.assertEqual(wire(names[-1:]), [":irc.test 366 alice #chat :End of /NAMES list"])

    def test_modes(self) -> None:
        self.assertEqual(
            wire(
                [
                    REPLIES.user_modes("alice"),
                    REPLIES.numeric(RPL_ENDOFBANLIST, "alice", REPLIES.server.channel),
                    REPLIES.numeric(ERR_CHANOPRIVSNEEDED, "alice", REPLIES.server.channel),
                    REPLIES.numeric(ERR_UMODEUNKNOWNFLAG, "alice"),
                    REPLIES.numeric(ERR_USERSDONTMATCH, "alice"),
                ]
            ),
            [
                ":irc.test 221 alice +i",
                ":irc.test 368 alice #chat :End of channel ban list",
                ":irc.test 482 alice #chat :You're not channel operator",
                ":irc.test 501 alice :Unknown MODE flag",
                ":irc.test 502 alice :Can't view or change modes for other users",
            ],
        )


class WhoTests(SynchronousTestCase):
    """WHO (352 then 315 echoing the mask) and WHOIS (311 then 318, or 401 then 318)."""

    def test_who(self) -> None:
        members = [
            MemberIdentity.from_user("alice", "al", "Alice Liddell"),
            MemberIdentity.of_nickname("bob"),
        ]
        self.assertEqual(
            wire(REPLIES.who("alice", "#chat", members)),
            [
                ":irc.test 352 alice #chat ~al chatproto irc.test alice H :0 Alice Liddell",
                ":irc.test 352 alice #chat bob chatproto irc.test bob H :0 bob",
                ":irc.test 315 alice #chat :End of WHO list",
            ],
        )
        self.assertEqual(
            wire(REPLIES.who("alice", "b*", members[1:], of_channel=False)),
            [
                ":irc.test 352 alice * bob chatproto irc.test bob H :0 bob",
                ":irc.test 315 alice b* :End of WHO list",
            ],
        )
        self.assertEqual(
            wire(REPLIES.who("alice", "nobody", [], of_channel=False)),
            [":irc.test 315 alice nobody :End of WHO list"],
        )

    def test_whois(self) -> None:
        self.assertEqual(
            wire(REPLIES.whois("alice", "BOB", MemberIdentity.of_nickname("bob"))),
            [
                ":irc.test 311 alice bob bob chatproto * :bob",
                ":irc.test 318 alice bob :End of /WHOIS list",
            ],
        )
        self.assertEqual(
            wire(REPLIES.whois("alice", "carol", MemberIdentity.from_user("carol", "c", "C C"))),
            [
                ":irc.test 311 alice carol ~c chatproto * :C C",
                ":irc.test 318 alice carol :End of /WHOIS list",
            ],
        )
        self.assertEqual(
            wire(REPLIES.whois("alice", "carol", None)),
            [
                ":irc.test 401 alice carol :No such nick/channel",
                ":irc.test 318 alice carol :End of /WHOIS list",
            ],
        )


class SmallRepliesTests(SynchronousTestCase):
    """PING, TIME, notices, ERROR, FAIL."""

    def test_ping_and_pong(self) -> None:
        self.assertEqual(
            wire(
                [
                    REPLIES.answer_ping("alice", ("x",)),
                    REPLIES.answer_ping("alice", ()),
                    REPLIES.answer_ping("alice", ("",)),
                    REPLIES.ping("irc.test"),
                ]
            ),
            [
                ":irc.test PONG irc.test x",
                ":irc.test 409 alice :No origin specified",
                ":irc.test 409 alice :No origin specified",
                ":irc.test PING irc.test",
            ],
        )

    def test_time(self) -> None:
        self.assertEqual(
            wire([REPLIES.time("alice", "2026-11-24T03:30:44.123Z")]),
            [":irc.test 391 alice irc.test :Tuesday November 24 2026 -- 03:30:44 +00:00"],
        )

    def test_error_numerics(self) -> None:
        self.assertEqual(
            wire(
                [
                    REPLIES.numeric(ERR_NOSUCHNICK, "alice", "carol"),
                    REPLIES.no_such_channel("alice", "#other"),
                    REPLIES.numeric(ERR_NEEDMOREPARAMS, "alice", "USER"),
                    REPLIES.no_recipient("alice", "PRIVMSG"),
                    REPLIES.numeric(ERR_NOTEXTTOSEND, "alice"),
                    REPLIES.numeric(ERR_INPUTTOOLONG, "alice"),
                    REPLIES.numeric(ERR_UNKNOWNCOMMAND, "alice", "FOO"),
                    REPLIES.numeric(ERR_NICKNAMEINUSE, "*", "bob"),
                    REPLIES.numeric(ERR_NICKCHANGEREFUSED, "alice"),
                    REPLIES.numeric(ERR_ALREADYREGISTERED, "alice"),
                ]
            ),
            [
                ":irc.test 401 alice carol :No such nick/channel",
                ":irc.test 403 alice #other :No such channel",
                ":irc.test 461 alice USER :Not enough parameters",
                ":irc.test 411 alice :No recipient given (PRIVMSG)",
                ":irc.test 412 alice :No text to send",
                ":irc.test 417 alice :Input line was too long",
                ":irc.test 421 alice FOO :Unknown command",
                ":irc.test 433 * bob :Nickname is already in use",
                ":irc.test 447 alice :Nickname changes are not supported: reconnect instead",
                ":irc.test 462 alice :You may not reregister",
            ],
        )

    def test_invalid_utf8(self) -> None:
        self.assertEqual(
            wire([REPLIES.invalid_utf8("PRIVMSG")]),
            [
                ":irc.test FAIL PRIVMSG INVALID_UTF8"
                " :Message rejected, your IRC software MUST use UTF-8"
            ],
        )

    def test_closing_link(self) -> None:
        self.assertEqual(wire([REPLIES.closing_link()]), ["ERROR :Closing link"])

    def test_too_many_targets(self) -> None:
        self.assertEqual(
            wire([REPLIES.too_many_targets("alice", "NAMES", "#a,#b,#c,#d,#e")]),
            [
                ":irc.test 407 alice #a,#b,#c,#d,#e"
                " :Too many targets for NAMES (at most 4): nothing was done"
            ],
        )

    def test_own_mode_change(self) -> None:
        self.assertEqual(
            wire([REPLIES.user_modes_set("alice", "+i")]), [":alice!alice@chatproto MODE alice :+i"]
        )


class EchoTests(SynchronousTestCase):
    """What a reply echoes of a client's line is made safe: a client never breaks a reply
    line nor writes one of its own (issue 22)."""

    def test_text_loses_line_breakers(self) -> None:
        self.assertEqual(
            wire([REPLIES.pong("a\x00b\rc"), REPLIES.closing_link("Quit: bye\x00\r\n")]),
            [
                ":irc.test PONG irc.test a\ufffdb\ufffdc",
                "ERROR :Closing link (Quit: bye\ufffd\ufffd\ufffd)",
            ],
        )

    def test_a_word_that_cannot_stand_before_the_last_is_star(self) -> None:
        for target in ["a b", ":a", ""]:
            self.assertEqual(
                wire([REPLIES.numeric(ERR_NOSUCHNICK, "alice", target)]),
                [":irc.test 401 alice * :No such nick/channel"],
                target,
            )
        self.assertEqual(
            wire([REPLIES.numeric(ERR_NOSUCHNICK, "alice", "a\x00b")]),
            [":irc.test 401 alice a\ufffdb :No such nick/channel"],
        )

    def test_cap_replies_too(self) -> None:
        self.assertEqual(
            wire([REPLIES.cap("*", "NAK", "server-time\x00")]),
            [":irc.test CAP * NAK :server-time\ufffd"],
        )

    def test_shutdown_is_a_notice_then_error(self) -> None:
        shutdown = {"event": "shutdown", "message": "Server closing in 5 seconds", "grace": 5}
        self.assertEqual(
            wire([REPLIES.notice("alice", shutdown["message"]), REPLIES.closing_link()]),
            [":irc.test NOTICE alice :Server closing in 5 seconds", "ERROR :Closing link"],
        )


class CoreErrorTests(SynchronousTestCase):
    """Every error code of the core becomes a numeric or a server NOTICE."""

    def test_numeric_codes(self) -> None:
        self.assertEqual(
            wire(
                [
                    REPLIES.core_error("alice", "empty", "a message cannot be empty"),
                    REPLIES.core_error("alice", "no-such-user", "nobody", target="carol"),
                    REPLIES.core_error("alice", "unknown-command", "?", command="HELLO"),
                ]
            ),
            [
                ":irc.test 412 alice :No text to send",
                ":irc.test 401 alice carol :No such nick/channel",
                ":irc.test 421 alice HELLO :Unknown command",
            ],
        )

    def test_notice_codes(self) -> None:
        for code in [
            "malformed",
            "too-long",
            "control-chars",
            "rate-limited",
            "server-full",
            "unavailable",
            "a-code-added-later",
        ]:
            (text,) = wire([REPLIES.core_error("alice", code, "the detail")])
            self.assertEqual(text, f":irc.test NOTICE alice :PRIVMSG refused ({code}): the detail")


class ServerInfoTests(SynchronousTestCase):
    """Server names and channels that IRC can carry."""

    def test_bad_names(self) -> None:
        for name in ["", "two words", ":colon", "a!b", "a@b", "line\nbreak"]:
            with self.assertRaises(ValueError, msg=repr(name)):
                ServerInfo(name, "then")

    def test_bad_channels(self) -> None:
        for channel in ["chat", "#", "#a b", "#a,b", "#" + "x" * 50, "&chat"]:
            with self.assertRaises(ValueError, msg=repr(channel)):
                ServerInfo("irc.test", "then", channel=channel)

    def test_channel_comparison_folds_case(self) -> None:
        self.assertTrue(SERVER.is_channel("#CHAT"))
        self.assertTrue(SERVER.is_channel("#ｃhat"))
        self.assertFalse(SERVER.is_channel("#chat2"))
