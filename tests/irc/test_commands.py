"""Commands of a registered client that the door answers alone, and chat it hands on."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.commands import LocalCommands, Say, read_chat
from tests.irc.helpers import REPLIES, line, wire

NOW = "2026-11-24T03:30:44.123Z"


def answer(text: str, me: str = "alice") -> list[str]:
    """The wire lines answering C{text} from C{me}."""
    commands = LocalCommands(REPLIES)
    message = line(text)
    assert commands.handles(message.command), text
    return wire(commands.answer(me, message, NOW))


class LocalCommandTests(SynchronousTestCase):
    """A user's MODE, TIME, MOTD, PING, NICK, USER, PASS, TAGMSG (channels: test_channels)."""

    def test_room_commands_are_not_local(self) -> None:
        commands = LocalCommands(REPLIES)
        for command in [
            "PRIVMSG",
            "NOTICE",
            "QUIT",
            "JOIN",
            "PART",
            "TOPIC",
            "NAMES",
            "LIST",
            "WHO",
            "WHOIS",
            "FOO",
        ]:
            self.assertFalse(commands.handles(command), command)

    def test_user_mode(self) -> None:
        self.assertEqual(answer("MODE alice"), [":irc.test 221 alice +i"])
        # irssi sends +i on connecting and waits for the answer a change gets.
        self.assertEqual(answer("MODE ALICE +i"), [":alice!alice@chatproto MODE alice :+i"])
        self.assertEqual(answer("MODE alice i"), [":alice!alice@chatproto MODE alice :+i"])
        self.assertEqual(answer("MODE alice -i"), [])  # every member stays invisible
        for change in ["+w", "+iw", "-x", "+", "+i-i"]:
            self.assertEqual(
                answer(f"MODE alice {change}"), [":irc.test 501 alice :Unknown MODE flag"], change
            )
        self.assertEqual(
            answer("MODE bob"), [":irc.test 502 alice :Can't view or change modes for other users"]
        )

    def test_time_motd_ping(self) -> None:
        self.assertEqual(
            answer("TIME"),
            [":irc.test 391 alice irc.test :Tuesday November 24 2026 -- 03:30:44 +00:00"],
        )
        self.assertEqual([text.split()[1] for text in answer("MOTD")], ["375", "372", "376"])
        self.assertEqual(answer("PING x"), [":irc.test PONG irc.test x"])
        self.assertEqual(answer("PING"), [":irc.test 409 alice :No origin specified"])
        self.assertEqual(answer("PONG irc.test"), [])

    def test_registration_commands_again(self) -> None:
        self.assertEqual(answer("USER a 0 * :A"), [":irc.test 462 alice :You may not reregister"])
        self.assertEqual(answer("PASS x"), [":irc.test 462 alice :You may not reregister"])
        self.assertEqual(answer("NICK Alice"), [])
        self.assertEqual(
            answer("NICK bob"),
            [":irc.test 447 alice :Nickname changes are not supported: reconnect instead"],
        )
        self.assertEqual(answer("NICK"), [":irc.test 431 alice :No nickname given"])

    def test_tagmsg_is_dropped(self) -> None:
        self.assertEqual(answer("@+typing=active TAGMSG #chat"), [])


class ReadChatTests(SynchronousTestCase):
    """PRIVMSG and NOTICE as messages for the room."""

    def test_public_and_private(self) -> None:
        self.assertEqual(
            read_chat(REPLIES, "alice", line("PRIVMSG #Chat :hi all")),
            ([Say("PRIVMSG", "hi all", room="#Chat")], []),
        )
        self.assertEqual(
            read_chat(REPLIES, "alice", line("PRIVMSG bob :psst")),
            ([Say("PRIVMSG", "psst", "bob")], []),
        )

    def test_notice_is_chat_too(self) -> None:
        self.assertEqual(
            read_chat(REPLIES, "alice", line("NOTICE #chat :fyi")),
            ([Say("NOTICE", "fyi", room="#chat")], []),
        )

    def test_action(self) -> None:
        says, _ = read_chat(REPLIES, "alice", line("PRIVMSG #chat :\x01ACTION waves\x01"))
        self.assertEqual(says, [Say("PRIVMSG", "* alice waves", room="#chat")])

    def test_several_targets(self) -> None:
        says, errors = read_chat(REPLIES, "alice", line("PRIVMSG #chat,bob,#x :hi"))
        self.assertEqual(
            says,
            [
                Say("PRIVMSG", "hi", room="#chat"),
                Say("PRIVMSG", "hi", "bob"),
                Say("PRIVMSG", "hi", room="#x"),
            ],
        )
        self.assertEqual(errors, [])  # the hall checks the rooms

    def test_errors(self) -> None:
        cases = {
            "PRIVMSG": [":irc.test 411 alice :No recipient given (PRIVMSG)"],
            "PRIVMSG #chat": [":irc.test 412 alice :No text to send"],
            "PRIVMSG #chat :": [":irc.test 412 alice :No text to send"],
            "PRIVMSG bob :\x01VERSION\x01": [
                ":irc.test NOTICE alice :CTCP VERSION is not carried to the room"
            ],
        }
        for text, expected in cases.items():
            says, errors = read_chat(REPLIES, "alice", line(text))
            self.assertEqual((says, wire(errors)), ([], expected), text)

    def test_a_notice_never_gets_an_automatic_reply(self) -> None:
        for text in ["NOTICE", "NOTICE bob", "NOTICE bob :\x01VERSION x\x01"]:
            self.assertEqual(read_chat(REPLIES, "alice", line(text)), ([], []), text)
