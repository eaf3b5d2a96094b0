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
from twisted.internet.defer import Deferred, FirstError, fail, gatherResults
from twisted.internet.interfaces import IReactorTime
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

    def _build_command(self, *args: Arg, **kwargs: Any) -> bytes:
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(parts)


class _Factory(txredisapi.RedisFactory):  # type: ignore[misc]
    """One connection, reconnected by txredisapi's ClientService, that reports up and down."""

    protocol = _Protocol
    initialDelay = FIRST_RETRY_DELAY
    factor = RETRY_GROWTH
    maxDelay = MAX_RETRY_DELAY

    def __init__(
        self,
        address: RedisAddress,
        connected: Callable[[Any], None],
        lost: Callable[[Any], None],
    ) -> None:
        super().__init__(
            None,
            address.db,
            1,
            isLazy=True,
            charset=None,  # bytes in, bytes out
            password=address.password,
            username=address.username,
            replyTimeout=REPLY_TIMEOUT,
            convertNumbers=False,
        )
        self._connected = connected
        self._lost = lost

    def addConnection(self, conn: Any) -> None:
        """A connection is ready (authenticated, database selected)."""
        super().addConnection(conn)
        if conn in self.pool:
            self._connected(conn)

    def delConnection(self, conn: Any) -> None:
        """A ready connection is gone."""
        super().delConnection(conn)
        self._lost(conn)


class RedisConnection:
    """One connection to Redis at C{address}, kept up with backoff (see the module).

    C{on_up} is called each time the connection is ready, C{on_down} each time a
    ready connection is lost.
    """

    def __init__(
        self,
        address: RedisAddress,
        reactor: IReactorTime,
        on_up: Callable[[], None],
        on_down: Callable[[], None],
    ) -> None:
        self.address = address
        self._reactor = reactor
        self._on_up = on_up
        self._on_down = on_down
        self._protocol: Any = None
        self._factory = _Factory(address, self._connected, self._lost)

    @property
    def up(self) -> bool:
        """Whether commands can be sent now."""
        return self._protocol is not None

    def start(self) -> None:
        """Connect, and reconnect whenever the connection is lost, until L{stop}."""
        self._factory.startConnecting(self.address.endpoint(self._reactor))

    def stop(self) -> Deferred[None]:
        """Stop reconnecting and close the connection."""
        self._protocol = None
        done: Deferred[None] = self._factory.disconnect()
        return done

    def _connected(self, protocol: Any) -> None:
        self._protocol = protocol
        self._on_up()

    def _lost(self, protocol: Any) -> None:
        if protocol is self._protocol:
            self._protocol = None
            self._on_down()

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
