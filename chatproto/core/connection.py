"""One connection as the core sees it: the per-connection rules of every door.

A door's session subclasses L{Connection}, feeds it what its wire says and
implements L{Connection.enter} (how its wire shows a join). Everything else is
here, the same on every door: admission, the handshake timeout, the rate limit
and flood cut-off, the bounded output and slow-reader cut-off, leaving.

States (docs/protocol.md section 2)::

    CHOOSING --joined--------------> JOINED
    CHOOSING --BYE, timeout, close--> CLOSED
    JOINED   --BYE, drop, close----> CLOSED      (leave notice to the others)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.core.bucket import TokenBucket
from chatproto.core.errors import ErrorCode
from chatproto.core.member import CloseReason, ICodec, ILink, IMember, LeaveReason
from chatproto.core.once import Once
from chatproto.core.outbox import Outbox

if TYPE_CHECKING:
    from chatproto.core.hall import Hall
    from chatproto.core.room import Room


_log = Logger()


class ConnectionState(Enum):
    """Where a connection is in its life."""

    CHOOSING = "choosing"
    JOINED = "joined"
    CLOSED = "closed"


#: How a leave reason closes the connection.
_CLOSE_FOR: dict[LeaveReason, CloseReason] = {
    LeaveReason.BYE: CloseReason.BYE,
    LeaveReason.FLOOD: CloseReason.FLOOD,
}


@implementer(IMember)
class Connection:
    """The door-neutral half of one connection; see the module docstring."""

    def __init__(self, hall: Hall, link: ILink, codec: ICodec, peer: str, host: str | None) -> None:
        # Every attribute is set here, in one order, so that all connections share one
        # table of attribute names (set later, each would grow its own: docs/performance.md).
        self.state = ConnectionState.CHOOSING
        #: Holding key (L{chatproto.core.nicknames.holding_key}), display form and JSON
        #: literal once joined.
        self.key: str | None = None
        self.nickname = ""
        self.encoded_nickname = b'""'
        #: The token that lets this member take its place back (docs/protocol.md section 2).
        self.resume_token: str | None = None
        #: The account it is logged in to (docs/protocol.md section 13), else None.
        self.account: str | None = None
        self._handshake_timer: IDelayedCall | None = None
        self._reading_resumes: IDelayedCall | None = None
        # Reasons to read nothing from the peer, not yet over (the rate limit's debt and a
        # nickname claim the store has not answered may overlap): the link is paused once.
        self._reading_holds = 0
        self._rate_errors = 0
        # The latest entrance whose replay the store has not answered yet (None: none).
        self._entering: Deferred[None] | None = None
        self.hall = hall
        self.link = link
        self.codec = codec
        #: The peer as logs show it, and the host a per-address limit counts (None: exempt).
        self.peer = peer
        self.host = host
        #: The rooms it is in, by key, in the order it joined them.
        self.rooms: dict[str, Room] = {}
        config = hall.config
        self._bucket = TokenBucket(config.rate, config.burst, hall.reactor) if config.rate else None
        self.outbox = Outbox(link.write, config.sendq_bytes, self)
        self._gone = Once()

    # -- life --------------------------------------------------------------

    def open(self, greeting: bytes) -> bool:
        """Admit the connection and send C{greeting}, or refuse it (`server-full`)."""
        hall = self.hall
        if not hall.admit(self):
            self.state = ConnectionState.CLOSED
            self.outbox.send(hall.server_full_notice(self))
            self.link.close(CloseReason.SERVER_FULL)
            return False
        self.outbox.send(greeting)
        timeout = hall.config.handshake_timeout
        if timeout:
            self._handshake_timer = hall.reactor.callLater(timeout, self._handshake_expired)
        return True

    def lost(self) -> None:
        """The transport is gone: a joined member leaves (`disconnected`)."""
        self.state = ConnectionState.CLOSED
        self.outbox.stop()
        self._cancel_handshake_timer()
        if self._reading_resumes is not None and self._reading_resumes.active():
            self._reading_resumes.cancel()
        self.hall.leave(self, LeaveReason.DISCONNECTED)
        self.hall.release(self)
        self._gone.happened()

    def when_gone(self) -> Deferred[None]:
        """A Deferred that fires once the transport is gone (L{lost}): every byte the
        door wrote before is sent, or the connection was dropped."""
        return self._gone.when()

    def joined(self) -> None:
        """The hall accepted the nickname: the handshake is over."""
        self.state = ConnectionState.JOINED
        self._cancel_handshake_timer()
        if self._bucket is not None:
            self._bucket.fill()

    # -- rate limit --------------------------------------------------------

    def throttle(self) -> None:
        """Count a choosing member's frame; over the rate, stop reading until it is paid.

        A choosing client may only ever hear READY or RETRY, so over the rate
        it is not refused but throttled.
        """
        if self._bucket is None:
            return
        wait = self._bucket.charge()
        if wait and self._reading_resumes is None:
            self.hold_reading()
            self._reading_resumes = self.hall.reactor.callLater(wait, self._resume_reading)

    def _resume_reading(self) -> None:
        self._reading_resumes = None
        self.release_reading()

    def hold_reading(self) -> None:
        """Read nothing more from the peer until every hold is released."""
        self._reading_holds += 1
        if self._reading_holds == 1:
            self.link.pause_reading()

    def release_reading(self) -> None:
        """End one hold; the peer is read again once none is left."""
        self._reading_holds -= 1
        if not self._reading_holds:
            self.link.resume_reading()

    def allow(self) -> bool:
        """Count a joined member's frame: False over the rate (see L{rate_limited})."""
        bucket = self._bucket
        if bucket is None or bucket.take():
            self._rate_errors = 0
            return True
        return False

    def rate_limited(self) -> None:
        """Refuse a frame over the rate with `rate-limited`; too many in a row is a flood."""
        assert self._bucket is not None
        self._rate_errors += 1
        self.reject(
            ErrorCode.RATE_LIMITED,
            "Too many frames: slow down",
            retry_after=self._bucket.retry_after(),
        )
        flood_errors = self.hall.config.flood_errors
        if flood_errors and self._rate_errors >= flood_errors:
            self.drop(LeaveReason.FLOOD)

    def reject(self, code: ErrorCode, detail: str, **extra: Any) -> None:
        """Answer a refused frame with an `error` notice (while still joined)."""
        if self.state is ConnectionState.JOINED:
            self.hall.send_error(self, code, detail, **extra)

    # -- IMember -------------------------------------------------------------

    def enter(
        self, replay: Deferred[Iterator[bytes]], welcome: bytes, tail: Sequence[bytes]
    ) -> None:
        """Hold live traffic until the replay is there, then stream L{entrance}."""
        self._stream_in_order(replay, lambda records: self.entrance(records, welcome, tail))

    def enter_room(self, replay: Deferred[Iterator[bytes]], welcome: bytes) -> None:
        """Hold live traffic until the room's replay is there, then stream it (marked as
        history) and the room's C{welcome}, after every earlier entrance."""
        codec = self.codec

        def pieces(records: Iterator[bytes]) -> Iterator[bytes]:
            for record in records:
                yield codec.encode_replayed(record)
            yield codec.encode(welcome)

        self._stream_in_order(replay, pieces)

    def _stream_in_order(
        self,
        replay: Deferred[Iterator[bytes]],
        pieces: Callable[[Iterator[bytes]], Iterator[bytes]],
    ) -> None:
        """Hold live traffic; stream C{pieces} of the replay once the store has answered
        and every earlier entrance is streaming (a store may answer them out of order)."""
        self.outbox.hold()
        earlier = self._entering
        answer = replay if earlier is None else earlier.addCallback(lambda _: replay)

        def answered(records: Iterator[bytes] | Failure) -> None:
            if isinstance(records, Failure):
                _log.failure(
                    "replay for {who} failed", records, who=self.display_name(), event_kind="error"
                )
                records = iter(())
            self.outbox.stream(pieces(records))

        streaming = answer.addBoth(answered)
        self._entering = None if streaming.called else streaming

    def entrance(
        self, replay: Iterator[bytes], welcome: bytes, tail: Sequence[bytes]
    ) -> Iterator[bytes]:
        """How this door's wire shows a join: its acceptance, the C{replay} records, the
        C{welcome} and C{tail} notices, as bytes to write (each door implements it)."""
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        """Write bytes this member's codec made, after everything before them."""
        self.outbox.send(data)

    def display_name(self) -> str:
        """The nickname, or the peer address before one was chosen (for logs)."""
        return self.nickname or self.peer

    # -- leaving -------------------------------------------------------------

    #: What the member said on leaving (an IRC QUIT text), relayed with its `leave`.
    leave_text = ""

    def leave(self) -> None:
        """BYE: deliver what the member is owed, free the nickname, close."""
        self.state = ConnectionState.CLOSED
        self.hall.when_caught_up(self, self._part)

    def _part(self) -> None:
        # Closed once the nickname is free everywhere, so its owner can take it back at once.
        left = self.hall.leave(self, LeaveReason.BYE, self.leave_text)
        left.addCallback(lambda _: self.close())
        left.addErrback(self._close_failed)

    def _close_failed(self, failure: Failure) -> None:
        """Closing failed (a bug, or a store that could not free the nickname): drop the
        connection anyway, so that it never holds its --max-clients place."""
        _log.failure(
            "closing {who} failed: dropped", failure, who=self.display_name(), event_kind="error"
        )
        self._abort()

    def drop(self, reason: LeaveReason) -> None:
        """Disconnect for abuse; a slow member is not waited for."""
        self._dropped(reason)
        self.state = ConnectionState.CLOSED
        self.hall.leave(self, reason)
        if reason is LeaveReason.SLOW:
            self._abort()
        else:
            self.outbox.stop()
            self.link.close(_CLOSE_FOR[reason])

    def outbox_overflowed(self) -> None:
        """More than --sendq-bytes is owed: drop the member as too slow."""
        self.drop(LeaveReason.SLOW)

    _close_reason = CloseReason.BYE

    def close(self, reason: CloseReason = CloseReason.BYE) -> None:
        """Close after what the member is owed (no leave notice), a replay still being
        streamed included: --sendq-bytes bounds that wait."""
        self.state = ConnectionState.CLOSED
        self._cancel_handshake_timer()
        self._close_reason = reason
        if not self.outbox.close_after_stream():
            self.outbox_streamed()

    def outbox_streamed(self) -> None:
        """What the member was owed is written: close now."""
        self.link.close(self._close_reason)

    def evict(self) -> None:
        """Close at once without a leave notice: a resumed connection took this place, or
        the shutdown waited long enough for this one to close."""
        self.state = ConnectionState.CLOSED
        self._abort()

    def _abort(self) -> None:
        self.outbox.stop()
        self._cancel_handshake_timer()
        self.link.abort()

    def _handshake_expired(self) -> None:
        """Close at once: the door decides how (the TCP door aborts, so that a TLS client
        stuck before its handshake cannot hold its --max-clients place)."""
        self._handshake_timer = None
        self._dropped("timeout")
        self.state = ConnectionState.CLOSED
        self.outbox.stop()
        self.link.close(CloseReason.TIMEOUT)

    def _dropped(self, reason: str) -> None:
        """Count and log a connection the server cuts off (C{reason}: slow, flood, timeout);
        one still choosing a nickname is logged by address only with --log-addresses."""
        self.hall.observer.dropped(reason)
        who = self.nickname or (self.peer if self.hall.config.log_addresses else "a newcomer")
        _log.info("{who} dropped ({reason})", who=who, reason=reason, event_kind="drop")

    def _cancel_handshake_timer(self) -> None:
        timer = self._handshake_timer
        if timer is not None:
            self._handshake_timer = None
            if timer.active():
                timer.cancel()
