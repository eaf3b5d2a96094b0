"""The room core on fakes, without any wire: a fake door records what each member gets.

The fake codec turns each record into one line, so a member's output reads as
the records it was sent; the fake link records writes, closes and aborts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from chatproto.core.connection import Connection
from chatproto.core.hall import Hall
from chatproto.core.member import CloseReason, ICodec, ILink, IMember
from chatproto.doors.packets.dialogue import PacketSession
from chatproto.doors.tcp.protocol import WORD_PACKET_CODEC, WordPacketProtocol
from chatproto.doors.websocket.protocol import WEBSOCKET_CODEC
from chatproto.history import JsonLinesHistory
from chatproto.seams.history import IHistoryStore, Stored
from chatproto.seams.hub import IBroadcastHub, LocalHub
from chatproto.seams.presence import IPresence, LocalPresence
from tests.fakes import MemoryHistory, make_room


@implementer(ICodec)
class LineCodec:
    """Each record as one line; counts the batches it encodes."""

    echoes_sender = True

    def __init__(self) -> None:
        self.batches = 0

    def encode(self, record: bytes) -> bytes:
        return record + b"\n"

    def encode_batch(self, records: Sequence[bytes]) -> bytes:
        self.batches += 1
        return b"".join(record + b"\n" for record in records)

    def encode_replayed(self, record: bytes) -> bytes:
        return b"replayed " + record + b"\n"

    def same_for_all(self, data: bytes) -> bool:
        return True


@implementer(ILink)
class RecordingLink:
    """What a door's transport saw."""

    def __init__(self) -> None:
        self.written = b""
        self.closed: CloseReason | None = None
        self.aborted = False
        self.reading = True

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self, reason: CloseReason) -> None:
        self.closed = reason

    def abort(self) -> None:
        self.aborted = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


class FakeMember(Connection):
    """A member of a door that shows a join as 'entered' and then the records."""

    def entrance(
        self, replay: Iterator[bytes], welcome: bytes, tail: Sequence[bytes]
    ) -> Iterator[bytes]:
        yield b"entered\n"
        for record in replay:
            yield self.codec.encode_replayed(record)
        yield self.codec.encode(welcome)
        for record in tail:
            yield self.codec.encode(record)

    def lines(self) -> list[Any]:
        """What it was sent since the last call: control lines as str, records as dicts."""
        self.hall.flush()
        link = self.link
        assert isinstance(link, RecordingLink)
        text, link.written = link.written.decode(), b""
        return [json.loads(line) if line.startswith("{") else line for line in text.splitlines()]


def member(room: Hall, codec: LineCodec, host: str | None = "127.0.0.1") -> FakeMember:
    """A connected member (admitted, greeted) of a fake door."""
    connection = FakeMember(room, RecordingLink(), codec, f"fake:{id(codec)}", host)
    assert connection.open(b"greeting\n")
    connection.lines()
    return connection


def join(room: Hall, connection: FakeMember, nickname: str, **resume: Any) -> list[Any]:
    """Join and return what followed (entrance, replay, welcome)."""
    joined: list[bool] = []
    room.join(connection, nickname, resume.get("since"), resume.get("token")).addCallback(
        joined.append
    )
    assert joined == [True], nickname
    return connection.lines()


class InterfaceTests(SynchronousTestCase):
    """Every door and seam provides the interface the core relies on."""

    def test_members_links_and_codecs(self) -> None:
        room, _, _ = make_room()
        verifyObject(IMember, member(room, LineCodec()))
        verifyObject(IMember, PacketSession(room, RecordingLink(), WORD_PACKET_CODEC, "p", None))
        verifyObject(ILink, WordPacketProtocol())
        verifyObject(ICodec, WORD_PACKET_CODEC)
        verifyObject(ICodec, WEBSOCKET_CODEC)

    def test_seams(self) -> None:
        verifyObject(IPresence, LocalPresence())
        verifyObject(IBroadcastHub, LocalHub())
        verifyObject(IHistoryStore, MemoryHistory())
        path = self.mktemp()
        store = JsonLinesHistory(path, fsync="never")
        self.addCleanup(store.close)
        verifyObject(IHistoryStore, store)


