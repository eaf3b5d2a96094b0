"""What logins cost (docs/accounts.md): argon2id speed per core, and the reactor under a storm.

    .venv/bin/python -m bench.logins [--seconds 10] [--rate 50] [--server [--server-cpu 0]]

1. Hashes and verifications per second in one thread (one core), with this version's
   parameters (L{chatproto.accounts.hashing}).
2. The reactor's lateness: a timer due every 10 ms notes how late each call comes,
   first with nothing else to do, then while C{--rate} logins per second go through the
   real portal (SQLite store, hashing threads) for C{--seconds}: the max and the p99 of
   that lateness is what a chat message waiting for the reactor would wait more.
3. With C{--server}, against a real server instead (C{twistd chat} in a temporary
   folder, the word-packet door on loopback): a chat client's round trip (a message
   every 50 ms until its own copy comes back), idle, then while C{--rate} clients a
   second connect and log in with the JSON nickname frame for C{--seconds}; its p99
   is the chat p99 under a login storm, beside how many logins the server did, and this
   process's own CPU during the storm (it runs the chat client and the logging-in clients).
   C{--server-cpu} pins the server to one core (C{make bench} pins it to CPU 0 and this
   process to CPU 1).

The last line of output is one JSON object with every figure (C{make bench} reads it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import IReactorTime
from twisted.protocols.basic import Int16StringReceiver

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


def spread(late: list[float]) -> dict[str, float]:
    """Max and p99 of a list of durations, in milliseconds, and how many there were."""
    p99 = statistics.quantiles(late, n=100, method="inclusive")[98] if len(late) >= 2 else late[0]
    return {
        "max_ms": round(max(late) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "count": len(late),
    }


def summary(figures: dict[str, float], counted: str = "ticks") -> str:
    """L{spread}'s figures in words, over how many C{counted}."""
    return (
        f"max {figures['max_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms"
        f" over {figures['count']:.0f} {counted}"
    )


async def storm(reactor: Any, arguments: argparse.Namespace, figures: dict[str, Any]) -> None:
    """Measure the reactor idle, then under C{arguments.rate} logins per second."""
    figures["reactor_idle"] = spread(await lateness(reactor, 2.0))
    print(f"reactor idle: {summary(figures['reactor_idle'])}")
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
        figures["reactor_storm"] = spread(await lateness(reactor, arguments.seconds))
        logins.stop()
        await defer.gatherResults(started)
        print(f"reactor with {arguments.rate:.0f} logins/s: {summary(figures['reactor_storm'])}")
        figures["portal_logins"] = {
            "rate": arguments.rate,
            "started": len(started),
            "done": len(done),
            "refused": len(failed),
            "median_ms": round(statistics.median(done) * 1000, 1),
        }
        print(
            f"logins: {len(started)} started, {len(done)} done, {len(failed)} refused"
            f" {sorted({type(e).__name__ for e in failed})}; each took a median"
            f" {statistics.median(done) * 1000:.0f} ms, at most {max(done) * 1000:.0f} ms"
        )
        hashing.stopService()
        await store.close()


class _Client(Int16StringReceiver):
    """A word-packet client: each frame it receives goes to C{received}."""

    def __init__(self, received: Callable[[str], None]) -> None:
        self._received = received

    def stringReceived(self, data: bytes) -> None:
        self._received(data.decode("utf-8"))

    def send(self, text: str) -> None:
        self.sendString(text.encode("utf-8"))  # type: ignore[no-untyped-call]


async def _connected(reactor: Any, port: int, received: Callable[[str], None]) -> _Client:
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    client: _Client = await connectProtocol(endpoint, _Client(received))
    return client


async def chat_round_trips(reactor: Any, port: int, seconds: float) -> list[float]:
    """Round trips (seconds) of a message every 50 ms, sent until C{seconds} passed."""
    sent: dict[str, float] = {}
    trips: list[float] = []
    joined: defer.Deferred[None] = defer.Deferred()

    def received(text: str) -> None:
        if text == "NICK":
            chatter.send(f"chatter{os.getpid()}")
        elif '"welcome"' in text and not joined.called:
            joined.callback(None)
        elif text.startswith("{"):
            message = json.loads(text).get("message")
            if message in sent:
                trips.append(reactor.seconds() - sent.pop(message))

    chatter = await _connected(reactor, port, received)
    await joined
    end = reactor.seconds() + seconds
    number = 0
    while reactor.seconds() < end:
        number += 1
        sent[str(number)] = reactor.seconds()
        chatter.send(json.dumps({"message": str(number)}))
        await task.deferLater(reactor, 0.05, lambda: None)
    chatter.send("BYE")
    return trips


async def measured_round_trips(reactor: Any, port: int, seconds: float) -> dict[str, float]:
    """L{chat_round_trips}' max and p99, with this process's CPU share meanwhile (the
    chat client's, and the logging-in clients' during a storm)."""
    cpu, wall = time.process_time(), time.perf_counter()
    trips = await chat_round_trips(reactor, port, seconds)
    share = (time.process_time() - cpu) / (time.perf_counter() - wall)
    return {**spread(trips), "gen_cpu": round(share, 3)}


