"""Every IRC session's idle check under one timer (chatproto/doors/irc/idlewatch.py)."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.idlewatch import IdleWatches


class IdleWatchesTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.watches = IdleWatches(self.clock)
        self.called: list[tuple[str, float]] = []

    def note(self, name: str) -> None:
        self.called.append((name, self.clock.seconds()))

    def test_each_check_at_its_time_in_the_order_asked(self) -> None:
        self.watches.watch(60, lambda: self.note("late"))
        self.watches.watch(30, lambda: self.note("early"))
        self.watches.watch(30, lambda: self.note("early too"))
        self.clock.advance(29.5)
        self.assertEqual(self.called, [])
        self.clock.pump([0.5, 29.5, 0.5])
        self.assertEqual(self.called, [("early", 30), ("early too", 30), ("late", 60)])
        self.assertEqual(self.clock.getDelayedCalls(), [])  # nothing left: no timer

    def test_a_check_may_watch_again(self) -> None:
        def again() -> None:
            self.note("first")
            self.watches.watch(10, lambda: self.note("again"))

        self.watches.watch(5, again)
        self.clock.pump([5, 10])
        self.assertEqual(self.called, [("first", 5), ("again", 15)])

    def test_a_cancelled_check_is_not_called(self) -> None:
        self.watches.watch(5, lambda: self.note("kept"))
        self.watches.cancel(self.watches.watch(5, lambda: self.note("cancelled")))
        self.watches.watch(6, lambda: self.note("kept too"))
        self.clock.pump([5, 1])
        self.assertEqual(self.called, [("kept", 5), ("kept too", 6)])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_cancelled_checks_do_not_pile_up(self) -> None:
        """Connections that come and go within the interval leave no entries behind."""
        kept = self.watches.watch(60, lambda: self.note("kept"))
        for _ in range(1000):
            self.watches.cancel(self.watches.watch(60, lambda: self.note("gone")))
        self.assertLessEqual(len(self.watches), 3)
        self.clock.advance(60)
        self.assertEqual(self.called, [("kept", 60)])
        self.assertIsNotNone(kept.check)

    def test_a_check_that_fails_does_not_stop_the_others(self) -> None:
        def fails() -> None:
            raise ZeroDivisionError()

        self.watches.watch(5, fails)
        self.watches.watch(5, lambda: self.note("still called"))
        self.assertRaises(ZeroDivisionError, self.clock.advance, 5)  # the reactor logs it
        self.clock.advance(0)
        self.assertEqual(self.called, [("still called", 5)])
