"""`/healthz`'s probe (docs/protocol.md section 15) on a fake clock."""

from __future__ import annotations

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from chatproto.operations.health import PROBE_TIMEOUT, HealthProbe
from chatproto.seams.history import HistoryUnavailable


def answer(probe: HealthProbe) -> list[str | None]:
    """What C{probe} says, in a list once it has said it."""
    said: list[str | None] = []
    probe.problem().addCallback(said.append)
    return said


def test_the_stores_are_asked_at_most_once_a_second_whatever_the_request_rate() -> None:
    clock = Clock()
    asked: list[float] = []

    def history() -> Deferred[None]:
        asked.append(clock.seconds())
        return succeed(None)

    probe = HealthProbe([("history store", history)], clock)
    for _ in range(40):  # four requests a second for ten seconds
        assert answer(probe) == [None]
        clock.advance(0.25)
    assert asked == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]


def test_requests_during_a_probe_wait_for_its_answer() -> None:
    clock = Clock()
    pending: Deferred[None] = Deferred()
    probe = HealthProbe([("Redis", lambda: pending)], clock)
    first, second = answer(probe), answer(probe)
    assert first == second == []
    pending.callback(None)
    assert first == second == [None]


def test_a_store_that_fails_or_does_not_answer_in_two_seconds_is_named() -> None:
    clock = Clock()
    probe = HealthProbe(
        [
            ("history store", lambda: fail(HistoryUnavailable("disk full"))),
            ("Redis", Deferred),  # never answers
        ],
        clock,
    )
    said = answer(probe)
    clock.advance(PROBE_TIMEOUT)
    assert said == ["history store: disk full; Redis: no answer in 2 seconds"]
