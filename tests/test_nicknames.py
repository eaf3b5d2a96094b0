"""Nickname rules and collision keys (docs/protocol.md section 3)."""

from __future__ import annotations

from unittest import mock

from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.nicknames import InvalidNickname, nickname_key, validate_nickname


class NicknameTests(SynchronousTestCase):
    """Valid names keep their NFKC spelling; keys fold case and width."""

    def test_valid(self) -> None:
        for name in ["alice", "Zoë", "李小龍", "🦊fox", "x" * 32, "a.b-c_d", "👨‍👩‍👧"[:1]]:
            self.assertEqual(validate_nickname(name), name)

    def test_display_form_is_nfkc(self) -> None:
        self.assertEqual(validate_nickname("ａｌｉｃｅ"), "alice")
        self.assertEqual(validate_nickname("ﬁsh"), "fish")
        self.assertEqual(validate_nickname("e\u0301"), "é")

    def test_collisions(self) -> None:
        keys = {nickname_key(name) for name in ["Alice", "alice", "ａlice", "ALICE"]}
        self.assertEqual(len(keys), 1)
        self.assertEqual(nickname_key("Straße"), nickname_key("STRASSE"))
        self.assertNotEqual(nickname_key("alice"), nickname_key("alicia"))

    def test_invalid(self) -> None:
        for name in [
            "",
            "two words",
            "tab\t",
            "nbsp\u00a0x",
            "bell\x07",
            "del\x7f",
            "zw\u200bj",
            "rtl\u202e",
            "unassigned\U000e0080",
            "x" * 33,
            "HELLO",
            "NICK",
            "READY",
            "RETRY",
            "BYE",
            "ＢＹＥ",
            "server",
            "SERVER",
            "ｓｅｒｖｅｒ",
        ]:
            with self.assertRaises(InvalidNickname, msg=repr(name)):
                validate_nickname(name)

    def test_characters_other_doors_need_are_refused(self) -> None:
        """Section 3: none of ! @ , * ? : and no leading # or &, so IRC can carry any nick."""
        for name in ["***", "a!b", "a@b", "a,b", "a*", "who?", "x:y", "#chat", "&local",
                     "！bang", "＃hash"]:  # fmt: skip
            with self.assertRaises(InvalidNickname, msg=repr(name)):
                validate_nickname(name)
        for name in ["a#b", "b&", "---", "~~~", "[x]"]:
            self.assertEqual(validate_nickname(name), name)

    def test_length_counts_code_points_after_nfkc(self) -> None:
        self.assertEqual(len(validate_nickname("é" * 32)), 32)
        with self.assertRaises(InvalidNickname):
            validate_nickname("㍻" * 17)  # 17 characters, 34 code points after NFKC

    def test_oversized_text_is_refused_before_normalising(self) -> None:
        with mock.patch("chatproto.core.nicknames.unicodedata.normalize") as normalize:
            for text in ["\ufdfa" * 21000, "x" * 257]:
                with self.assertRaises(InvalidNickname):
                    validate_nickname(text)
        normalize.assert_not_called()
