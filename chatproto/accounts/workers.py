"""A small pool of threads of its own, with a bound on the work waiting for it.

Hashing and SQLite run here, never on the reactor thread, and not in the reactor's
shared pool (DNS lookups use that one). Work past the bound is refused at once
(L{WorkersBusy}) rather than queued without end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

_P = ParamSpec("_P")
_T = TypeVar("_T")


class WorkersBusy(Exception):
    """Too much work is waiting already; try again later."""


class Workers:
    """C{threads} threads named C{name}; at most C{max_waiting} calls queued or running."""

    def __init__(
        self, reactor: IReactorFromThreads, name: str, threads: int, max_waiting: int
    ) -> None:
        self._reactor = reactor
        self._pool = ThreadPool(minthreads=0, maxthreads=threads, name=name)
        self._max_waiting = max_waiting
        self._waiting = 0

    def start(self) -> None:
        """Let the threads run the work given to them."""
        self._pool.start()

    def stop(self) -> None:
        """Finish the work given and join the threads (work given later is not run)."""
        self._pool.stop()

    def run(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]:
        """Call C{function} in a worker thread; the Deferred fires with its result, or
        fails with L{WorkersBusy} at once when C{max_waiting} calls are waiting."""
        if self._waiting >= self._max_waiting:
            return fail(WorkersBusy(f"{self._waiting} calls are waiting"))
        self._waiting += 1
        done = deferToThreadPool(self._reactor, self._pool, function, *args, **kwargs)
        return done.addBoth(self._finished)

    def _finished(self, result: _T) -> _T:
        self._waiting -= 1
        return result
