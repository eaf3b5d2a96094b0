"""Junk input (issue 4, item 3): arbitrary byte streams, split anywhere, in both states.

Hypothesis builds streams of frames (garbage bytes, invalid UTF-8, empty frames,
nesting far past the limit, near-miss JSON, chat packets, nicknames, control
words), sometimes with raw noise between them and a last frame that promises
more bytes than it sends. The stream is fed to a L{FakeClient} in chunks cut at
arbitrary points. An oracle written from docs/protocol.md (sections 1-5 and 7, not
from the server's code) says what every complete frame must cause: what the
sender receives, frame by frame, and what a watching client receives. The
properties are that nothing raises out of C{dataReceived}, both transcripts
are exactly the oracle's, and the watcher can still chat afterwards.

Every run is reproducible: C{derandomize=True} and no example database.
"""

from __future__ import annotations

import itertools
import json
import struct
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.fakes import FakeClient, make_room

#: Reproducible and quick: a fixed walk through the search space, no database.
JUNK_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CONTROL_WORDS = ("HELLO", "NICK", "READY", "RETRY", "BYE")
MAX_DEPTH = 32
#: A small --max-message-bytes so that `too-long` is easy to hit.
MAX_MESSAGE_BYTES = 64
#: Seconds the fake clock moves on before a transcript is read: presence notices
#: alone may wait a few milliseconds for company (docs/protocol.md).
SETTLE = 1.0
#: The nickname of the client that watches the junk client from the same room.
WATCHER = "watcher"

# -- the oracle: docs/protocol.md, independently of chatproto -----------------------


