"""The limits of docs/protocol.md section 7, on fakes with a fake clock."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.tcp.framing import frame
from chatproto.doors.tcp.protocol import WordPacketProtocol
from tests.fakes import FakeClient, FullBufferTransport, MemoryHistory, decode_frames, make_room


class RateLimitTests(SynchronousTestCase):
    """--rate/--burst token bucket and --flood-errors."""

    def setUp(self) -> None:
        self.room, self.clock, self.history = make_room(rate=2, burst=3, flood_errors=4)
        self.alice = FakeClient(self.room, port=1)
        self.alice.join("alice")

    def send(self, count: int) -> list[object]:
        for n in range(count):
            self.alice.send_json({"message": f"m{n}"})
        return self.alice.received()

    def test_burst_then_rate_limited_with_retry_after(self) -> None:
        frames = self.send(4)
        self.assertEqual(len([f for f in frames if isinstance(f, dict) and "id" in f]), 3)
        error = frames[-1]
        assert isinstance(error, dict)
        self.assertEqual(error["code"], "rate-limited")
        self.assertEqual(error["retry_after"], 0.5)
        self.clock.advance(0.5)
        self.assertEqual(self.alice.events(), [])
        self.alice.send_json({"message": "paced"})
        self.assertEqual(self.alice.events(), [("alice", "paced")])

    def test_bye_is_not_counted(self) -> None:
        self.send(4)
        self.alice.send("BYE")
        self.assertTrue(self.alice.closed)

    def test_json_bye_is_not_counted(self) -> None:
        self.send(4)
        self.alice.send_json({"message": "BYE"})
        self.assertTrue(self.alice.closed)

    def test_flood_disconnects(self) -> None:
        watcher = FakeClient(self.room, port=2)
        watcher.join("watcher")
        frames = self.send(3 + 4)
        self.assertEqual([f["code"] for f in frames if isinstance(f, dict) and "code" in f],
                         ["rate-limited"] * 4)  # fmt: skip
        self.assertTrue(self.alice.closed)
        leave = watcher.received()[-1]
        self.assertEqual((leave["event"], leave["reason"]), ("leave", "flood"))

    def test_an_accepted_frame_resets_the_run(self) -> None:
        self.send(3 + 3)
        self.clock.advance(0.5)
        self.send(1 + 3)
        self.assertFalse(self.alice.closed)

    def test_rate_zero_is_off(self) -> None:
        room, _, _ = make_room(rate=0)
        client = FakeClient(room)
        client.join("fast")
        for n in range(100):
            client.send_json({"message": str(n)})
        self.assertEqual(len(client.received()), 100)


class SlowReaderTests(SynchronousTestCase):
    """--sendq-bytes: a client that does not read is dropped, others unaffected."""

    def test_slow_reader_dropped(self) -> None:
        room, clock, _ = make_room(sendq_bytes=1000, rate=0)
        slow = FakeClient(room, port=1)
        slow.join("slow")
        fast = FakeClient(room, port=2)
        fast.join("fast")
        slow.received()
        protocol: WordPacketProtocol = slow.protocol
        protocol.pauseProducing()  # what the transport does when its buffer is full
        for n in range(20):
            fast.send_json({"message": "x" * 100 + str(n)})
            clock.advance(0)
        self.assertTrue(slow.transport.disconnecting or not slow.transport.connected)
        frames = fast.received()
        leaves = [f for f in frames if f.get("event") == "leave"]
        self.assertEqual([(f["user"], f["reason"]) for f in leaves], [("slow", "slow")])
        self.assertEqual(len([f for f in frames if "id" in f]), 20)

    def test_resume_resets_count(self) -> None:
        room, clock, _ = make_room(sendq_bytes=1000, rate=0)
        reader = FakeClient(room, port=1)
        reader.join("reader")
        for _ in range(5):
            reader.protocol.pauseProducing()
            reader.send_json({"message": "y" * 600})
            clock.advance(0)
            reader.protocol.resumeProducing()
        self.assertEqual(len(reader.received()), 5)


class ConnectionLimitTests(SynchronousTestCase):
    """--max-clients and --max-per-ip (loopback exempt)."""

    def test_max_clients_counts_choosing(self) -> None:
        room, _, _ = make_room(max_clients=2)
        FakeClient(room, port=1)
        FakeClient(room, port=2)
        third = FakeClient(room, port=3)
        (error,) = third.received()
        self.assertEqual(error["code"], "server-full")
        self.assertTrue(third.closed)

    def test_room_is_open_again_after_a_leave(self) -> None:
        room, _, _ = make_room(max_clients=1)
        first = FakeClient(room, port=1)
        first.drop()
        self.assertEqual(FakeClient(room, port=2).received(), ["HELLO", "NICK"])

    def test_max_per_ip(self) -> None:
        room, _, _ = make_room(max_per_ip=2)
        for port in (1, 2):
            FakeClient(room, host="192.0.2.7", port=port)
        refused = FakeClient(room, host="192.0.2.7", port=3)
        self.assertEqual(refused.received()[0]["code"], "server-full")
        self.assertEqual(FakeClient(room, host="192.0.2.8").received(), ["HELLO", "NICK"])
        for port in range(10):
            self.assertEqual(FakeClient(room, port=port).received(), ["HELLO", "NICK"])
            self.assertEqual(FakeClient(room, host="::1", port=port).received(), ["HELLO", "NICK"])
            mapped = FakeClient(room, host="::ffff:127.0.0.1", port=port)  # dual-stack listener
            self.assertEqual(mapped.received(), ["HELLO", "NICK"])


class StreamedReplayTests(SynchronousTestCase):
    """A big replay goes out at the reader's pace; live traffic waits behind it."""

    def setUp(self) -> None:
        history = MemoryHistory()
        for message_id in range(1, 201):  # about 1 MB of history
            history.append(message_id, b'{"id":%d,"message":"%s"}' % (message_id, b"x" * 5000))
        self.room, self.clock, _ = make_room(history=history, rate=0, sendq_bytes=50_000)
        self.talker = FakeClient(self.room, port=1)
        self.talker.join("talker")
        self.reader = FakeClient(self.room, port=2, buffer_limit=65536)
        self.reader.received()
        self.reader.send('{"nickname": "reader", "since": 0}')

    def test_replay_waits_for_the_reader_and_live_traffic_follows_it(self) -> None:
        transport = self.reader.transport
        assert isinstance(transport, FullBufferTransport)
        self.clock.advance(0)
        first = decode_frames(transport.value())
        self.assertEqual(first[0], "READY")
        self.assertLess(len(first), 30)  # about 64 KiB, not the whole megabyte
        self.talker.send_json({"message": "live"})
        self.clock.advance(0)
        frames: list[Any] = []
        while data := transport.drain():
            frames += decode_frames(data)
        ids = [f["id"] for f in frames if isinstance(f, dict) and f.get("history")]
        self.assertEqual(ids, list(range(1, 201)))
        tail = [f.get("event") or f.get("message") for f in frames[201:]]
        self.assertEqual(tail, ["welcome", "live"])

    def test_bye_during_a_replay_still_gets_all_it_is_owed(self) -> None:
        transport = self.reader.transport
        assert isinstance(transport, FullBufferTransport)
        self.reader.send("BYE")
        self.assertFalse(transport.disconnecting)
        frames: list[Any] = []
        while data := transport.drain():
            frames += decode_frames(data)
        self.assertEqual(len([f for f in frames if isinstance(f, dict) and f.get("history")]), 200)
        self.assertEqual(frames[-1]["event"], "welcome")
        self.assertTrue(transport.disconnecting)
        self.assertTrue(self.room.is_free("reader"))

    def test_traffic_held_behind_a_replay_counts_against_the_sendq(self) -> None:
        seen = []
        for n in range(20):
            self.talker.send_json({"message": "y" * 3000 + str(n)})
            seen += self.talker.received()
        self.assertTrue(self.reader.closed)
        leave = [f for f in seen if f.get("event") == "leave"]
        self.assertEqual([(f["user"], f["reason"]) for f in leave], [("reader", "slow")])


class ChoosingThrottleTests(SynchronousTestCase):
    """A choosing client over the rate is answered, then no longer read for a while."""

    def test_retry_storm_is_throttled_not_refused(self) -> None:
        room, clock, _ = make_room(rate=10, burst=3)
        client = FakeClient(room)
        client.received()
        client.protocol.dataReceived(b"".join(frame(b"bad name") for _ in range(10)))
        self.assertEqual(client.received(), ["RETRY"] * 4)  # the burst, then the frame that ran out
        self.assertEqual(client.transport.producerState, "paused")
        clock.advance(0.1)  # one token later
        self.assertEqual(client.received(), ["RETRY"])
        for _ in range(10):  # a second passes: one frame read every 0.1 s
            clock.advance(0.1)
        self.assertEqual(client.received(), ["RETRY"] * 5)
        client.send("fine")
        self.assertEqual(client.received()[0], "READY")
        self.assertFalse(client.closed)
