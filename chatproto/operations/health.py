"""`GET /healthz` on --metrics-port: whether the stores the room needs answer
(docs/operations.md, docs/protocol.md section 15).

L{HealthProbe} asks each store at most once per L{PROBE_INTERVAL}, however often
it is asked: requests that come while a probe runs wait for it, and requests
within a second of the last one get its answer. A store that has not answered
after L{PROBE_TIMEOUT} counts as not answering.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, fail, gatherResults, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from chatproto.core.hall import Hall
from chatproto.seams.history import HistoryUnavailable, IHistoryStore

if TYPE_CHECKING:
    from chatproto.seams.redis.node import RedisNode

#: At most one probe of the stores in this many seconds, whatever the request rate.
PROBE_INTERVAL = 1.0
#: Seconds a store has to answer a probe.
PROBE_TIMEOUT = 2.0

#: A named store and how to ask it whether it answers: a Deferred that fires when it
#: does and fails with the reason when it does not.
Check = tuple[str, Callable[[], Deferred[Any]]]


def health_checks(hall: Hall, history: IHistoryStore, redis: RedisNode | None) -> list[Check]:
    """What the probe asks: the history store (its last write went through, and it makes
    what it holds durable: an fsync in a thread for the file, when anything is new) and,
    with --redis, Redis itself (a PING)."""

    def history_answers() -> Deferred[Any]:
        if hall.store_failing:
            return fail(HistoryUnavailable("the last message could not be stored"))
        return history.sync()

    checks: list[Check] = [("history store", history_answers)]
    if redis is not None:
        checks.append(("Redis", redis.ping))
    return checks


class HealthProbe:
    """Asks every store of C{checks} whether it answers; see the module docstring."""

    def __init__(self, checks: Sequence[Check], reactor: IReactorTime) -> None:
        self._checks = checks
        self._reactor = reactor
        self._last_at: float | None = None
        self._last: str | None = None
        self._waiting: list[Deferred[str | None]] | None = None

    def problem(self) -> Deferred[str | None]:
        """Fires with None when every store answers, else with what is wrong."""
        if self._waiting is not None:
            waiter: Deferred[str | None] = Deferred()
            self._waiting.append(waiter)
            return waiter
        now = self._reactor.seconds()
        if self._last_at is not None and now - self._last_at < PROBE_INTERVAL:
            return succeed(self._last)
        self._last_at = now
        self._waiting = []
        answers = [self._ask(name, check) for name, check in self._checks]
        return gatherResults(answers).addCallback(self._answered)

    def _ask(self, name: str, check: Callable[[], Deferred[Any]]) -> Deferred[str | None]:
        """What is wrong with one store (None: nothing)."""

        def failed(failure: Failure) -> str:
            return f"{name}: {failure.getErrorMessage() or type(failure.value).__name__}"

        def timed_out(result: object, timeout: float) -> object:
            raise TimeoutError(f"no answer in {timeout:g} seconds")

        try:
            asked = check()
        except Exception as e:  # a check that cannot even ask is an unhealthy store
            return succeed(f"{name}: {e}")
        asked.addTimeout(PROBE_TIMEOUT, self._reactor, timed_out)
        return asked.addCallbacks(lambda _: None, failed)

    def _answered(self, problems: list[str | None]) -> str | None:
        found = [problem for problem in problems if problem is not None]
        self._last = "; ".join(found) if found else None
        self._last_at = self._reactor.seconds()
        waiting, self._waiting = self._waiting or [], None
        for waiter in waiting:
            waiter.callback(self._last)
        return self._last


class HealthResource(Resource):
    """`/healthz`: 200 `ok` while every store answers, else 503 with the reason."""

    isLeaf = True

    def __init__(self, probe: HealthProbe) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._probe = probe

    def render_GET(self, request: Request) -> object:
        """Answer once the probe has (at most L{PROBE_TIMEOUT} seconds)."""
        gone: list[object] = []
        request.notifyFinish().addErrback(gone.append)

        def answer(problem: str | None) -> None:
            if gone:  # the client left before the answer
                return
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            request.setHeader(b"cache-control", b"no-store")
            if problem is not None:
                request.setResponseCode(503)
            request.write(f"{problem or 'ok'}\n".encode())
            request.finish()

        self._probe.problem().addCallback(answer)
        return NOT_DONE_YET
