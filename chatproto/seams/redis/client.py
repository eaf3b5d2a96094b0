"""Our Redis client: the one module that sees the client library (txredisapi 1.6).

A L{RedisConnection} is one connection, re-established with backoff for as
long as it runs. While it is down every command fails at once with
L{RedisUnavailable} (nothing waits for Redis to come back); a command cut off
by a lost connection fails the same way. Replies are bytes, never decoded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import txredisapi  # type: ignore[import-untyped]
from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet.defer import (
    CancelledError,
    Deferred,
    FirstError,
    fail,
    gatherResults,
    succeed,
)
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure

from chatproto.seams.redis.address import RedisAddress

#: Seconds a command may wait for its reply before the connection counts as dead.
REPLY_TIMEOUT = 10.0
#: Reconnection backoff: the first delay, its growth and its cap, in seconds.
FIRST_RETRY_DELAY = 0.2
RETRY_GROWTH = 2.0
MAX_RETRY_DELAY = 5.0

Reply = Any
Arg = bytes | str | int


class RedisUnavailable(Exception):
    """Redis cannot be reached now, or the connection broke before the reply came."""


class Script:
    """A Lua script, run by its SHA1 (L{RedisConnection.run})."""

    def __init__(self, source: str) -> None:
        self.source = source.encode("utf-8")
        self.sha = hashlib.sha1(self.source).hexdigest()


class _Protocol(txredisapi.HiredisProtocol):  # type: ignore[misc]
    """The library's protocol with hiredis, without its per-element work (a feed read
    carries thousands of elements): replies stay as hiredis made them (bytes, ints,
    lists: we ask for no decoding), and commands of bytes, str and int are built in one
    join."""

    def tryConvertData(self, data: Reply) -> Reply:
        """Keep a reply as it is."""
        return data

    def connectionLost(self, why: Failure) -> None:
        """Tell the factory why the connection ended (after the library's own work)."""
        super().connectionLost(why)
        self.factory.connection_ended(self, why)

    def _build_command(self, *args: Arg, **kwargs: Any) -> bytes:
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(parts)


class _Factory(Factory):
    """Builds our protocol and takes what the library's protocol tells its factory."""

    noisy = False  # no "Starting factory" line per attempt
    #: The library's protocol logs a failed AUTH or SELECT itself when this is set.
    isLazy = False

    def __init__(self, address: RedisAddress, ended: Callable[[Any, str], None]) -> None:
        self._address = address
        self._ended = ended
        self._refusal: str | None = None

    def buildProtocol(self, addr: object) -> _Protocol:
        """A protocol that authenticates and selects the database as it connects."""
        protocol = _Protocol(
            charset=None,  # bytes in, bytes out
            replyTimeout=REPLY_TIMEOUT,
            password=self._address.password,
            dbid=self._address.db,
            convertNumbers=False,
            username=self._address.username,
        )
        protocol.factory = self
        return protocol

    def stopTrying(self) -> None:
        """The library's protocol gives up after a failed AUTH or SELECT (also when the
        connection merely broke during it); a node keeps trying, with backoff."""

    def connectionError(self, why: str) -> None:
        """AUTH or SELECT failed: the reason of the close that follows."""
        self._refusal = why

    def connection_ended(self, protocol: _Protocol, why: Failure) -> None:
        """A connection (ready or not yet) was closed."""
        refusal, self._refusal = self._refusal, None
        # A refusal is why the protocol closed a connection cleanly; when the connection
        # broke instead (a TLS failure), the refusal only echoes that.
        clean = why.check(ConnectionDone)  # type: ignore[no-untyped-call]
        reason = refusal.rstrip(".") if refusal and clean else describe_failure(why)
        self._ended(protocol, reason)


def describe_failure(failure: Failure) -> str:
    """Why a connection to Redis failed or ended, in words (a TLS verification failure
    named as such)."""
    error = failure.value
    if isinstance(error, SSL.Error | VerificationError):
        return f"TLS certificate verification failed ({_tls_reason(error)})"
    if isinstance(error, ConnectionDone):
        return "Redis closed the connection"
    return failure.getErrorMessage().rstrip(".")


def _tls_reason(error: Exception) -> str:
    if isinstance(error, SSL.Error) and error.args and isinstance(error.args[0], list):
        return "; ".join(str(item[-1]) for item in error.args[0])
    return str(error)


class RedisConnection:
    """One connection to Redis at C{address}, kept up with backoff (see the module).

    C{on_up} is called each time the connection is ready; C{on_down(reason)} once per
    outage: when a ready connection is lost, or when the first attempt fails. Nothing
    else is logged per attempt (Twisted's ClientService would log each one).
    """

    def __init__(
        self,
        address: RedisAddress,
        reactor: IReactorTime,
        on_up: Callable[[], None],
        on_down: Callable[[str], None],
    ) -> None:
        self.address = address
        self._reactor = reactor
        self._on_up = on_up
        self._on_down = on_down
        self._factory = _Factory(address, self._ended)
        #: The ready connection, if any, and the last one that was ready.
        self._protocol: Any = None
        self._last_ready: _Protocol | None = None
        #: The connection made, ready or not yet.
        self._current: _Protocol | None = None
        self._connecting: Deferred[Any] | None = None
        self._retry: IDelayedCall | None = None
        self._running = False
        self._stopped: list[Deferred[None]] = []
        self._outage_told = False
        #: Attempts that failed since the connection was last ready.
        self.failed_attempts = 0

    @property
    def up(self) -> bool:
        """Whether commands can be sent now."""
        return self._protocol is not None

    def start(self) -> None:
        """Connect, and reconnect whenever the connection is lost, until L{stop}."""
        self._running = True
        self._attempt()

    def stop(self) -> Deferred[None]:
        """Stop reconnecting and close the connection; fires once it is closed."""
        self._running = False
        self._protocol = None
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        if self._connecting is not None:
            self._connecting.cancel()
        if self._current is None:
            return succeed(None)
        closed: Deferred[None] = Deferred()
        self._stopped.append(closed)
        self._current.transport.loseConnection()
        return closed

    def _attempt(self) -> None:
        self._retry = None
        connecting = self._connecting = self.address.endpoint(self._reactor).connect(self._factory)
        connecting.addCallbacks(self._made, self._failed)

    def _made(self, protocol: _Protocol) -> None:
        self._connecting = None
        self._current = protocol
        protocol.whenConnected().addCallback(self._ready)

    def _ready(self, protocol: _Protocol) -> None:
        if protocol is not self._current or not self._running:
            return
        # Down before the commands a loss cuts off fail: they then see it down.
        protocol.whenDisconnected().addCallback(self._lost)
        self._protocol = self._last_ready = protocol
        self._outage_told = False
        self.failed_attempts = 0
        self._on_up()

    def _lost(self, protocol: _Protocol) -> None:
        if protocol is self._protocol:
            self._protocol = None

    def _failed(self, failure: Failure) -> None:
        self._connecting = None
        if not failure.check(CancelledError):  # type: ignore[no-untyped-call]
            self._ended(None, describe_failure(failure))

    def _ended(self, protocol: _Protocol | None, reason: str) -> None:
        was_ready = protocol is not None and protocol is self._last_ready
        if protocol is not None and protocol is self._current:
            self._current = None
        if not self._running:
            stopped, self._stopped = self._stopped, []
            for closed in stopped:
                closed.callback(None)
            return
        if not was_ready:
            self.failed_attempts += 1
        if not self._outage_told:
            self._outage_told = True
            self._on_down(reason)
        delay = min(FIRST_RETRY_DELAY * RETRY_GROWTH**self.failed_attempts, MAX_RETRY_DELAY)
        self._retry = self._reactor.callLater(delay, self._attempt)

    def execute(self, *args: Arg, wait: float | None = None) -> Deferred[Reply]:
        """Send one command; fires with its reply (bytes, ints, lists, None).

        C{wait}: the seconds a blocking command (XREAD BLOCK) may take besides the
        usual reply timeout. Errbacks with L{RedisUnavailable} when Redis cannot be
        reached, and with L{RedisCommandError} when Redis refuses the command.
        """
        protocol = self._protocol
        if protocol is None:
            return fail(RedisUnavailable(f"no connection to {self.address}"))
        try:
            reply: Deferred[Reply] = protocol.execute_command(*args, apply_timeout=wait is None)
        except txredisapi.ConnectionError as e:
            return fail(RedisUnavailable(f"{self.address}: {e}"))
        if wait is not None:
            reply.addTimeout(wait + REPLY_TIMEOUT, self._reactor, self._timed_out(protocol))
        return reply.addErrback(self._translate)

    def _timed_out(self, protocol: Any) -> Callable[[Any, float], Reply]:
        def expired(result: Any, timeout: float) -> Reply:
            protocol.transport.abortConnection()  # a silent Redis is a dead one
            raise RedisUnavailable(f"{self.address}: no reply in {timeout} seconds")

        return expired

    def _translate(self, failure: Failure) -> Failure:
        if failure.check(txredisapi.ResponseError):  # type: ignore[no-untyped-call]
            raise RedisCommandError(str(failure.value))
        if failure.check(RedisUnavailable):  # type: ignore[no-untyped-call]
            return failure
        raise RedisUnavailable(f"{self.address}: {failure.getErrorMessage()}")

    def pipeline(self, commands: Sequence[Sequence[Arg]]) -> Deferred[list[Reply]]:
        """Send several commands at once (one write, one round trip); fires with
        their replies in order, or with the first failure."""
        replies = [self.execute(*command) for command in commands]
        done: Deferred[list[Reply]] = gatherResults(replies, consumeErrors=True)
        return done.addErrback(_first_failure)

    def load(self, scripts: Sequence[Script]) -> Deferred[list[Reply]]:
        """Load C{scripts} into Redis's script cache (one round trip)."""
        return self.pipeline([("SCRIPT", "LOAD", script.source) for script in scripts])

    def run(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Deferred[Reply]:
        """Run C{script} by its SHA1, sending its source once when Redis lacks it."""
        reply = self.execute("EVALSHA", script.sha, len(keys), *keys, *args)

        def unknown(failure: Failure) -> Deferred[Reply] | Failure:
            if failure.check(RedisCommandError) and str(failure.value).startswith("NOSCRIPT"):  # type: ignore[no-untyped-call]
                return self.execute("EVAL", script.source, len(keys), *keys, *args)
            return failure

        return reply.addErrback(unknown)


class RedisCommandError(Exception):
    """Redis refused a command (a bug of ours or a misconfigured Redis, not an outage)."""


def _first_failure(failure: Failure) -> Failure:
    """The failure of the first command of a pipeline that failed."""
    error = failure.value
    assert isinstance(error, FirstError)
    first: Failure = error.subFailure
    return first