class FanOutTests(SynchronousTestCase):
    """Room-wide records are encoded once per codec per turn, whatever the members."""

    def test_one_encoding_per_codec_per_turn(self) -> None:
        room, _, _ = make_room(rate=0)
        doors = [LineCodec(), LineCodec()]
        members = [member(room, doors[n % 2]) for n in range(10)]
        for n, connection in enumerate(members):
            join(room, connection, f"m{n}")
        for connection in members:
            connection.lines()
        before = [codec.batches for codec in doors]
        for n in range(5):
            room.publish(members[n], f"hello {n}")
        room.flush()
        self.assertEqual(
            [codec.batches - b for codec, b in zip(doors, before, strict=True)], [1, 1]
        )
        for connection in members:
            got = [line["message"] for line in connection.lines()]
            self.assertEqual(got, [f"hello {n}" for n in range(5)])

    def test_a_codec_that_does_not_echo_leaves_out_the_senders_own(self) -> None:
        room, _, _ = make_room(rate=0)
        quiet = LineCodec()
        quiet.echoes_sender = False
        alice, bob = member(room, quiet), member(room, LineCodec())
        join(room, alice, "alice")
        join(room, bob, "bob")
        alice.lines()
        room.publish(alice, "from alice")
        room.publish(bob, "from bob")
        self.assertEqual([line["message"] for line in alice.lines()], ["from bob"])
        self.assertEqual([line["message"] for line in bob.lines()], ["from alice", "from bob"])


class ResumeTokenTests(SynchronousTestCase):
    """docs/protocol.md section 2: the token takes a place back, without noise."""

    def setUp(self) -> None:
        self.room, _, _ = make_room()
        self.codec = LineCodec()
        self.old = member(self.room, self.codec)
        self.welcome = join(self.room, self.old, "alice")[-1]
        self.watcher = member(self.room, self.codec)
        join(self.room, self.watcher, "watcher")
        self.old.lines()

    def test_the_token_replaces_the_lost_connection_silently(self) -> None:
        token = self.welcome["resume_token"]
        self.assertGreaterEqual(len(token), 22)
        new = member(self.room, self.codec)
        after = join(self.room, new, "ALICE", since=0, token=token)
        self.assertEqual(after[0], "entered")
        self.assertEqual(after[-1]["users"], ["alice", "watcher"])
        self.assertNotEqual(after[-1]["resume_token"], token)
        link = self.old.link
        assert isinstance(link, RecordingLink)
        self.assertTrue(link.aborted)
        self.old.lost()  # the transport goes: no leave for a replaced member
        self.assertEqual(self.watcher.lines(), [])

    def test_a_wrong_token_changes_nothing(self) -> None:
        new = member(self.room, self.codec)
        answers: list[bool] = []
        self.room.join(new, "alice", 0, "not-the-token").addCallback(answers.append)
        self.assertEqual(answers, [False])
        link = self.old.link
        assert isinstance(link, RecordingLink)
        self.assertFalse(link.aborted)


class LateStore(MemoryHistory):
    """A store whose replays answer only when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[Deferred[list[Stored]], int]] = []

    def recent(self, count: int) -> Deferred[list[Stored]]:
        answer: Deferred[list[Stored]] = Deferred()
        self.pending.append((answer, count))
        return answer

    def answer(self) -> None:
        """Answer with what is stored now: newer than what was asked for."""
        for answer, count in self.pending:
            answer.callback(list(self.records)[-count:])


class LateStoreTests(SynchronousTestCase):
    """The join guarantee holds for a store that answers later."""

    def test_no_gap_and_no_duplicate(self) -> None:
        store = LateStore()
        room, _, _ = make_room(history=store, rate=0)
        codec = LineCodec()
        alice = member(room, codec)
        store.recent = lambda count: succeed(list(store.records)[-count:])  # type: ignore[method-assign]
        join(room, alice, "alice")
        room.publish(alice, "before")
        del store.recent  # back to answering late
        bob = member(room, codec)
        room.join(bob, "bob", None)
        room.publish(alice, "while bob waits")  # stored after bob subscribed: live
        self.assertEqual(bob.lines(), [])  # held until the replay is there
        store.answer()  # the store's answer holds both messages; the second is cut
        lines = bob.lines()
        self.assertEqual(lines[0], "entered")
        label, record = lines[1].split(" ", 1)
        self.assertEqual((label, json.loads(record)["message"]), ("replayed", "before"))
        self.assertEqual((lines[2]["event"], lines[2]["last_id"]), ("welcome", 1))
        self.assertEqual([line["message"] for line in lines[3:]], ["while bob waits"])


class ReadingHoldTests(SynchronousTestCase):
    """Overlapping reasons to stop reading (rate debt, a pending claim) pause the link once,
    and it reads again only when both are over, on every door."""

    def test_rate_debt_ending_during_a_claim_does_not_resume_reading(self) -> None:
        room, clock, _ = make_room(rate=1, burst=1)
        connection = member(room, LineCodec())
        link = connection.link
        assert isinstance(link, RecordingLink)
        connection.throttle()
        connection.throttle()  # into debt: reading stops for a second
        self.assertFalse(link.reading)
        connection.hold_reading()  # a nickname claim the store has not answered yet
        clock.advance(2)  # the debt is paid while the claim is pending
        self.assertFalse(link.reading)
        connection.release_reading()  # the claim is answered
        self.assertTrue(link.reading)
