"""Parsing and writing IRC messages with IRCv3 tags (docs/protocol.md section 10)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.message import (
    InvalidUtf8,
    MalformedMessage,
    Message,
    escape_tag_value,
    parse_line,
    parse_message,
    serialise,
)

#: Characters a UTF-8 line can hold (surrogates cannot).
UTF8 = st.characters(codec="utf-8")


class ParseTests(SynchronousTestCase):
    """Tags, source, command, middle parameters and the trailing one."""

    def test_full_message(self) -> None:
        message = parse_message(
            "@time=2026-11-24T03:30:44.123Z;+draft/x :a!a@h PRIVMSG #chat :hi there"
        )
        self.assertEqual(message.command, "PRIVMSG")
        self.assertEqual(message.params, ("#chat", "hi there"))
        self.assertEqual(message.source, "a!a@h")
        self.assertEqual(message.tags, {"time": "2026-11-24T03:30:44.123Z", "+draft/x": ""})

    def test_plain_commands(self) -> None:
        self.assertEqual(parse_message("NICK alice"), Message("NICK", ("alice",)))
        self.assertEqual(
            parse_message("USER a 0 * :Alice Liddell"),
            Message("USER", ("a", "0", "*", "Alice Liddell")),
        )
        self.assertEqual(parse_message("CAP END"), Message("CAP", ("END",)))
        self.assertEqual(parse_message("QUIT"), Message("QUIT"))

    def test_command_case_is_folded(self) -> None:
        self.assertEqual(parse_message("privmsg #chat :x").command, "PRIVMSG")

    def test_trailing_keeps_colons_and_spaces(self) -> None:
        self.assertEqual(parse_message("PRIVMSG #chat ::) a  b ").params, ("#chat", ":) a  b "))
        self.assertEqual(parse_message("PRIVMSG #chat :").params, ("#chat", ""))
        self.assertEqual(parse_message("PING :").params, ("",))

    def test_repeated_spaces_are_tolerated(self) -> None:
        self.assertEqual(parse_message("  PRIVMSG   #chat   :x").params, ("#chat", "x"))

    def test_tag_escapes(self) -> None:
        tags = parse_message(
            r"@a=one\stwo;b=semi\:colon;c=back\\slash;d=cr\rlf\n;e=\x;f=end\ PING x"
        ).tags
        self.assertEqual(tags["a"], "one two")
        self.assertEqual(tags["b"], "semi;colon")
        self.assertEqual(tags["c"], "back\\slash")
        self.assertEqual(tags["d"], "cr\rlf\n")
        self.assertEqual(tags["e"], "x")  # an unknown escape is the character itself
        self.assertEqual(tags["f"], "end")  # a lone trailing backslash is dropped

    def test_malformed(self) -> None:
        for line in [
            "",
            "   ",
            ":source-only",
            "@tags-only",
            "@a=b :src",
            "12 x",
            "PRIV-MSG x",
            "1234",
        ]:
            with self.assertRaises(MalformedMessage, msg=repr(line)):
                parse_message(line)

    def test_numerics_are_commands(self) -> None:
        self.assertEqual(parse_message(":srv 001 me :hi").command, "001")


class DecodeTests(SynchronousTestCase):
    """Bytes that are not UTF-8 are caught per line, with their command."""

    def test_utf8_line(self) -> None:
        self.assertEqual(parse_line("PRIVMSG #chat :café".encode()).params, ("#chat", "café"))

    def test_latin1_text_names_its_command(self) -> None:
        with self.assertRaises(InvalidUtf8) as caught:
            parse_line(b"PRIVMSG #chat :caf\xe9")
        self.assertEqual(caught.exception.command, "PRIVMSG")

    def test_bad_bytes_in_the_command_give_a_star(self) -> None:
        with self.assertRaises(InvalidUtf8) as caught:
            parse_line(b"PRIV\xffMSG #chat :x")
        self.assertEqual(caught.exception.command, "*")
        with self.assertRaises(InvalidUtf8) as caught:
            parse_line(b"\xff")
        self.assertEqual(caught.exception.command, "*")


class SerialiseTests(SynchronousTestCase):
    """One line, CR LF, a trailing colon only where needed or asked for."""

    def test_minimal_colon(self) -> None:
        self.assertEqual(serialise(Message("PONG", ("srv", "x"), "srv")), b":srv PONG srv x\r\n")
        self.assertEqual(serialise(Message("PONG", ("srv", "a b"))), b"PONG srv :a b\r\n")
        self.assertEqual(serialise(Message("PONG", ("srv", ":x"))), b"PONG srv ::x\r\n")
        self.assertEqual(serialise(Message("PONG", ("srv", ""))), b"PONG srv :\r\n")
        self.assertEqual(serialise(Message("QUIT")), b"QUIT\r\n")

    def test_forced_trailing(self) -> None:
        message = Message("PRIVMSG", ("#chat", "hi"), "a!a@chatproto", force_trailing=True)
        self.assertEqual(serialise(message), b":a!a@chatproto PRIVMSG #chat :hi\r\n")

    def test_tags_are_escaped(self) -> None:
        message = Message("PING", ("x",), tags={"a": "b c;d\\", "flag": ""})
        self.assertEqual(serialise(message), b"@a=b\\sc\\:d\\\\;flag PING x\r\n")
        self.assertEqual(escape_tag_value("\r\n"), "\\r\\n")

    def test_utf8(self) -> None:
        self.assertEqual(
            serialise(Message("PRIVMSG", ("#chat", "é"))), "PRIVMSG #chat é\r\n".encode()
        )

    def test_nothing_can_break_the_line(self) -> None:
        for params in [
            ("#chat", "a\r\nQUIT"),
            ("#chat", "a\nb"),
            ("#chat", "nul\0"),
            ("a b", "x"),
            (":x", "y"),
            ("", "y"),
        ]:
            with self.assertRaises(ValueError, msg=repr(params)):
                serialise(Message("PRIVMSG", params))

    @given(
        st.dictionaries(
            st.from_regex(r"\+?[a-z][a-z0-9/.-]{0,9}", fullmatch=True),
            st.text(alphabet=UTF8, max_size=20),
            max_size=3,
        ),
        st.lists(
            st.from_regex(r"[^\s:\x00][^\s\x00]{0,9}", fullmatch=True, alphabet=UTF8),
            max_size=5,
        ),
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\0"), max_size=40),
    )
    def test_round_trip(self, tags: dict[str, str], middle: list[str], last: str) -> None:
        message = Message("PRIVMSG", (*middle, last), "a!a@chatproto", tags)
        self.assertEqual(parse_line(serialise(message).removesuffix(b"\r\n")), message)
