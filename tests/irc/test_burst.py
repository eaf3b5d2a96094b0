"""The registration burst rendered once per nickname length: the same bytes as building it."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.burst import WelcomeBurst
from chatproto.doors.irc.codec import wire
from chatproto.doors.irc.replies import Replies
from tests.irc.helpers import REPLIES, SERVER

#: Nicknames of different lengths and scripts, two of each length, and the longest.
NICKNAMES = ("alice", "bobby", "zoé", "Ωmega", "日本語", "𝔵" * 32, "[a]`^{}|_-", "x")


class WelcomeBurstTests(SynchronousTestCase):
    """L{WelcomeBurst.render} writes exactly what L{Replies.welcome} builds."""

    def setUp(self) -> None:
        self.motd = ""
        self.replies = Replies(SERVER, lambda: self.motd)
        self.burst = WelcomeBurst(self.replies)

    def assert_same_bytes(self, *nicknames: str) -> None:
        for nickname in nicknames:
            self.assertEqual(
                self.burst.render(nickname), wire(self.replies.welcome(nickname)), nickname
            )

    def test_every_nickname_gets_the_bytes_built_for_it(self) -> None:
        self.assert_same_bytes(*NICKNAMES, *NICKNAMES)

    def test_a_reloaded_motd_is_in_the_next_burst(self) -> None:
        self.assert_same_bytes(*NICKNAMES)
        self.motd = "Welcome to the school chat.\n" + "Be kind. " * 100
        self.assert_same_bytes(*NICKNAMES)
        self.assertIn(
            b":irc.test 372 alice :- Welcome to the school chat.\r\n", self.burst.render("alice")
        )
        self.motd = ""
        self.assert_same_bytes(*NICKNAMES)

    def test_a_motd_holding_the_stand_in_is_built_as_is(self) -> None:
        self.motd = "odd \x01 text"
        self.assert_same_bytes("alice", "alice")

    def test_a_nickname_holding_the_stand_in_gets_its_bytes(self) -> None:
        self.assert_same_bytes("a\x01", "\x01", "a\x01")

    def test_a_nickname_the_builder_refuses_is_refused(self) -> None:
        # Spaced, or ":"-led: never a member's nickname, and no burst is written for it.
        for nickname in ("a b", ":alice"):
            self.assertRaises(ValueError, self.replies.welcome, nickname)
            self.assertRaises(ValueError, self.burst.render, nickname)


class NamesWireTests(SynchronousTestCase):
    """L{Replies.names_wire} writes exactly what L{Replies.names} builds."""

    def assert_same_bytes(self, me: str, channel: str, members: list[str]) -> None:
        self.assertEqual(
            REPLIES.names_wire(me, channel, members), wire(REPLIES.names(me, channel, members))
        )

    def test_rooms_of_every_size_get_the_bytes_built_for_them(self) -> None:
        for count in (0, 1, 2, 50, 1000):
            members = [f"@op{count}", *(f"+user{n}" for n in range(count))]
            self.assert_same_bytes("alice", "#chat", members[:count])
            self.assert_same_bytes("𝔵" * 32, "#" + "r" * 32, members[:count])

    def test_wide_characters_and_a_word_over_the_budget(self) -> None:
        self.assert_same_bytes("bob", "#日本", ["日本語" * 10, "𝔵" * 200, "zoé", *"abc"])

    def test_a_member_holding_a_line_breaker_is_made_safe_as_names_does(self) -> None:
        self.assert_same_bytes("bob", "#chat", ["a\rb", "c\nd", "e\0f", "g"])
        self.assertIn(b" :a\xef\xbf\xbdb ", REPLIES.names_wire("bob", "#chat", ["a\rb", "g"]))


class WelcomeBurstBoundTests(SynchronousTestCase):
    """A MOTD whose renderings would pass L{MAX_KEPT_BYTES} (830 KiB each here) is still
    written, byte for byte."""

    def test_a_motd_of_thousands_of_lines_past_the_bound_is_written_exactly(self) -> None:
        replies = Replies(SERVER, lambda: "\n" * 4095)
        burst = WelcomeBurst(replies)
        for nickname in ("alice", "bobby", "x" * 128, "y" * 128):
            self.assertEqual(burst.render(nickname), wire(replies.welcome(nickname)))
