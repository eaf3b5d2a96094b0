"""Reading MODE lines of a channel, and the IRC ban masks (docs/protocol.md section 14)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.masks import UnsupportedMask, core_mask, irc_mask, muted_nickname
from chatproto.doors.irc.modes import (
    MAX_MODE_CHANGES,
    ModeChange,
    mode_string,
    read_modes,
)


class ReadModesTests(SynchronousTestCase):
    """What one MODE line asks for."""

    def test_changes_take_their_arguments_in_order(self) -> None:
        request = read_modes(["+ob-v+t", "alice", "bob!*@*", "carol"])
        self.assertEqual(
            request.changes,
            [
                ModeChange(True, "o", "alice"),
                ModeChange(True, "b", "bob!*@*"),
                ModeChange(False, "v", "carol"),
                ModeChange(True, "t"),
            ],
        )
        self.assertEqual((request.lists, request.unknown, request.missing), ([], [], []))

    def test_b_without_an_argument_asks_for_the_list(self) -> None:
        for words in (["b"], ["+b"], ["-b"], ["bb"]):
            request = read_modes(words)
            self.assertEqual((request.changes, request.lists), ([], ["b"]))

    def test_a_mode_without_its_argument_is_missing_it(self) -> None:
        request = read_modes(["+ooq"])
        self.assertEqual((request.changes, request.missing), ([], ["o", "q"]))

    def test_unknown_letters_are_named_once(self) -> None:
        request = read_modes(["+iksi", "key"])
        self.assertEqual(request.unknown, ["i", "k", "s"])
        self.assertEqual(request.changes, [])

    def test_n_is_always_on_and_a_switched_mode_changes_once(self) -> None:
        request = read_modes(["+nmm-n-m"])
        self.assertEqual(request.changes, [ModeChange(True, "m")])
        self.assertEqual(request.unknown, [])

    def test_changes_with_arguments_past_the_bound_are_ignored(self) -> None:
        nicknames = [f"n{index}" for index in range(MAX_MODE_CHANGES + 3)]
        request = read_modes(["+" + "v" * len(nicknames), *nicknames])
        self.assertEqual(
            [change.argument for change in request.changes], nicknames[:MAX_MODE_CHANGES]
        )

    def test_nothing_asked(self) -> None:
        request = read_modes([])
        self.assertEqual((request.changes, request.lists), ([], []))

    def test_change_text(self) -> None:
        self.assertEqual(ModeChange(False, "q", "bob").text, "-q")


class ShownModesTests(SynchronousTestCase):
    """The modes a client sees."""

    def test_mode_string(self) -> None:
        self.assertEqual(mode_string([]), "+n")
        self.assertEqual(mode_string(["t", "m"]), "+mnt")


class MaskTests(SynchronousTestCase):
    """IRC masks and the core's, both ways."""

    def test_the_three_shapes(self) -> None:
        for irc, core in (
            ("bar!*@*", "bar"),
            ("*!*@203.0.113.7", "203.0.113.7"),
            ("*!*@203.0.113.0/24", "203.0.113.0/24"),
            ("*!*@2001:db8::/32", "2001:db8::/32"),
            ("$a:carol", "account:carol"),
        ):
            self.assertEqual(core_mask(irc), core)
            self.assertEqual(irc_mask(core), irc)

    def test_a_bare_word_goes_as_it_is(self) -> None:
        self.assertEqual(core_mask("bar"), "bar")
        self.assertEqual(irc_mask("bar"), "bar!*@*")

    def test_masks_the_room_cannot_match_are_refused(self) -> None:
        for mask in (
            "ba*!*@*",
            "b?r!*@*",
            "*!bar@*",
            "*!*@host.example",
            "*!*@*",
            "bar!*",
            "bar@host",
            "$a:",
        ):
            with self.assertRaises(UnsupportedMask, msg=mask):
                core_mask(mask)

    def test_muted_nickname(self) -> None:
        self.assertEqual(muted_nickname("bob"), "bob")
        self.assertEqual(muted_nickname("bob!*@*"), "bob")
        self.assertEqual(muted_nickname("bob!x@y"), "bob!x@y")
