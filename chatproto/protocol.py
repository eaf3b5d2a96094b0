"""One client connection: the handshake state machine, frame handling and output bounds.

States and transitions (PROTOCOL.md section 2)::

    CHOOSING --valid free nickname--> JOINED      (READY, replay, welcome)
    CHOOSING --anything else-------> CHOOSING    (RETRY)
    CHOOSING --BYE, timeout, close--> CLOSED
    JOINED   --BYE, drop, close----> CLOSED      (leave notice to the others)

The machine is a plain state field rather than automat: every chat frame
passes through it, and a method dispatch per frame is the cheap way.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from twisted.internet.interfaces import IAddress, IDelayedCall, IPushProducer
from twisted.internet.protocol import connectionDone
from twisted.protocols.basic import Int16StringReceiver
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.chat_text import check_message
from chatproto.errors import ErrorCode, PacketRejected
from chatproto.fastwrite import direct_socket, send_now
from chatproto.nicknames import InvalidNickname, validate_nickname
from chatproto.wire import (
    BYE,
    CONTROL_FRAMES,
    CONTROL_WORDS,
    HELLO,
    NICK,
    RETRY,
    NotAPacket,
    looks_like_packet,
    parse_packet,
)

if TYPE_CHECKING:
    from chatproto.room import ChatRoom

_BYE_BYTES = BYE.encode("ascii")
_GREETING = CONTROL_FRAMES[HELLO] + CONTROL_FRAMES[NICK]
_RETRY_FRAME = CONTROL_FRAMES[RETRY]
#: A streamed replay is written in pieces of about this size.
_STREAM_CHUNK_BYTES = 65536


class ServerTransport(Protocol):
    """What the protocol uses of its transport (TCP, TLS and UNIX ones all have it)."""

    def write(self, data: bytes) -> None: ...
    def loseConnection(self) -> None: ...
    def abortConnection(self) -> None: ...
    def getPeer(self) -> IAddress: ...
    def registerProducer(self, producer: object, streaming: bool) -> None: ...
    def unregisterProducer(self) -> None: ...
    def pauseProducing(self) -> None: ...
    def resumeProducing(self) -> None: ...


class ConnectionState(Enum):
    """Where a connection is in its life."""

    CHOOSING = "choosing"
    JOINED = "joined"
    CLOSED = "closed"


class LeaveReason(StrEnum):
    """The `reason` of a `leave` notice."""

    BYE = "bye"
    DISCONNECTED = "disconnected"
    SLOW = "slow"
    FLOOD = "flood"


@implementer(IPushProducer)
class ChatProtocol(Int16StringReceiver):
    """The server side of one client connection.

    It registers itself as a streaming producer on its transport only to learn
    when the transport's buffer is full, so that it can bound what waits for a
    client that does not read (C{--sendq-bytes}).
    """

    factory: ChatRoom
    transport: ServerTransport  # type: ignore[assignment]
    state = ConnectionState.CHOOSING
    #: Nickname key and display form once joined.
    key: str | None = None
    nickname = ""
    encoded_nickname = b'""'
    #: The host a per-IP limit counted this connection against, if any.
    limited_host: str | None = None
    _handshake_timer: IDelayedCall | None = None
    _reading_resumes: IDelayedCall | None = None
    _registered_as_producer = False
    #: The TCP socket to write to directly while Twisted has nothing queued.
    _socket: socket.socket | None = None
    # Token bucket over frames (--rate, --burst) and rate-limited errors in a row.
    _tokens = 0.0
    _refilled_at = 0.0
    _rate_errors = 0
    # Set while the transport's buffer is over its size; bytes written since.
    _output_paused = False
    _queued_while_paused = 0
    # A replay still being streamed, and what is sent meanwhile, held behind it.
    _backlog: Iterator[bytes] | None = None
    _held: list[bytes] | None = None
    _held_bytes = 0
    _close_when_streamed = False
    _aborted = False

    # -- connection events -----------------------------------------------

    def connectionMade(self) -> None:
        """Greet the client with HELLO and NICK, or refuse it when the server is full."""
        room = self.factory
        if not room.admit(self, self.transport.getPeer()):
            self.state = ConnectionState.CLOSED
            self.transport.loseConnection()
            return
        # Without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold small
        # frames back for ~40 ms. UNIX sockets have no such option.
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            set_no_delay(True)
        self.transport.registerProducer(self, True)
        self._registered_as_producer = True
        self._socket = direct_socket(self.transport)
        self.send(_GREETING)
        self._fill_bucket()
        timeout = room.config.handshake_timeout
        if timeout:
            self._handshake_timer = room.reactor.callLater(timeout, self._handshake_expired)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """A dropped connection is a leave like BYE."""
        self.state = ConnectionState.CLOSED
        self._backlog = self._held = None
        self._cancel_handshake_timer()
        if self._reading_resumes is not None and self._reading_resumes.active():
            self._reading_resumes.cancel()
        self.factory.leave(self, LeaveReason.DISCONNECTED)
        self.factory.release(self)

    def stringReceived(self, data: bytes) -> None:
        """Handle one frame according to the state (frames after close are ignored)."""
        state = self.state
        if state is ConnectionState.JOINED:
            self._joined_frame(data)
        elif state is ConnectionState.CHOOSING:
            self._choosing_frame(data)

    # -- choosing ----------------------------------------------------------

    def _choosing_frame(self, data: bytes) -> None:
        # A choosing client may only ever hear READY or RETRY, so over the rate
        # it is not refused but throttled: its frame is answered, then reading
        # from it stops until the bucket holds a token again.
        if self.factory.config.rate:
            self._charge_choosing_frame()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.send(_RETRY_FRAME)
            return
        if text == BYE:
            self.close()
            return
        choice = _nickname_choice(text)
        if choice is None:
            self.send(_RETRY_FRAME)
            return
        nickname, since = choice
        room = self.factory
        if not room.is_free(nickname):
            self.send(_RETRY_FRAME)
            return
        self.state = ConnectionState.JOINED
        self._cancel_handshake_timer()
        self._fill_bucket()
        room.join(self, nickname, since)

    # -- joined ------------------------------------------------------------

    def _joined_frame(self, data: bytes) -> None:
        if data == _BYE_BYTES:
            self.leave()
            return
        if self.factory.config.rate and not self._take_token():
            if b"BYE" in data and _is_json_bye(data):  # exempt too; the cheap test first
                self.leave()
            else:
                self._rate_limited()
            return
        try:
            self._handle_joined_text(data)
        except PacketRejected as rejected:
            if self.state is ConnectionState.JOINED:
                self.factory.send_error(self, rejected.code, rejected.detail)

    def _handle_joined_text(self, data: bytes) -> None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PacketRejected(ErrorCode.MALFORMED, "a frame must be UTF-8") from None
        if text in CONTROL_WORDS:
            raise PacketRejected(ErrorCode.UNKNOWN_COMMAND, f"{text} is not a command here")
        try:
            packet = parse_packet(text)
        except NotAPacket:
            raise PacketRejected(ErrorCode.MALFORMED, "a frame must be a JSON object") from None
        if "message" in packet:
            self._chat_packet(packet)
        elif "command" in packet:
            if packet["command"] != "who":
                raise PacketRejected(ErrorCode.UNKNOWN_COMMAND, "the only command is who")
            self.factory.who(self)
        else:
            raise PacketRejected(ErrorCode.MALFORMED, "a packet needs a message or a command")

    def _chat_packet(self, packet: dict[str, Any]) -> None:
        message = packet["message"]
        room = self.factory
        if "to" not in packet:
            if _means_bye(packet):
                self.leave()
                return
            room.publish(self, check_message(message, room.config.max_message_bytes))
            return
        to = packet["to"]
        if not isinstance(to, str):
            raise PacketRejected(ErrorCode.MALFORMED, "to must be a nickname")
        room.send_private(self, to, check_message(message, room.config.max_message_bytes))

    def _fill_bucket(self) -> None:
        """A full bucket of C{--burst} tokens, as of now."""
        self._tokens = float(self.factory.config.burst)
        self._refilled_at = self.factory.reactor.seconds()

    def _refill(self) -> float:
        """The tokens in the bucket now (at most C{--burst}), counted from the last refill."""
        config = self.factory.config
        now = self.factory.reactor.seconds()
        tokens = min(float(config.burst), self._tokens + (now - self._refilled_at) * config.rate)
        self._refilled_at = now
        return tokens

    def _take_token(self) -> bool:
        """Spend a token of the bucket (C{--rate}, C{--burst}) if there is one."""
        tokens = self._refill()
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            self._rate_errors = 0
            return True
        self._tokens = tokens
        return False

    def _charge_choosing_frame(self) -> None:
        """Spend a token, into debt if need be; in debt, stop reading (this chunk's
        later frames too) until the bucket is back to zero."""
        room = self.factory
        config = room.config
        self._tokens = self._refill() - 1.0
        if self._tokens < 0:
            self.paused = True  # IntNStringReceiver keeps the unread frames buffered
            self.transport.pauseProducing()
            wait = -self._tokens / config.rate
            self._reading_resumes = room.reactor.callLater(wait, self._resume_reading)

    def _resume_reading(self) -> None:
        self._reading_resumes = None
        self.paused = False
        self.transport.resumeProducing()
        self.dataReceived(b"")  # type: ignore[no-untyped-call]  # frames read, not handled

    def _rate_limited(self) -> None:
        """Refuse a frame with `rate-limited`; too many in a row is a flood."""
        room = self.factory
        config = room.config
        self._rate_errors += 1
        retry_after = round((1.0 - self._tokens) / config.rate, 3)
        room.send_error(
            self, ErrorCode.RATE_LIMITED, "Too many frames: slow down", retry_after=retry_after
        )
        if config.flood_errors and self._rate_errors >= config.flood_errors:
            self._drop(LeaveReason.FLOOD)

    # -- leaving -----------------------------------------------------------

    def leave(self) -> None:
        """BYE: deliver what the client is owed, free the nickname, close."""
        self.state = ConnectionState.CLOSED
        batcher = self.factory.batcher
        if batcher.catch_up(self):
            self._part()
        else:  # fsync=always: what it is owed waits for an fsync round
            batcher.when_delivered().addCallback(lambda _: self._part())

    def _part(self) -> None:
        self.factory.leave(self, LeaveReason.BYE)
        self.close()

    def _drop(self, reason: LeaveReason) -> None:
        """Disconnect a client for abuse; a slow one is not waited for."""
        self.state = ConnectionState.CLOSED
        self._backlog = self._held = None
        self.factory.leave(self, reason)
        if reason is LeaveReason.SLOW:
            self._abort()
        else:
            self._unregister_producer()
            self.transport.loseConnection()

    def _abort(self) -> None:
        """Drop the connection now, unwritten output included."""
        self._unregister_producer()
        self._aborted = True  # abortConnection leaves the socket writable until the next turn
        self.transport.abortConnection()

    def close(self) -> None:
        """Close the connection after what it is owed (no leave notice), a replay still
        being streamed included: --sendq-bytes bounds that wait."""
        self.state = ConnectionState.CLOSED
        self._cancel_handshake_timer()
        if self._backlog is not None:
            self._close_when_streamed = True
            return
        self._unregister_producer()
        self.transport.loseConnection()

    def _unregister_producer(self) -> None:
        # A paused producer left registered can keep a close from completing.
        if self._registered_as_producer:
            self._registered_as_producer = False
            self.transport.unregisterProducer()

    def _handshake_expired(self) -> None:
        """Abort, not close: a TLS client stuck before its handshake would hold a
        graceful close (and its --max-clients place) open forever."""
        self._handshake_timer = None
        self.state = ConnectionState.CLOSED
        self._abort()

    def _cancel_handshake_timer(self) -> None:
        timer = self._handshake_timer
        if timer is not None:
            self._handshake_timer = None
            if timer.active():
                timer.cancel()

    # -- output ------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Write C{data}, dropping the client as slow once too much waits for it."""
        if self._aborted:
            return
        if self._backlog is not None:
            self._hold(data)
        else:
            self._write(data)

    def stream(self, frames: Iterator[bytes]) -> None:
        """Write C{frames} (a replay) only as fast as the client reads them.

        Whatever is sent meanwhile waits behind them and counts against
        C{--sendq-bytes}, so a resuming client that does not read costs the
        server a bounded amount, however much history it asked for.
        """
        self._backlog = frames
        self._held = []
        self._pump()

    def _pump(self) -> None:
        while self._backlog is not None and not self._output_paused:
            chunk: list[bytes] = []
            size = 0
            for data in self._backlog:
                chunk.append(data)
                size += len(data)
                if size >= _STREAM_CHUNK_BYTES:
                    break
            else:  # the backlog is done: what was held goes right after it
                chunk.extend(self._held or ())
                self._backlog = self._held = None
                self._held_bytes = 0
                self._write(b"".join(chunk))
                if self._close_when_streamed:
                    self.close()
                return
            self._write(b"".join(chunk))

    def _hold(self, data: bytes) -> None:
        assert self._held is not None
        self._held.append(data)
        self._held_bytes += len(data)
        if self._held_bytes > self.factory.config.sendq_bytes > 0:
            self._drop(LeaveReason.SLOW)

    def _write(self, data: bytes) -> None:
        if self._output_paused:
            self._queued_while_paused += len(data)
            if self._queued_while_paused > self.factory.config.sendq_bytes > 0:
                self._drop(LeaveReason.SLOW)
                return
        elif self._socket is not None:
            data = send_now(self.transport, self._socket, data)
            if not data:
                return
        self.transport.write(data)

    def pauseProducing(self) -> None:
        """The transport's buffer is full: start counting what waits (reading goes on)."""
        if not self._output_paused:
            self._output_paused = True
            self._queued_while_paused = 0

    def resumeProducing(self) -> None:
        """The transport's buffer is empty again: go on with any backlog."""
        self._output_paused = False
        self._queued_while_paused = 0
        if self._backlog is not None:
            self._pump()

    def stopProducing(self) -> None:
        """The connection is going away; connectionLost does the bookkeeping."""

    def display_name(self) -> str:
        """The nickname, or the peer address before one was chosen (for logs)."""
        if self.nickname:
            return self.nickname
        return str(self.transport.getPeer()) if self.transport else "?"


def _means_bye(packet: dict[str, Any]) -> bool:
    """The original library's way to leave: a chat packet without `to` saying BYE."""
    return packet.get("message") == BYE and "to" not in packet


def _is_json_bye(data: bytes) -> bool:
    """Whether a frame is a packet that L{_means_bye}."""
    try:
        packet = parse_packet(data.decode("utf-8"))
    except (UnicodeDecodeError, NotAPacket):
        return False
    return _means_bye(packet)


def _nickname_choice(text: str) -> tuple[str, int | None] | None:
    """Parse a nickname frame (bare or resume form) into (display name, since).

    A frame that parses as a JSON object is a packet: the resume form or
    nothing. Anything else, even C{{abc}, is a bare nickname.
    """
    since: Any = None
    packet = None
    if looks_like_packet(text):
        with contextlib.suppress(NotAPacket):
            packet = parse_packet(text)
    if packet is not None:
        text = packet.get("nickname")  # type: ignore[assignment]
        since = packet.get("since")
        if not isinstance(text, str):
            return None
        if since is not None and (
            not isinstance(since, int) or isinstance(since, bool) or since < 0
        ):
            return None
    try:
        return validate_nickname(text), since
    except InvalidNickname:
        return None
