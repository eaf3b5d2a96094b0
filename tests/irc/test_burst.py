"""The registration burst rendered once per nickname length: the same bytes as building it."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.burst import WelcomeBurst
from chatproto.doors.irc.codec import wire
from chatproto.doors.irc.replies import Replies
from tests.irc.helpers import SERVER

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
