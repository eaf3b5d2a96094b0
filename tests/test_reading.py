"""Reading held until a command is answered (L{hold_reading_until}), which every door's
commands that wait (a store, a hash) go through."""

from __future__ import annotations

from twisted.internet.defer import Deferred, fail, succeed

from chatproto.core.reading import hold_reading_until


class Holds:
    """A connection that counts how its reading was held and released."""

    def __init__(self) -> None:
        self.held = 0
        self.released = 0

    def hold_reading(self) -> None:
        self.held += 1

    def release_reading(self) -> None:
        self.released += 1


def results(done: Deferred[str]) -> list[object]:
    """What C{done} fires with, once it does (a failure's value)."""
    seen: list[object] = []
    done.addCallbacks(seen.append, lambda failure: seen.append(failure.value))
    return seen


def test_an_answer_already_given_holds_nothing() -> None:
    holds = Holds()
    assert results(hold_reading_until(holds, succeed("at once"))) == ["at once"]
    assert (holds.held, holds.released) == (0, 0)


def test_reading_waits_for_the_answer_and_resumes_once() -> None:
    holds, done = Holds(), Deferred[str]()
    seen = results(hold_reading_until(holds, done))
    assert (holds.held, holds.released, seen) == (1, 0, [])
    done.callback("answered")
    assert (holds.held, holds.released, seen) == (1, 1, ["answered"])


def test_a_failure_resumes_reading_and_reaches_the_caller() -> None:
    holds, done = Holds(), Deferred[str]()
    seen = results(hold_reading_until(holds, done))
    refused = ValueError("refused")
    done.errback(refused)
    assert (holds.held, holds.released, seen) == (1, 1, [refused])
    failed_at_once = ValueError("at once")
    assert results(hold_reading_until(holds, fail(failed_at_once))) == [failed_at_once]
    assert (holds.held, holds.released) == (1, 1)


def test_a_deferred_called_but_waiting_on_another_holds_until_that_one_answers() -> None:
    holds, store = Holds(), Deferred[str]()
    done = succeed(None).addCallback(lambda _: store)  # called, and paused on the store
    assert done.called
    seen = results(hold_reading_until(holds, done))
    assert (holds.held, holds.released) == (1, 0)
    store.callback("stored")
    assert (holds.held, holds.released, seen) == (1, 1, ["stored"])
