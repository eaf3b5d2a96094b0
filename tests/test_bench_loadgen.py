"""The load generator's counting and parsing (bench/): correctness only, no timing."""

from __future__ import annotations

import itertools
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
    WebSocketBroadcastAdapter,
    WebSocketChatAdapter,
    frame,
)
from bench.loadgen import (
    bench_text,
    door_spec,
    handshake_times,
)
from bench.profile_joins import buckets
from bench.run_bench import DOOR_GOALS, describe_door_goal, door_goals, tables_to_show
from bench.websocket import (
    LOOKBACK,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    Message,
    WebSocketError,
    accept_for,
    client_frame,
    parse_upgrade_answer,
    server_frame,
    spot_pings,
)


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


def _client_messages(wire: bytes) -> list[Message]:
    """What a server reads from C{wire}, a client's bytes (every frame must be masked)."""
    return FrameReader(from_client=True).feed(wire)


def test_client_frame_is_masked_as_rfc_6455_shows() -> None:
    # RFC 6455 section 5.7: a masked text frame of "Hello".
    key = bytes.fromhex("37fa213d")
    assert client_frame(b"Hello", key=key) == bytes.fromhex("818537fa213d7f9f4d5158")


@pytest.mark.parametrize("size", [0, 1, 3, 125, 126, 127, 1000, 65535])
def test_client_frames_round_trip_at_every_length_form(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    wire = client_frame(payload)
    assert wire[1] & 0x80, "a client's frame is masked"
    assert _client_messages(wire) == [Message(OP_TEXT, payload)]


def test_masking_keys_are_fresh() -> None:
    keys = {client_frame(b"same")[2:6] for _ in range(8)}
    assert len(keys) > 1


def test_frame_reader_joins_fragments_and_splits_anywhere() -> None:
    head = bytes((OP_TEXT,)) + bytes((3,)) + b"one"  # FIN clear: a first fragment
    middle = bytes((OP_CONTINUATION,)) + bytes((1,)) + b"+"
    wire = (
        server_frame(b"HELLO")
        + head
        + server_frame(b"ping!", OP_PING)  # control frames may come between fragments
        + middle
        + server_frame(b"two", OP_CONTINUATION)
        + server_frame(b"x" * 300)
        + server_frame(b"\x00\x01", OP_BINARY)
    )
    expected = [
        Message(OP_TEXT, b"HELLO"),
        Message(OP_PING, b"ping!"),
        Message(OP_TEXT, b"one+two"),
        Message(OP_TEXT, b"x" * 300),
        Message(OP_BINARY, b"\x00\x01"),
    ]
    for cut in range(len(wire) + 1):
        reader = FrameReader()
        assert reader.feed(wire[:cut]) + reader.feed(wire[cut:]) == expected, cut
        assert reader.take_rest() == b""


def test_frame_reader_refuses_what_the_bench_cannot_follow() -> None:
    with pytest.raises(WebSocketError, match="masked"):
        FrameReader().feed(client_frame(b"a server must not mask"))
    with pytest.raises(WebSocketError, match="reserved"):
        FrameReader().feed(b"\xc1\x01a")  # RSV1: compression that nobody agreed to
    with pytest.raises(WebSocketError, match="longer"):
        FrameReader().feed(b"\x81\x7f" + struct.pack(">Q", 65536))
    with pytest.raises(WebSocketError, match="continuation"):
        FrameReader().feed(server_frame(b"x", OP_CONTINUATION))


def test_accept_key_as_rfc_6455_shows() -> None:
    assert accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def _answer(
    key: str, protocol: str | None = None, status: str = "101 Switching Protocols"
) -> bytes:
    lines = [
        f"HTTP/1.1 {status}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept_for(key)}",
    ]
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _key_of(request: bytes) -> str:
    for line in request.decode().split("\r\n"):
        if line.startswith("Sec-WebSocket-Key: "):
            return line.split(": ", 1)[1]
    raise AssertionError("no key in the request")


def test_upgrade_answer_parsed_once_whole() -> None:
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    answer = _answer(key, "chatproto.v1") + server_frame(b"HELLO")
    cut = answer.index(b"\r\n\r\n") + 3
    assert parse_upgrade_answer(answer[:cut], key) is None
    parsed = parse_upgrade_answer(answer, key)
    assert parsed is not None
    assert (parsed.protocol, parsed.rest) == ("chatproto.v1", server_frame(b"HELLO"))
    with pytest.raises(WebSocketError, match="403"):
        parse_upgrade_answer(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", key)
    with pytest.raises(WebSocketError, match="Accept"):
        parse_upgrade_answer(_answer("c29tZSBvdGhlciBub25jZQ=="), key)


def test_websocket_chat_handshake_until_welcome_hands_over_the_rest() -> None:
    hs = WebSocketChatAdapter("127.0.0.1:8080").handshake("alice")
    request = hs.greeting()
    assert request.startswith(b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n")
    assert b"Sec-WebSocket-Protocol: chatproto.v1\r\n" in request
    assert b"Origin" not in request
    key = _key_of(request)
    wire = _answer(key, "chatproto.v1") + server_frame(b"HELLO") + server_frame(b"NICK")
    out, rest = hs.feed(wire[:10])
    assert (out, rest) == (b"", None)
    out, rest = hs.feed(wire[10:-2])
    assert (out, rest) == (b"", None)
    out, rest = hs.feed(wire[-2:])
    assert rest is None and _client_messages(out) == [Message(OP_TEXT, b"alice")]
    out, rest = hs.feed(server_frame(b"RETRY") + server_frame(b"ping", OP_PING))
    assert rest is None
    assert _client_messages(out) == [Message(OP_TEXT, b"alice_1"), Message(OP_PONG, b"ping")]
    welcome = b'{"nickname":"server","event":"welcome","users":["alice_1"]}'
    live = server_frame(b'{"id":1,"message":"[^|^]A"}') + server_frame(b'{"id":2,"message":"x"}')
    out, rest = hs.feed(server_frame(b"READY") + server_frame(welcome) + live[:-3])
    assert (out, rest) == (b"", live[:-3])


def test_websocket_handshake_refusals() -> None:
    hs = WebSocketChatAdapter().handshake("bob")
    key = _key_of(hs.greeting())
    with pytest.raises(HandshakeError, match="subprotocol"):
        hs.feed(_answer(key))  # the door must select chatproto.v1 when it is offered
    hs = WebSocketChatAdapter().handshake("bob")
    with pytest.raises(HandshakeError, match="403"):
        hs.feed(b"HTTP/1.1 403 Forbidden\r\n\r\n")
    hs = WebSocketChatAdapter().handshake("bob")
    key = _key_of(hs.greeting())
    full = b'{"nickname":"server","event":"error","code":"server-full"}'
    with pytest.raises(HandshakeError, match="server-full"):
        hs.feed(_answer(key, "chatproto.v1") + server_frame(b"HELLO") + server_frame(full))
    hs = WebSocketChatAdapter().handshake("bob")
    key = _key_of(hs.greeting())
    with pytest.raises(HandshakeError, match="1013"):
        hs.feed(_answer(key, "chatproto.v1") + server_frame(b"\x03\xf5", OP_CLOSE))


def test_websocket_broadcast_joins_at_the_upgrade() -> None:
    hs = WebSocketBroadcastAdapter("h:1").handshake("n")
    request = hs.greeting()
    assert b"Sec-WebSocket-Protocol" not in request
    live = server_frame(b"[^|^]A hi")
    assert hs.feed(_answer(_key_of(request)) + live) == (b"", live)


def test_websocket_adapters_encode_messages() -> None:
    text = bench_text("[^|^]A", 100)
    chat = WebSocketChatAdapter()
    assert _client_messages(chat.message(text)) == [
        Message(OP_TEXT, ChatAdapter().message(text)[2:])
    ]
    assert _client_messages(chat.goodbye()) == [Message(OP_TEXT, b"BYE")]
    plain = WebSocketBroadcastAdapter()
    assert _client_messages(plain.message(text)) == [Message(OP_TEXT, text.encode())]
    assert _client_messages(plain.goodbye()) == [Message(OP_CLOSE, struct.pack(">H", 1000))]


#: A server's stream with pings among text frames whose 16-bit lengths hold 0x89 bytes:
#: 393 is 0x0189 (low byte), 35209 is 0x8989 (both bytes).
PINGS = [b"\x00" * 8 + b"\x89\x89\x81~", b"", b"p" * 125]
PING_STREAM = (
    server_frame(b"[^|^]A" + b"x" * 387)
    + server_frame(PINGS[0], OP_PING)
    + server_frame(b"y" * 35209)
    + server_frame(b"short")
    + server_frame(PINGS[1], OP_PING)
    + server_frame(PINGS[2], OP_PING)
    + server_frame(b"z" * 393)
)


def _spot_in_pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    """Feed C{data} cut at C{cuts} as the generator does; return the pongs' payloads."""
    pongs: list[bytes] = []
    partial = b""
    bounds = [0, *cuts, len(data)]
    for start, end in itertools.pairwise(bounds):
        before = data[max(0, start - LOOKBACK) : start]
        window = before + data[start:end]
        found, partial = spot_pings(window, len(before), len(window), partial)
        pongs += [m.payload for m in _client_messages(b"".join(found))]
    assert partial == b""
    return pongs


def test_ping_spotter_pongs_every_ping_once_wherever_reads_end() -> None:
    assert _spot_in_pieces(PING_STREAM, []) == PINGS
    for cut in range(1, len(PING_STREAM)):
        assert _spot_in_pieces(PING_STREAM, [cut]) == PINGS, cut
    edges = [i for i, byte in enumerate(PING_STREAM) if byte == 0x89]
    for cut in edges:
        for other in (cut + 1, cut + 2, cut + 5):
            assert _spot_in_pieces(PING_STREAM, [cut, other]) == PINGS, (cut, other)


def test_ping_spotter_byte_by_byte() -> None:
    stream = server_frame(b"a" * 393) + server_frame(PINGS[0], OP_PING) + server_frame(b"b")
    assert _spot_in_pieces(stream, list(range(1, len(stream)))) == [PINGS[0]]


def test_door_spec() -> None:
    assert door_spec("ws:8080") == ("ws", 8080)
    assert door_spec("ws-broadcast:1") == ("ws-broadcast", 1)
    for bad in ("ws", "smtp:25", "ws:http"):
        with pytest.raises(Exception, match="PROTO:PORT"):
            door_spec(bad)


def test_door_goals_say_by_how_much() -> None:
    meds = {
        "chatproto": {"flood.deliveries_per_s": 5_000_000.0},
        "baseline": {"flood.deliveries_per_s": 5_100_000.0},
        "chatproto-ws": {
            "flood.deliveries_per_s": 3_000_000.0,
            "flood.gen_core": 0.95,
            "flood.server_core": 0.6,
            "flood.server_ns_per_delivery": 200.0,
        },
    }
    meds["chatproto"]["flood.server_ns_per_delivery"] = 125.0
    checks = door_goals(meds)
    assert set(checks) == {"tcp>=0.95x baseline", "ws>=0.8x tcp"}
    tcp, ws = DOOR_GOALS[0], DOOR_GOALS[1]
    assert describe_door_goal(tcp, checks[tcp.name], "") == (
        "tcp>=0.95x baseline ok by 3% (chatproto 5,000,000 / baseline 5,100,000 = 0.98x, "
        "needs >=0.95x)"
    )
    assert describe_door_goal(ws, checks[ws.name], "") == (
        "ws>=0.8x tcp MISSED by 25% (chatproto-ws 3,000,000 / chatproto 5,000,000 = 0.60x, "
        "needs >=0.8x); generator-bound (chatproto-ws): server core per delivery "
        "200 / 125 ns = 1.60x"
    )
    assert describe_door_goal(DOOR_GOALS[2], None, "node-ws: no node") == (
        "ws beats node-ws: not measured (node-ws: no node)"
    )


def test_tables_show_only_measured_targets_and_their_ratios() -> None:
    (doors,) = tables_to_show(["chatproto", "chatproto-ws", "node-ws"])
    assert doors.names == ["chatproto", "chatproto-ws", "node-ws"]
    assert doors.ratios == [("chatproto-ws", "chatproto"), ("chatproto-ws", "node-ws")]
    assert [t.names for t in tables_to_show(["chatproto", "ngircd", "node-ws"])] == [
        ["chatproto", "ngircd"],
        ["chatproto", "node-ws"],
    ]
    assert [t.names for t in tables_to_show(["chatproto"])] == [["chatproto"]]


def test_handshake_times_are_nearest_rank_in_milliseconds() -> None:
    seconds = [n / 1000 for n in range(1, 101)]  # 1 to 100 ms
    assert handshake_times(seconds) == {"handshake_p50_ms": 50.0, "handshake_p99_ms": 99.0}
    assert handshake_times([]) == {}


def test_join_profile_counts_a_sample_for_its_innermost_step_and_leaves_out_leaves() -> None:
    raw = "\n".join(
        [
            "mainLoop (base.py:1);Hall._accept (hall.py:2);Hall._welcome (hall.py:3) 5",
            "mainLoop (base.py:1);Hall._accept (hall.py:2) 2",
            "mainLoop (base.py:1);Hall.leave (hall.py:9);Hall._welcome (hall.py:3) 7",
        ]
    )
    steps, leaves = buckets(raw)
    assert steps == {"welcome: the user list": 5, "hall bookkeeping": 2}
    assert leaves["welcome: the user list"] == {"Hall._welcome": 5}
