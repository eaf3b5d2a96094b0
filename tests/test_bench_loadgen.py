"""The load generator's counting and parsing (bench/): correctness only, no timing."""

from __future__ import annotations

import itertools
import socket
import struct

import pytest

from bench.adapters import (
    ChatAdapter,
    ChatHandshake,
    FrameParser,
    HandshakeError,
    IrcAdapter,
    IrcHandshake,
    LineParser,
    frame,
)
from bench.loadgen import MARKER, Carry, Conn, MarkerCounter, bench_text, percentile

STREAM = b"[^|^]A hello [^|^]B [^|^][^|^]A [^|^" + b"x" * 40 + b"[^|^]A^|^][^|^]" + b"[^|^" + b"]"


def _count_in_pieces(counter: MarkerCounter, data: bytes, cuts: list[int]) -> tuple[int, int]:
    """Feed C{data} cut at C{cuts}; return (markers, tag A) counted over all pieces."""
    stream = Carry(counter.fresh_carry())
    markers = tags = 0
    bounds = [0, *cuts, len(data)]
    for start, end in itertools.pairwise(bounds):
        markers += counter.feed(stream, data[start:end])
        tags += counter.tag_counts()[0]
    return markers, tags


def test_marker_counter_counts_every_split_once() -> None:
    counter = MarkerCounter(MARKER, [MARKER + b"A"])
    markers, tags = STREAM.count(MARKER), STREAM.count(MARKER + b"A")
    assert (markers, tags) == (7, 3)
    assert _count_in_pieces(counter, STREAM, []) == (markers, tags)
    for cut in range(1, len(STREAM)):
        assert _count_in_pieces(counter, STREAM, [cut]) == (markers, tags), cut
    for cut in range(1, len(STREAM) - 3):
        cuts = [cut, cut + 1, cut + 3]
        assert _count_in_pieces(counter, STREAM, cuts) == (markers, tags), cuts


def test_marker_counter_byte_by_byte() -> None:
    counter = MarkerCounter(MARKER, [MARKER + b"A"], bufsize=3)
    assert _count_in_pieces(counter, STREAM, list(range(1, len(STREAM)))) == (7, 3)


def test_marker_counter_refuses_self_overlapping_tokens() -> None:
    # "^^^" holds two overlapping "^^": a streaming count and bytes.count would disagree.
    with pytest.raises(ValueError, match="overlap"):
        MarkerCounter(b"^^")
    with pytest.raises(ValueError, match="overlap"):
        MarkerCounter(MARKER, [b"ab_ab"])


def test_marker_counter_feeds_longer_than_its_buffer() -> None:
    counter = MarkerCounter(MARKER, bufsize=7)
    data = (b"ab" + MARKER) * 50
    assert counter.feed(Carry(counter.fresh_carry()), data) == 50


def test_marker_counter_reads_a_socket() -> None:
    counter = MarkerCounter(MARKER, [MARKER + b"B"])
    left, right = socket.socketpair()
    with left, right:
        right.setblocking(False)
        conn = Conn(right, "r", IrcAdapter().handshake("r"), counter.fresh_carry())
        assert counter.recv(conn) == 0  # nothing to read yet: not an EOF
        total = tags = 0
        for piece in (b"..[^|", b"^]B..[^", b"|^]A[^|^]", b"B"):
            left.sendall(piece)
            total += counter.recv(conn)
            tags += counter.tag_counts()[0]
        assert (total, tags) == (3, 2)
        left.close()
        assert counter.recv(conn) == -1


def test_frame_parser_reassembles_frames_split_anywhere() -> None:
    payloads = [b"HELLO", b"NICK", b"", b'{"message":"h\xc3\xa9"}', b"x" * 300]
    wire = b"".join(frame(p) for p in payloads)
    for cut in range(len(wire) + 1):
        parser = FrameParser()
        got = parser.feed(wire[:cut]) + parser.feed(wire[cut:])
        assert got == payloads, cut
        assert parser.take_rest() == b""


def test_frame_parser_byte_by_byte_keeps_the_rest() -> None:
    parser = FrameParser()
    got: list[bytes] = []
    for byte in frame(b"READY") + b"\x00\x05RE":
        got += parser.feed(bytes([byte]))
    assert got == [b"READY"]
    assert parser.take_rest() == b"\x00\x05RE"


def test_line_parser_splits_crlf_lines() -> None:
    parser = LineParser()
    assert parser.feed(b":s 001 n :hi\r\nPING :x") == [b":s 001 n :hi"]
    assert parser.feed(b"y\r\n\n") == [b"PING :xy", b""]
    assert parser.take_rest() == b""


def test_chat_handshake_until_welcome_hands_over_the_rest() -> None:
    hs = ChatHandshake("alice")
    assert hs.greeting() == b""
    assert hs.feed(frame(b"HELLO") + frame(b"NICK")[:3]) == (b"", None)
    assert hs.feed(frame(b"NICK")[3:]) == (frame(b"alice"), None)
    assert hs.feed(frame(b"RETRY")) == (frame(b"alice_1"), None)
    welcome = b'{"nickname": "server", "event": "welcome", "users": ["alice_1"]}'
    live = frame(b'{"id":1,"message":"[^|^]A"}')
    history = frame(b'{"id":1,"history":true,"message":"[^|^]A"}')
    out, rest = hs.feed(frame(b"READY") + history + frame(welcome) + live)
    assert (out, rest) == (b"", live)


def test_chat_handshake_refused() -> None:
    hs = ChatHandshake("bob")
    full = b'{"nickname":"server","event":"error","code":"server-full"}'
    with pytest.raises(HandshakeError, match="server-full"):
        hs.feed(frame(b"HELLO") + frame(full))


def test_irc_handshake_registers_joins_and_answers_ping() -> None:
    hs = IrcHandshake("n1", "#bench")
    assert hs.greeting() == b"NICK n1\r\nUSER n1 0 * :bench\r\n"
    assert hs.feed(b"PING :abc\r\n:s 433 * n1 :in use\r\n") == (
        b"PONG :abc\r\nNICK n1_1\r\n",
        None,
    )
    assert hs.feed(b":s 001 n1_1 :Welcome\r\n:s 422 n1_1 :No MOTD\r\n") == (
        b"JOIN #bench\r\n",
        None,
    )
    live = b":x PRIVMSG #bench :[^|^]A\r\n:y PRIV"
    out, rest = hs.feed(b":s 353 n1_1 = #bench :n1_1\r\n:s 366 n1_1 #bench :End\r\n" + live)
    assert (out, rest) == (b"", live)


def test_adapters_encode_messages() -> None:
    text = bench_text("[^|^]A", 100)
    assert len(text) == 100
    wire = ChatAdapter().message(text)
    assert struct.unpack(">H", wire[:2])[0] == len(wire) - 2
    assert wire[2:] == b'{"message":"' + text.encode() + b'"}'
    assert IrcAdapter().message(text) == b"PRIVMSG #bench :" + text.encode() + b"\r\n"
    with pytest.raises(ValueError):
        ChatAdapter().message('a"b')


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([7], 0.99) == 7