async def log_in_over_the_wire(reactor: Any, port: int, outcomes: list[tuple[str, float]]) -> None:
    """Connect, log in to alice with the JSON nickname frame, note READY or the error
    code and when it came, and leave."""
    answered: defer.Deferred[str] = defer.Deferred()
    choice = json.dumps({"nickname": "alice", "password": PASSWORD})

    def received(text: str) -> None:
        if text == "NICK":
            client.send(choice)
        elif text == "READY" and not answered.called:
            answered.callback("READY")
        elif '"error"' in text and not answered.called:
            answered.callback(json.loads(text).get("code", "error"))

    client = await _connected(reactor, port, received)
    outcomes.append((await answered.addTimeout(60, reactor), reactor.seconds()))
    client.send("BYE")


async def server_storm(
    reactor: Any, arguments: argparse.Namespace, figures: dict[str, Any]
) -> None:
    """Chat round trips against a real server, idle then under the login storm."""
    with tempfile.TemporaryDirectory() as folder:
        database = str(Path(folder) / "accounts.sqlite3")
        bin_folder = Path(sys.executable).parent
        subprocess.run(
            [str(bin_folder / "chatproto-accounts"), "--db", database, "add", "alice"],
            input=PASSWORD + "\n", text=True, check=True,
        )  # fmt: skip
        log = Path(folder) / "server.log"  # a file: a pipe left unread would stall it
        pin = ["taskset", "-c", arguments.server_cpu] if arguments.server_cpu else []
        server = subprocess.Popen(
            [*pin, str(bin_folder / "twistd"), "--pidfile=", "-n", "--logfile", str(log), "chat",
             "--port", "tcp:0:interface=127.0.0.1", "--history-file", "h.jsonl",
             "--accounts-db", database, "--rate", "0", "--shutdown-grace", "0"],
            cwd=folder,
        )  # fmt: skip
        try:
            port = await _listening_port(reactor, log)
            figures["chat_idle"] = await measured_round_trips(reactor, port, 3.0)
            print(f"chat round trip, idle: {summary(figures['chat_idle'], 'messages')}")
            outcomes: list[tuple[str, float]] = []
            started: list[defer.Deferred[None]] = []

            def start_one() -> None:
                started.append(defer.ensureDeferred(log_in_over_the_wire(reactor, port, outcomes)))

            logins = task.LoopingCall(start_one)
            logins.clock = reactor
            storm_began = reactor.seconds()
            logins.start(1 / arguments.rate)
            figures["chat_storm"] = await measured_round_trips(reactor, port, arguments.seconds)
            logins.stop()
            await defer.gatherResults(started)
            answers = [outcome for outcome, _when in outcomes]
            counts = {outcome: answers.count(outcome) for outcome in sorted(set(answers))}
            # Until the last login went through: the offered rate when the server keeps up,
            # its capacity when they queue (the queue drains after the storm).
            ready = [when for outcome, when in outcomes if outcome == "READY"]
            busy = max(ready, default=storm_began) - storm_began
            figures["server_logins"] = {
                "rate": arguments.rate,
                "seconds": arguments.seconds,
                "started": len(started),
                "answers": counts,
                "logins_per_s": round(len(ready) / busy, 1) if busy else 0.0,
            }
            print(
                f"chat round trip with {arguments.rate:.0f} logins/s:"
                f" {summary(figures['chat_storm'], 'messages')};"
                f" this process's CPU {figures['chat_storm']['gen_cpu']:.0%}"
            )
            print(
                f"logins: {len(started)} started; answers {counts}; the server logged in"
                f" {figures['server_logins']['logins_per_s']:.1f}/s"
            )
        finally:
            server.terminate()
            server.wait()


async def _listening_port(reactor: Any, log: Path) -> int:
    """The port the server's word-packet door listens on, read from its log."""
    for _ in range(300):  # 30 s
        found = re.search(r"WordPacketFactory starting on (\d+)", _text_of(log))
        if found:
            return int(found.group(1))
        await task.deferLater(reactor, 0.1, lambda: None)
    raise RuntimeError(f"the server did not listen: {_text_of(log)}")


def _text_of(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def main() -> None:
    """Print the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument(
        "--server", action="store_true", help="also measure chat against a real server"
    )
    parser.add_argument("--server-cpu", metavar="CPU", help="pin the server to this core")
    arguments = parser.parse_args()
    figures: dict[str, Any] = {
        "argon2id": {"memory_kib": MEMORY_KIB, "iterations": ITERATIONS, "lanes": LANES},
        "hashing_threads": THREADS,
        "load_average": round(os.getloadavg()[0], 2),
    }
    print(f"argon2id m={MEMORY_KIB} KiB, t={ITERATIONS}, p={LANES}; {THREADS} hashing threads")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (others' work skews it)")
    hashes, verifications = per_core_speed()
    figures["per_core"] = {
        "hashes_per_s": round(hashes, 1),
        "verifications_per_s": round(verifications, 1),
    }
    print(f"one core: {hashes:.1f} hashes/s, {verifications:.1f} verifications/s")
    task.react(lambda reactor: defer.ensureDeferred(measure(reactor, arguments, figures)))


async def measure(reactor: Any, arguments: argparse.Namespace, figures: dict[str, Any]) -> None:
    """The reactor's lateness under a storm; with C{--server}, chat under one too; then
    every figure as one JSON line."""
    await storm(reactor, arguments, figures)
    if arguments.server:
        await server_storm(reactor, arguments, figures)
    print(json.dumps(figures, separators=(",", ":")))


if __name__ == "__main__":
    main()
