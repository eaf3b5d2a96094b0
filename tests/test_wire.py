"""Framing and strict JSON packets (docs/protocol.md section 1)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.packets.parsing import NotAPacket, parse_packet
from chatproto.doors.tcp.framing import FrameTooLong, encode_packet, frame, frame_text


class FramingTests(SynchronousTestCase):
    """uint16 big-endian length, then that many bytes; nothing else."""

    def test_prefix(self) -> None:
        self.assertEqual(frame_text("HELLO"), b"\x00\x05HELLO")
        self.assertEqual(frame(b""), b"\x00\x00")
        self.assertEqual(frame_text("é"), b"\x00\x02\xc3\xa9")
        self.assertEqual(len(frame(b"x" * 65535)), 65537)

    def test_too_long(self) -> None:
        with self.assertRaises(FrameTooLong):
            frame(b"x" * 65536)

    def test_packet_is_compact_utf8(self) -> None:
        self.assertEqual(encode_packet({"message": "é"}), b'\x00\x10{"message":"\xc3\xa9"}')


class StrictJsonTests(SynchronousTestCase):
    """What is and is not a JSON packet."""

    def test_objects_are_packets(self) -> None:
        self.assertEqual(parse_packet('{"message": "hi"}'), {"message": "hi"})
        self.assertEqual(parse_packet('{"m": "\\ud83d\\ude00"}'), {"m": "\U0001f600"})
        depth_32 = '{"a": ' + "[" * 31 + "]" * 31 + "}"  # the object is level 1
        self.assertIn("a", parse_packet(depth_32))
        self.assertEqual(parse_packet('{"s": "' + "[" * 100 + '"}'), {"s": "[" * 100})

    def test_not_packets(self) -> None:
        for text in [
            "[1]",
            "1",
            '"text"',
            "null",
            "",
            "{",
            '{"a": 1} trailing',
            '{"a": 1, "a": 2}',
            '{"a": {"b": 1, "b": 2}}',
            '{"a": NaN}',
            '{"a": Infinity}',
            '{"a": -Infinity}',
            '{"a": "\\ud800"}',
            '{"\\udc00": 1}',
            '{"a": "raw\ncontrol"}',
            '{"a": ' + "[" * 32 + "]" * 32 + "}",
            "{" * 100000,
        ]:
            with self.assertRaises(NotAPacket, msg=text[:40]):
                parse_packet(text)
