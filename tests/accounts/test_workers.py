"""The bounded pool of worker threads that hashing and SQLite run in."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import pytest_twisted
from twisted.internet import reactor

from chatproto.accounts.workers import Workers, WorkersBusy


@pytest.fixture
def workers() -> Iterator[Workers]:
    pool = Workers(reactor, "test-workers", threads=1, max_waiting=2)
    pool.start()
    yield pool
    pool.stop()


@pytest_twisted.ensureDeferred
async def test_work_past_the_bound_is_refused_at_once(workers: Workers) -> None:
    release = threading.Event()
    first = workers.run(release.wait)
    second = workers.run(lambda: "second")
    with pytest.raises(WorkersBusy, match="2 calls are waiting"):
        await workers.run(lambda: "third")
    release.set()
    assert await first
    assert await second == "second"
    assert await workers.run(lambda: "room again") == "room again"


@pytest_twisted.ensureDeferred
async def test_a_failure_frees_its_place_and_is_reported(workers: Workers) -> None:
    def broken() -> None:
        raise ValueError("broken")

    for _ in range(3):
        with pytest.raises(ValueError, match="broken"):
            await workers.run(broken)
