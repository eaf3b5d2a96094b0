"""What logins cost (docs/accounts.md): argon2id speed per core, and the reactor under a storm.

    .venv/bin/python -m bench.logins [--seconds 10] [--rate 50]

1. Hashes and verifications per second in one thread (one core), with this version's
   parameters (L{chatproto.accounts.hashing}).
2. The reactor's lateness: a timer due every 10 ms notes how late each call comes,
   first with nothing else to do, then while C{--rate} logins per second go through the
   real portal (SQLite store, hashing threads) for C{--seconds}: the max and the p99 of
   that lateness is what a chat message waiting for the reactor would wait more.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime

from chatproto.accounts.cred import IChatAccount, LoginCredentials, account_portal
from chatproto.accounts.hashing import (
    ITERATIONS,
    LANES,
    MEMORY_KIB,
    THREADS,
    PasswordHashing,
    password_hasher,
)
from chatproto.accounts.sqlite import SQLiteAccountStore
from chatproto.accounts.throttle import LoginThrottle

#: Seconds each speed measurement runs.
SPEED_SECONDS = 3.0
#: The lateness probe's period, in seconds.
TICK = 0.01
PASSWORD = "a password for the benchmark"


def per_core_speed() -> tuple[float, float]:
    """Hashes per second and verifications per second, in this thread."""
    hasher = password_hasher()
    hashes, start = 0, time.perf_counter()
    while time.perf_counter() - start < SPEED_SECONDS:
        made = hasher.hash(PASSWORD)
        hashes += 1
    hash_rate = hashes / (time.perf_counter() - start)
    verifications, start = 0, time.perf_counter()
    while time.perf_counter() - start < SPEED_SECONDS:
        hasher.verify(made, PASSWORD)
        verifications += 1
    return hash_rate, verifications / (time.perf_counter() - start)


async def lateness(clock: IReactorTime, seconds: float) -> list[float]:
    """How late (seconds) each call of a timer due every L{TICK} came, over C{seconds}."""
    late: list[float] = []
    end = clock.seconds() + seconds
    finished: defer.Deferred[list[float]] = defer.Deferred()

    def tick(due: float) -> None:
        now = clock.seconds()
        late.append(max(0.0, now - due))
        if now < end:
            clock.callLater(TICK, tick, now + TICK)
        else:
            finished.callback(late)

    clock.callLater(TICK, tick, clock.seconds() + TICK)
    return await finished


def summary(late: list[float]) -> str:
    """Max and p99 of a list of lateness values, in milliseconds."""
    p99 = statistics.quantiles(late, n=100)[98] if len(late) >= 2 else late[0]
    return f"max {max(late) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms over {len(late)} ticks"


async def storm(reactor: IReactorTime, arguments: argparse.Namespace) -> None:
    """Measure the reactor idle, then under C{arguments.rate} logins per second."""
    print(f"reactor idle: {summary(await lateness(reactor, 2.0))}")
    with tempfile.TemporaryDirectory() as folder:
        store = await SQLiteAccountStore.open(reactor, str(Path(folder) / "bench.sqlite3"))
        hashing = PasswordHashing(reactor)
        hashing.startService()
        await store.add("alice", await hashing.hash(PASSWORD))
        portal = account_portal(store, hashing, LoginThrottle(reactor))
        done: list[float] = []
        failed: list[BaseException] = []
        started: list[defer.Deferred[None]] = []

        async def log_in() -> None:
            start = reactor.seconds()
            try:
                await portal.login(
                    LoginCredentials("alice", PASSWORD, "192.0.2.1"), None, IChatAccount
                )
            except Exception as e:
                failed.append(e)
            else:
                done.append(reactor.seconds() - start)

        def start_one() -> None:
            # Not returned: the LoopingCall must not wait for the login before the next.
            started.append(defer.ensureDeferred(log_in()))

        logins = task.LoopingCall(start_one)
        logins.clock = reactor
        logins.start(1 / arguments.rate)
        late = await lateness(reactor, arguments.seconds)
        logins.stop()
        await defer.gatherResults(started)
        print(f"reactor with {arguments.rate:.0f} logins/s: {summary(late)}")
        print(
            f"logins: {len(started)} started, {len(done)} done, {len(failed)} refused"
            f" {sorted({type(e).__name__ for e in failed})}; each took a median"
            f" {statistics.median(done) * 1000:.0f} ms, at most {max(done) * 1000:.0f} ms"
        )
        hashing.stopService()
        await store.close()


def main() -> None:
    """Print both measurements."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=50.0)
    arguments = parser.parse_args()
    print(f"argon2id m={MEMORY_KIB} KiB, t={ITERATIONS}, p={LANES}; {THREADS} hashing threads")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (others' work skews it)")
    hashes, verifications = per_core_speed()
    print(f"one core: {hashes:.1f} hashes/s, {verifications:.1f} verifications/s")
    task.react(lambda reactor: defer.ensureDeferred(storm(reactor, arguments)))


if __name__ == "__main__":
    main()