def nickname_key(name: str) -> str:
    """Section 3: the collision key NFKC(casefold(NFKC(name)))."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def valid_nickname(raw: str) -> str | None:
    """Section 3: the display form of a valid bare nickname, or None."""
    if raw in CONTROL_WORDS:
        return None
    name = unicodedata.normalize("NFKC", raw)
    if not 1 <= len(name) <= 32 or name in CONTROL_WORDS or nickname_key(name) == "server":
        return None
    if name[0] in "#&":
        return None
    for char in name:
        if (
            char in "!@,*?:"
            or char.isspace()
            or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Cn")
        ):
            return None
    return name


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth_and_surrogates(value: Any) -> tuple[int, bool]:
    """The nesting depth of a parsed JSON value and whether a string holds a lone surrogate."""
    deepest, lone = 0, False
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth + 1)
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth + 1)
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str) and not lone:
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                lone = True
    return deepest, lone


def json_packet(text: str) -> dict[str, Any] | None:
    """Section 1: the packet a frame's text is (RFC 8259 whitespace allowed around it), or None."""
    if not text.lstrip(" \t\n\r").startswith("{"):
        return None
    try:
        value = json.loads(text, object_pairs_hook=_unique, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    depth, lone_surrogate = _depth_and_surrogates(value)
    if depth > MAX_DEPTH or lone_surrogate:
        return None
    return value


def chosen_nickname(payload: bytes) -> tuple[str, int | None] | None:
    """Section 2 step 2: the (nickname, since) a choosing frame asks for, or None.

    A frame that is a JSON packet is the resume form or nothing; any other
    text is a bare nickname, even one that starts with "{". A `since` of null
    counts as no `since`, as the server reads it.
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    packet = json_packet(text)
    if packet is None:
        name = valid_nickname(text)
        return None if name is None else (name, None)
    if not isinstance(packet.get("nickname"), str):
        return None
    if not isinstance(packet.get("token", ""), str | None):
        return None
    since = packet.get("since")
    if since is not None and (type(since) is not int or since < 0):
        return None
    name = valid_nickname(packet["nickname"])
    return None if name is None else (name, since)


def is_json_bye(payload: bytes) -> bool:
    """Section 2 step 5: a chat packet without `to` whose message is exactly BYE."""
    try:
        packet = json_packet(payload.decode("utf-8"))
    except UnicodeDecodeError:
        return False
    return packet is not None and packet.get("message") == "BYE" and "to" not in packet


def message_error(message: Any) -> str | None:
    """Section 4: the error code for a `message` value, in the spec's order, or None."""
    if not isinstance(message, str):
        return "malformed"
    if len(message.encode("utf-8")) > MAX_MESSAGE_BYTES:
        return "too-long"
    if not message or message.isspace():
        return "empty"
    normalised = message.replace("\r\n", "\n")
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n" for c in normalised):
        return "control-chars"
    return None


def split_frames(stream: bytes) -> tuple[list[bytes], bytes]:
    """Section 1: the complete frames of a byte stream and the bytes left over."""
    frames: list[bytes] = []
    offset = 0
    while len(stream) - offset >= 2:
        (length,) = struct.unpack_from(">H", stream, offset)
        if len(stream) - offset - 2 < length:
            break
        frames.append(stream[offset + 2 : offset + 2 + length])
        offset += 2 + length
    return frames, stream[offset:]


Shape = tuple[Any, ...]


@dataclass
class RoomModel:
    """What the spec says the junk client and the watcher receive, frame by frame.

    C{rate}/C{burst}/C{flood_errors} model section 7's token bucket on a clock
    that never moves: C{burst} frames pass, then every frame is `rate-limited`.
    """

    rate: float = 0
    burst: int = 0
    flood_errors: int = 0
    history: list[tuple[int, str, str]] = field(default_factory=list)
    users: list[str] = field(default_factory=lambda: [WATCHER])
    state: str = "choosing"
    nickname: str = ""
    tokens: int = 0
    rate_errors: int = 0
    sender: list[Shape] = field(default_factory=list)
    watcher: list[Shape] = field(default_factory=list)

    def frame(self, payload: bytes) -> None:
        """Apply one complete frame from the junk client."""
        if self.state == "choosing":
            self._choosing(payload)
        elif self.state == "joined":
            self._joined(payload)

    def dropped(self) -> None:
        """The junk client's connection drops (section 2 step 6)."""
        if self.state == "joined":
            self._leave("disconnected")
        self.state = "closed"

    def _choosing(self, payload: bytes) -> None:
        if payload == b"BYE":
            self.state = "closed"
            return
        choice = chosen_nickname(payload)
        if choice is None or any(nickname_key(u) == nickname_key(choice[0]) for u in self.users):
            self.sender.append(("RETRY",))
            return
        name, since = choice
        self.state, self.nickname, self.tokens = "joined", name, self.burst
        self.users.append(name)
        self.sender.append(("READY",))
        replay = self.history if since is None else [m for m in self.history if m[0] > since]
        self.sender += [("chat", i, who, text, True) for i, who, text in replay]
        self.sender.append(("welcome", tuple(self.users)))
        self.watcher.append(("join", name))

    def _joined(self, payload: bytes) -> None:
        if payload == b"BYE":
            self._leave("bye")
            return
        if self.rate:
            if self.tokens < 1 and is_json_bye(payload):  # BYE in either form is not counted
                self._leave("bye")
                return
            if self.tokens < 1:
                self.rate_errors += 1
                self.sender.append(("error", "rate-limited"))
                if self.flood_errors and self.rate_errors >= self.flood_errors:
                    self._leave("flood")
                return
            self.tokens -= 1
            self.rate_errors = 0
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            self.sender.append(("error", "malformed"))
            return
        if text in CONTROL_WORDS:
            self.sender.append(("error", "unknown-command"))
            return
        packet = json_packet(text)
        if packet is None:
            self.sender.append(("error", "malformed"))
        elif "message" in packet:
            self._chat(packet)
        elif "command" in packet:
            if packet["command"] == "who":
                self.sender.append(("who", tuple(self.users)))
            else:
                self.sender.append(("error", "unknown-command"))
        else:
            self.sender.append(("error", "malformed"))

    def _chat(self, packet: dict[str, Any]) -> None:
        message = packet["message"]
        if "to" not in packet and message == "BYE":
            self._leave("bye")
            return
        to = packet.get("to", "")
        error = "malformed" if not isinstance(to, str) else message_error(message)
        if error is not None:
            self.sender.append(("error", error))
            return
        text = message.replace("\r\n", "\n")
        if "to" not in packet:
            message_id = len(self.history) + 1
            self.history.append((message_id, self.nickname, text))
            self.sender.append(("chat", message_id, self.nickname, text, False))
            self.watcher.append(("chat", message_id, self.nickname, text, False))
            return
        recipient = next((u for u in self.users if nickname_key(u) == nickname_key(to)), None)
        if recipient is None:
            self.sender.append(("error", "no-such-user"))
            return
        private = ("private", self.nickname, recipient, text)
        self.sender.append(private)
        if recipient == WATCHER:
            self.watcher.append(private)

    def _leave(self, reason: str) -> None:
        self.state = "closed"
        self.users.remove(self.nickname)
        self.watcher.append(("leave", self.nickname, reason))


def shape(packet: Any) -> Shape:
    """A received frame reduced to what the oracle predicts about it."""
    if isinstance(packet, str):
        return (packet,)
    event = packet.get("event")
    if event == "error":
        return ("error", packet["code"])
    if event in ("welcome", "who"):
        return (event, tuple(packet["users"]))
    if event == "join":
        return ("join", packet["user"])
    if event == "leave":
        return ("leave", packet["user"], packet["reason"])
    if event is not None:
        return (event,)
    if "to" in packet:
        return ("private", packet["nickname"], packet["to"], packet["message"])
    return ("chat", packet["id"], packet["nickname"], packet["message"], "history" in packet)


# -- strategies ------------------------------------------------------------------


def framed(payload: bytes) -> bytes:
    """One frame: the uint16 length prefix and C{payload}."""
    return struct.pack(">H", len(payload)) + payload


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _dumps(value: Any) -> bytes:
    return _encode(json.dumps(value))


_names = st.sampled_from(
    [WATCHER, "WATCHER", "ｗatcher", "junk", "Junk", "server", "nobody", "", "a b", "x" * 33]
)
_nickname_texts = st.one_of(_names, st.text(max_size=34))
_printable = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20)
_messages = st.one_of(
    _printable,
    _printable,
    st.text(max_size=20),
    st.text(alphabet=" \t\r\n\x00\x07\x1b\x7f\x85\u200b\u2028", max_size=6),
    st.text(min_size=MAX_MESSAGE_BYTES - 2, max_size=MAX_MESSAGE_BYTES + 2),
    st.sampled_from(["BYE", "hi", "a\r\nb", "a\rb", "é" * 32, "é" * 33, "👩‍💻"]),
    st.sampled_from([0, None, True, 1.5, [1], {"a": "b"}]),  # one branch: one_of flattens
)
_json_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
_json_values = st.recursive(
    _json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@st.composite
def _chat_packets(draw: st.DrawFn) -> bytes:
    packet: dict[str, Any] = {"message": draw(_messages)}
    if draw(st.booleans()):
        packet["to"] = draw(st.one_of(_names, st.sampled_from([5, None, ["watcher"]])))
    if draw(st.booleans()):
        packet[draw(st.sampled_from(["nickname", "timestamp", "id", "x"]))] = draw(_json_values)
    return _dumps(packet)


def _nested(depth: int, opener: str, inner: str = "1") -> bytes:
    """C{depth} levels of nesting: arrays, or objects keyed "a", around C{inner}."""
    if opener == "[":
        return _encode("[" * depth + inner + "]" * depth)
    return _encode('{"a":' * depth + inner + "}" * depth)


# Up to 10000 levels: an object level takes 6 bytes and a frame holds 65535.
_depths = st.one_of(st.integers(MAX_DEPTH - 1, MAX_DEPTH + 2), st.integers(1, 10000))
_deep = st.one_of(
    # Nested packets that are otherwise fine chat packets.
    st.builds(
        lambda depth: _encode('{"message":"deep","x":') + _nested(depth - 1, "[") + b"}", _depths
    ),
    st.builds(_nested, _depths, st.sampled_from("[{")),
    # Openers only, as many as a frame holds, or inside a string (not nesting at all).
    st.builds(lambda n: b"[" * n, st.integers(1, 65535)),
    st.builds(lambda n: b'{"message":"' + b"[" * n + b'"}', st.integers(30, 70)),
)
_near_json = st.sampled_from(
    [
        b"{}",
        b"[]",
        b"42",
        b'"hi"',
        b"null",
        b'{"message":"hi"',
        b'{"message":"a","message":"b"}',
        b'{"message":NaN}',
        b'{"message":"hi","n":Infinity}',
        b'{"message":"\\ud800"}',
        b'{"message":"\\udfff x"}',
        b'{"message":"\\ud83d\\ude00"}',
        b'{"message":"tab\there"}',
        b'{"message":"hi"} ',
        b' {"message":"hi"}',
        b'{"command":"who"}',
        b'{"command":"WHO"}',
        b'{"command":null}',
        b'{"message":"hi","command":"who"}',
        b'{"nickname":"ok"}',
        b'{"nickname":"ok","since":0}',
        b'{"nickname":"ok","since":-1}',
        b'{"nickname":"ok","since":true}',
        b'{"nickname":"ok","since":1.0}',
        b'{"nickname":5}',
        b'\n{"nickname":"ok"} ',
        b"{abc",
        b"{\xff}",
    ]
)


@st.composite
def _resume_forms(draw: st.DrawFn) -> bytes:
    packet: dict[str, Any] = {"nickname": draw(st.one_of(_nickname_texts, st.integers()))}
    if draw(st.booleans()):
        packet["since"] = draw(st.one_of(st.integers(-2, 3), st.booleans(), st.floats(0, 2)))
    return _dumps(packet)


_invalid_utf8 = st.builds(
    lambda head, bad, tail: head + bad + tail,
    st.binary(max_size=8),
    st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80"]),
    st.binary(max_size=8),
)
_commands = st.builds(
    lambda command: _dumps({"command": command}),
    st.one_of(st.sampled_from(["who", "WHO", "users", ""]), _json_values),
)
_chats = _chat_packets()
# Chat packets and commands are listed more than once: one_of picks branches evenly.
payloads = st.one_of(
    _chats,
    _chats,
    _chats,
    _commands,
    st.binary(max_size=40),
    st.just(b""),
    _invalid_utf8,
    st.sampled_from(CONTROL_WORDS).map(_encode),
    _near_json,
    _deep,
    _nickname_texts.map(_encode),
    _resume_forms(),
    st.builds(lambda byte: bytes([byte]) * 65535, st.integers(0, 255)),
)


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """Frames, sometimes raw noise between them, sometimes a truncated last frame."""
    pieces: list[bytes] = []
    for payload in draw(st.lists(payloads, min_size=1, max_size=16)):
        pieces.append(framed(payload))
        if draw(st.integers(0, 24)) == 0:
            pieces.append(draw(st.binary(min_size=1, max_size=6)))
    if draw(st.booleans()):
        promised = draw(st.integers(1, 65535))
        pieces.append(struct.pack(">H", promised) + draw(st.binary(max_size=promised - 1)))
    return b"".join(pieces)


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    """C{stream} cut at C{points} (offsets into it, any order, repeats allowed)."""
    bounds = [0, *sorted(set(points)), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def split(draw: st.DrawFn, stream_strategy: st.SearchStrategy[bytes]) -> list[bytes]:
    """A byte stream cut into chunks at arbitrary points (one byte at a time included)."""
    stream = draw(stream_strategy)
    if draw(st.integers(0, 19)) == 0 and len(stream) < 200:
        return [stream[i : i + 1] for i in range(len(stream))]
    return cut(stream, draw(st.lists(st.integers(0, len(stream)), max_size=16)))


#: One frame for each answer section 4 and 5 define, then BYE and a frame after it.
TOUR = b"".join(
    framed(payload)
    for payload in [
        b'{"message":"hi"}',
        b'{"message":"psst","to":"WATCHER"}',
        b'{"message":"me","to":"junk"}',
        b'{"message":"hi","to":"nobody"}',
        b'{"message":" \\r\\n"}',
        b'{"message":"bell\\u0007"}',
        b'{"message":"' + b"x" * (MAX_MESSAGE_BYTES + 1) + b'"}',
        b'{"message":5}',
        b'{"message":"hi","to":5}',
        b'{"command":"who"}',
        b'{"command":"frobnicate"}',
        b"NICK",
        b"",
        b'{"message":"BYE"}',
        b'{"message":"after BYE"}',
    ]
)


# -- the properties --------------------------------------------------------------


@dataclass
class Scene:
    """A room with a watcher who said one thing, and a model of what happens next."""

    watcher: FakeClient
    junk: FakeClient
    model: RoomModel
    advance: Callable[[float], None]


def make_scene(joined: bool, **limits: Any) -> Scene:
    """A room (rate off unless C{limits} say otherwise), the watcher, and the junk client."""
    limits.setdefault("rate", 0)
    room, clock, _ = make_room(max_message_bytes=MAX_MESSAGE_BYTES, **limits)
    watcher = FakeClient(room, port=1)
    watcher.join(WATCHER)
    watcher.send_json({"message": "hello"})
    model = RoomModel(
        rate=limits["rate"],
        burst=limits.get("burst", 20),
        flood_errors=limits.get("flood_errors", 50),
        history=[(1, WATCHER, "hello")],
    )
    junk = FakeClient(room, port=2)
    assert junk.received() == ["HELLO", "NICK"]
    if joined:
        junk.send("junk")
        model.frame(b"junk")
        assert [shape(f) for f in junk.received()] == model.sender
        model.sender.clear()
    clock.advance(SETTLE)
    watcher.received()
    model.watcher.clear()
    return Scene(watcher, junk, model, clock.advance)


def feed_and_check(scene: Scene, chunks: list[bytes]) -> None:
    """Feed C{chunks}, then drop the connection; both transcripts must be the oracle's."""
    frames, _ = split_frames(b"".join(chunks))
    for payload in frames:
        scene.model.frame(payload)
    for chunk in chunks:
        scene.junk.protocol.dataReceived(chunk)  # nothing may raise out of here
        scene.advance(0)  # the reactor turn ends between reads
    scene.advance(SETTLE)
    sender = [shape(f) for f in scene.junk.received()]
    for kind in {s[1] if s[0] == "error" else s[0] for s in sender}:
        event(f"answer: {kind}")  # --hypothesis-show-statistics shows what was covered
    assert sender == scene.model.sender
    assert scene.junk.closed == (scene.model.state == "closed")

    scene.junk.drop()
    scene.model.dropped()
    scene.advance(SETTLE)
    assert [shape(f) for f in scene.watcher.received()] == scene.model.watcher
    # The watcher can still talk and gets the next id: the room never noticed.
    scene.watcher.send_json({"message": "still here"})
    next_id = len(scene.model.history) + 1
    assert [shape(f) for f in scene.watcher.received()] == [
        ("chat", next_id, WATCHER, "still here", False)
    ]


@JUNK_SETTINGS
@given(chunks=split(streams()))
@example(chunks=[b"\x00\x00"])  # an empty frame
@example(chunks=[b"\x00\x05ab", b"c"])  # promises 5 bytes, sends 3
@example(chunks=[b"\x00\x03BYE\x00\x02hi"])  # frames after BYE are ignored
@example(chunks=[b"\x00\x01\xff\x00\x05alice"])  # invalid UTF-8, then a nickname
@example(chunks=[framed(b"{"), framed(b"{abc")])  # not JSON: bare nicknames
@example(chunks=[framed(b'\r\n {"nickname":"ok","since":1}\t')])  # JSON whitespace around
@example(chunks=[framed(b'{"nickname":"late","since":0}'), TOUR])
def test_junk_while_choosing(chunks: list[bytes]) -> None:
    """Before READY: RETRY per frame (READY for a valid free nickname), nothing else."""
    feed_and_check(make_scene(joined=False), chunks)


@JUNK_SETTINGS
@given(chunks=split(streams()))
@example(chunks=[b"\x00\x00"])
@example(chunks=[b"\xff\xff" + b"[" * 65535])  # the deepest nesting a frame can carry
@example(chunks=[framed(b'{"message":"x","n":' + b"[" * 31 + b"]" * 31 + b"}")])  # depth 32
@example(chunks=[framed(b'{"message":"x","n":' + b"[" * 32 + b"]" * 32 + b"}")])  # depth 33
@example(chunks=[b"\x00\x11", b'{"message":"BYE"}', b"\x00\x02hi"])
@example(chunks=[TOUR])
def test_junk_while_joined(chunks: list[bytes]) -> None:
    """After READY: one answer per frame (error, echo, who, private copy), as section 4 says."""
    feed_and_check(make_scene(joined=True), chunks)


@JUNK_SETTINGS
@given(chunks=split(streams()))
@example(chunks=[TOUR])
@example(chunks=[framed(b'{"message":"hi"}') * 3 + framed(b'{"message":"BYE"}')])  # not counted
def test_junk_while_joined_and_rate_limited(chunks: list[bytes]) -> None:
    """With --rate on and a clock that stands still: the burst, then rate-limited, then flood."""
    feed_and_check(make_scene(joined=True, rate=1, burst=3, flood_errors=4), chunks)


@JUNK_SETTINGS
@given(stream=st.binary(max_size=3000), joined=st.booleans(), data=st.data())
def test_arbitrary_bytes(stream: bytes, joined: bool, data: st.DataObject) -> None:
    """Uniformly random bytes, no structure at all, split anywhere."""
    chunks = cut(stream, data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    feed_and_check(make_scene(joined=joined), chunks)


def test_oracle_agrees_with_the_spec_examples() -> None:
    """The oracle itself, on the examples docs/protocol.md and tests/test_room.py spell out."""
    assert chosen_nickname(b"alice") == ("alice", None)
    assert chosen_nickname(_encode("ｂｏｂ")) == ("bob", None)
    assert chosen_nickname(b'{"nickname": "alice", "since": 41}') == ("alice", 41)
    for bad in ["server", "Server", "", "a b", "x" * 33, "HELLO", "zero\u200bwidth", "bell\x07"]:
        assert chosen_nickname(_encode(bad)) is None, bad
    for bad_form in [b'{"nickname": "bob", "since": -1}', b'{"nickname": "bob", "since": true}']:
        assert chosen_nickname(bad_form) is None, bad_form
    assert json_packet('{"a":' * 31 + "1" + "}" * 31) is not None
    assert json_packet('{"a":' * 33 + "1" + "}" * 33) is None
    assert [message_error(m) for m in ["ok", " \n", "a\x00", "👩‍💻", 5]] == [
        None,
        "empty",
        "control-chars",
        None,
        "malformed",
    ]


#: U+FDFA is one code point that NFKC turns into 18: the most expensive nickname text.
_LIGATURE = "\ufdfa"


def test_refusing_an_oversized_nickname_is_cheap() -> None:
    """A 64 KiB nickname (or `to`) is refused without normalising it.

    NFKC never folds more than a few code points into one, so a text of more
    than 8 * 32 code points can never be a valid nickname and needs no
    normalising (which costs milliseconds for 64 KiB of U+FDFA, the code
    point NFKC expands most). The cost itself is a timing claim for bench/;
    this test checks the behaviour that keeps it low.
    """
    room, _, _ = make_room(rate=0)
    joined = FakeClient(room, port=1)
    joined.join("alice")
    choosing = FakeClient(room, port=2)
    choosing.received()
    longest = _LIGATURE * (0xFFFF // len(_LIGATURE.encode()))
    private = json.dumps({"message": "hi", "to": longest[:21000]}, ensure_ascii=False)
    normalised: list[int] = []
    real_normalize = unicodedata.normalize

    def counting_normalize(form: Any, text: str) -> str:
        normalised.append(len(text))
        return real_normalize(form, text)

    with mock.patch("chatproto.core.nicknames.unicodedata.normalize", counting_normalize):
        for _ in range(20):
            choosing.send(longest)
            joined.send(private)
        assert choosing.events() == ["RETRY"] * 20
        assert [f["code"] for f in joined.received()] == ["no-such-user"] * 20
    assert all(length <= 256 for length in normalised), max(normalised)
