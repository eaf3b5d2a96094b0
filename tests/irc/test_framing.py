"""Cutting the IRC byte stream into bounded lines before decoding (docs/protocol.md section 10)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.framing import MAX_MESSAGE_BYTES, MAX_TAGS_BYTES, LineFramer, Overlong


def feed_all(framer: LineFramer, *chunks: bytes) -> list[bytes | Overlong]:
    """Everything the framer returns for C{chunks}, fed one after another."""
    return [item for chunk in chunks for item in framer.feed(chunk)]


class LineEndingTests(SynchronousTestCase):
    """CR LF and a lone LF both end a line; nothing else does."""

    def test_crlf_and_lf(self) -> None:
        framer = LineFramer()
        self.assertEqual(
            framer.feed(b"NICK alice\r\nUSER a 0 * :Alice\nPING x\r\n"),
            [b"NICK alice", b"USER a 0 * :Alice", b"PING x"],
        )

    def test_incomplete_line_waits(self) -> None:
        framer = LineFramer()
        self.assertEqual(framer.feed(b"PRIVMSG #chat :hel"), [])
        self.assertEqual(framer.feed(b"lo\r"), [])
        self.assertEqual(framer.feed(b"\n"), [b"PRIVMSG #chat :hello"])

    def test_empty_lines_are_skipped(self) -> None:
        self.assertEqual(LineFramer().feed(b"\r\n\n\r\nPING x\n"), [b"PING x"])

    def test_a_character_split_across_reads_survives(self) -> None:
        # The bytes of é arrive in two reads: framing before decoding keeps it whole.
        framer = LineFramer()
        self.assertEqual(
            feed_all(framer, b"PRIVMSG #chat :caf\xc3", b"\xa9\r\n"),
            ["PRIVMSG #chat :café".encode()],
        )

    @given(
        st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=8), st.data()
    )
    def test_any_chunking_gives_the_same_lines(
        self, lines: list[bytes], data: st.DataObject
    ) -> None:
        stream = b"".join(line + b"\r\n" for line in lines)
        cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        expected = [line for line in lines if line]  # only the CR of CR LF goes
        self.assertEqual(feed_all(LineFramer(), *chunks), expected)


class BoundTests(SynchronousTestCase):
    """510 bytes of message, 8191 of tags; an overlong line is dropped and reported once."""

    def test_longest_message_part_passes(self) -> None:
        line = b"PRIVMSG #chat :" + b"x" * (MAX_MESSAGE_BYTES - 15)
        self.assertEqual(LineFramer().feed(line + b"\r\n"), [line])
        self.assertEqual(LineFramer().feed(line + b"\n"), [line])

    def test_one_byte_more_is_overlong(self) -> None:
        line = b"PRIVMSG #chat :" + b"x" * (MAX_MESSAGE_BYTES - 14)
        self.assertEqual(LineFramer().feed(line + b"\r\nPING x\r\n"), [Overlong.LINE, b"PING x"])

    def test_tags_have_their_own_bound(self) -> None:
        tags = b"@" + b"a" * (MAX_TAGS_BYTES - 2) + b" "  # 8191 bytes with @ and space
        message = b"PRIVMSG #chat :" + b"x" * (MAX_MESSAGE_BYTES - 15)
        self.assertEqual(LineFramer().feed(tags + message + b"\r\n"), [tags + message])
        self.assertEqual(LineFramer().feed(b"@a" + tags[1:] + message + b"\r\n"), [Overlong.LINE])
        self.assertEqual(LineFramer().feed(tags + message + b"x\r\n"), [Overlong.LINE])

    def test_a_streamed_overlong_line_is_not_buffered(self) -> None:
        framer = LineFramer()
        self.assertEqual(framer.feed(b"PRIVMSG #chat :" + b"x" * 400), [])
        self.assertEqual(framer.feed(b"x" * 400), [Overlong.LINE])
        for _ in range(1000):  # 1 MB more of the same line: nothing is kept, nothing said
            self.assertEqual(framer.feed(b"x" * 1000), [])
            self.assertEqual(framer._pending, b"")
        self.assertEqual(framer.feed(b"xx\r\nPING after\r\n"), [b"PING after"])

    def test_endless_tags_are_not_buffered(self) -> None:
        framer = LineFramer()
        self.assertEqual(framer.feed(b"@" + b"t" * 8000), [])
        self.assertEqual(framer.feed(b"t" * 500), [Overlong.LINE])
        self.assertEqual(framer.feed(b" PING x\nPING y\n"), [b"PING y"])

    def test_a_line_ending_in_cr_at_the_bound_waits_for_its_lf(self) -> None:
        line = b"PING " + b"x" * (MAX_MESSAGE_BYTES - 5)
        framer = LineFramer()
        self.assertEqual(framer.feed(line + b"\r"), [])
        self.assertEqual(framer.feed(b"\n"), [line])

    @given(st.binary(max_size=3000))
    def test_never_holds_more_than_one_bounded_line(self, data: bytes) -> None:
        framer = LineFramer()
        for item in framer.feed(data):
            if item is not Overlong.LINE:
                self.assertNotIn(b"\n", item)
        self.assertLessEqual(len(framer._pending), MAX_TAGS_BYTES + MAX_MESSAGE_BYTES + 1)
