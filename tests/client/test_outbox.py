"""The outbox: one frame in flight, resent after a rate limit or a reconnect."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from chatproto.client.outbox import Outbox, Outgoing


class OutboxTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.outbox = Outbox(self.clock)
        self.sent: list[bytes] = []

    def test_nothing_goes_before_open_then_one_at_a_time(self) -> None:
        self.outbox.put(Outgoing(b"a"))
        self.outbox.put(Outgoing(b"b"))
        self.assertEqual(self.sent, [])
        self.outbox.open(self.sent.append)
        self.assertEqual(self.sent, [b"a"])
        self.outbox.answered()
        self.assertEqual(self.sent, [b"a"])
        self.outbox.send_next()
        self.assertEqual(self.sent, [b"a", b"b"])

    def test_put_next_and_put_first_go_ahead_of_what_waits(self) -> None:
        self.outbox.open(self.sent.append)
        for frame in (b"a", b"b"):
            self.outbox.put(Outgoing(frame))
        self.outbox.put_next(Outgoing(b"next"))
        self.outbox.put_first([Outgoing(b"first"), Outgoing(b"second")])
        for _ in range(4):
            self.outbox.answered()
            self.outbox.send_next()
        self.assertEqual(self.sent, [b"a", b"first", b"second", b"next", b"b"])

    def test_when_empty_fires_once_everything_was_answered(self) -> None:
        self.outbox.open(self.sent.append)
        self.successResultOf(self.outbox.when_empty())
        self.outbox.put(Outgoing(b"a"))
        empty = self.outbox.when_empty()
        self.assertNoResult(empty)
        self.outbox.answered()
        self.outbox.send_next()
        self.successResultOf(empty)

    def test_a_drop_cancels_a_pending_resend_and_open_sends_again(self) -> None:
        self.outbox.open(self.sent.append)
        self.outbox.put(Outgoing(b"a"))
        self.outbox.retry_later(5)
        self.outbox.close()
        self.clock.advance(10)
        self.assertEqual(self.sent, [b"a"])
        self.outbox.open(self.sent.append)
        self.assertEqual(self.sent, [b"a", b"a"])

    def test_an_answer_while_waiting_to_resend_is_not_for_the_frame(self) -> None:
        self.outbox.open(self.sent.append)
        self.outbox.put(Outgoing(b"a"))
        self.outbox.put(Outgoing(b"b"))
        self.outbox.retry_later(1)
        self.outbox.answered()
        self.assertEqual(self.sent, [b"a"])
        self.clock.advance(1)
        self.assertEqual(self.sent, [b"a", b"a"])

    def test_replayed_only_clears_a_matching_frame_that_was_in_flight_at_a_drop(self) -> None:
        self.outbox.open(self.sent.append)
        self.outbox.put(Outgoing(b"a", "a", room="#rust"))
        self.outbox.replayed("a", "#rust")
        self.outbox.close()
        self.outbox.replayed("other", "#rust")
        self.outbox.replayed("a", None)
        self.outbox.open(self.sent.append)
        self.assertEqual(self.sent, [b"a", b"a"])
        self.outbox.close()
        self.outbox.open(self.sent.append, [Outgoing(b"rejoin")])
        self.outbox.replayed("a", "#rust")
        self.outbox.answered()
        self.outbox.send_next()
        self.assertEqual(self.sent, [b"a", b"a", b"rejoin"])
