"""The packet dialogue: one connection of a door that carries packets (word-packet
TCP or WebSocket), as docs/protocol.md sections 2-5 and 12 (rooms) describe it.

States and transitions (section 2)::

    CHOOSING --valid free nickname--> JOINED      (READY, replay, welcome)
    CHOOSING --anything else-------> CHOOSING    (RETRY)
    CHOOSING --BYE, timeout, close--> CLOSED
    JOINED   --BYE, drop, close----> CLOSED      (leave notice to the others)

The machine is a plain state field rather than automat: every chat frame
passes through it, and a method dispatch per frame is the cheap way. The
rules that hold on every door (limits, output bound, leaving) are the core's
L{Connection}; this class reads the packets and speaks the control words.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, NamedTuple

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.accounts import desk
from chatproto.core.connection import Connection, ConnectionState
from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.hall import Hall
from chatproto.core.member import ILink
from chatproto.core.messages import check_message, check_topic
from chatproto.core.nicknames import InvalidNickname, validate_nickname
from chatproto.core.notices import error_notice
from chatproto.core.reading import hold_reading_until
from chatproto.core.words import BYE, CONTROL_WORDS, HELLO, NICK, READY, RETRY
from chatproto.doors.packets.codec import PacketCodec
from chatproto.doors.packets.fields import is_count, room_of, text_field
from chatproto.doors.packets.moderation import MODERATION_COMMANDS, run_moderation
from chatproto.doors.packets.parsing import NotAPacket, looks_like_packet, parse_packet

_BYE_BYTES = BYE.encode("ascii")
_log = Logger()


class Choice(NamedTuple):
    """A nickname frame read (docs/protocol.md sections 2 and 13)."""

    nickname: str
    since: int | None
    token: str | None
    #: Sent in the JSON form, whose sender may be told why it gets RETRY.
    json_form: bool
    #: The password to log in with, and the account it is for (None: the nickname's).
    password: str | None = None
    account: str | None = None


class PacketSession(Connection):
    """The server side of one packet connection; its door feeds it whole frames' texts."""

    codec: PacketCodec

    def __init__(
        self, hall: Hall, link: ILink, codec: PacketCodec, peer: str, host: str | None
    ) -> None:
        super().__init__(hall, link, codec, peer, host)
        self._claiming = False
        # Set when a server-wide ban refused the nickname frame: close after RETRY.
        self._banned = False

    def start(self) -> bool:
        """Greet the client with HELLO and NICK, or refuse it when the server is full."""
        return self.open(self.codec.control(HELLO) + self.codec.control(NICK))

    def frame_received(self, data: bytes) -> None:
        """Handle one frame's text according to the state (frames after close are ignored)."""
        state = self.state
        if state is ConnectionState.JOINED:
            self._joined_frame(data)
        elif state is ConnectionState.CHOOSING and not self._claiming:
            self._choosing_frame(data)

    def binary_received(self) -> None:
        """A message that is not text (WebSocket binary): malformed, the connection stays."""
        if self.state is ConnectionState.CHOOSING:
            self.throttle()
            self.send(self.codec.control(RETRY))
        elif self.state is ConnectionState.JOINED:
            if self.allow():
                self.reject(ErrorCode.MALFORMED, "a message must be text")
            else:
                self.rate_limited()

    # -- choosing ----------------------------------------------------------

    def _choosing_frame(self, data: bytes) -> None:
        self.throttle()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.send(self.codec.control(RETRY))
            return
        if text == BYE:
            self.close()
            return
        choice = _nickname_choice(text)
        if choice is None:
            self.send(self.codec.control(RETRY))
            return
        answer: Deferred[bool | None]
        if self.hall.accounts is None and choice.password is None:
            answer = self.hall.join(self, choice.nickname, choice.since, choice.token)  # type: ignore[assignment]
        else:
            answer = Deferred.fromCoroutine(
                desk.enter(
                    self.hall,
                    self,
                    choice.nickname,
                    choice.since,
                    choice.token,
                    choice.password,
                    choice.account,
                )
            )
        answer.addErrback(self._entry_refused, choice.json_form)
        # A store that answers later: read nothing more until it has (frames read
        # already are dropped while claiming).
        self._claiming = True
        answer.addCallback(self._claim_answered, choice.json_form)
        hold_reading_until(self, answer)

    def _claim_answered(self, joined: bool | None, json_form: bool) -> None:
        self._claiming = False
        self._join_answered(joined, json_form)

    def _entry_refused(self, failure: Failure, json_form: bool) -> None:
        """Say why an entrance was refused (None: told), to a client of the JSON form
        only: a bare nickname's sender expects READY or RETRY and nothing else."""
        if failure.check(PacketRejected):  # type: ignore[no-untyped-call]
            rejected: PacketRejected = failure.value  # type: ignore[assignment]
            code, detail, extra = rejected.code, rejected.detail, rejected.extra
            # A server-wide ban (section 14): RETRY, then the connection closes.
            self._banned = code is ErrorCode.BANNED
        else:  # the account store is out of reach: never let a registered name through
            _log.failure("accounts cannot be checked", failure, event_kind="error")
            code, detail, extra = ErrorCode.UNAVAILABLE, "Accounts cannot be checked now", {}
        if json_form and self.state is ConnectionState.CHOOSING:
            self.send(self.codec.encode(error_notice(self.hall.timestamp(), code, detail, **extra)))
        return None

    def _join_answered(self, joined: bool | None, json_form: bool) -> None:
        """READY was sent (True), or send RETRY: after the reason (None: told already)."""
        if joined or self.state is not ConnectionState.CHOOSING:
            return
        # One `error` before RETRY says why, to a client of the JSON form only: a bare
        # nickname's sender expects READY or RETRY and nothing else (section 2).
        reason = self.hall.refusal_notice(self) if json_form and joined is False else None
        if reason is not None:
            self.send(reason)
        self.send(self.codec.control(RETRY))
        if self._banned:
            self.close()

    def entrance(
        self, replay: Iterator[bytes], welcome: bytes, tail: Sequence[bytes]
    ) -> Iterator[bytes]:
        """READY, the replay marked as history, the welcome, then any shutdown notice."""
        codec = self.codec
        yield codec.control(READY)
        for record in replay:
            yield codec.encode_replayed(record)
        yield codec.encode(welcome)
        for record in tail:
            yield codec.encode(record)

    # -- joined ------------------------------------------------------------

    def _joined_frame(self, data: bytes) -> None:
        if data == _BYE_BYTES:
            self.leave()
            return
        if not self.allow():
            # BYE is exempt from the rate limit in both forms (the cheap test first).
            if b"BYE" in data and _is_json_bye(data):
                self.leave()
            else:
                self.rate_limited()
            return
        try:
            self._handle_joined_text(data)
        except PacketRejected as rejected:
            self.reject(rejected.code, rejected.detail, **rejected.extra)

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
            name = packet["command"]
            moderating = MODERATION_COMMANDS.get(name) if isinstance(name, str) else None
            if moderating is not None:
                run_moderation(moderating, self, packet)
                return
            command = _COMMANDS.get(name) if isinstance(name, str) else None
            if command is None:
                raise PacketRejected(
                    ErrorCode.UNKNOWN_COMMAND,
                    "the commands are who, join, part, history, rooms, topic, register, "
                    "password, unregister and the moderation commands (kick, mute, unmute, "
                    "ban, unban, bans, redact, op, deop, voice, devoice, topic-lock, "
                    "moderated, announce)",
                )
            command(self, packet)
        else:
            raise PacketRejected(ErrorCode.MALFORMED, "a packet needs a message or a command")

    def _chat_packet(self, packet: dict[str, Any]) -> None:
        message = packet["message"]
        hall = self.hall
        if "to" not in packet:
            if _means_bye(packet):
                self.leave()
                return
            room = room_of(packet)
            hall.publish(self, check_message(message, hall.config.max_message_bytes), room)
            return
        to = packet["to"]
        if not isinstance(to, str):
            raise PacketRejected(ErrorCode.MALFORMED, "to must be a nickname")
        hall.send_private(self, to, check_message(message, hall.config.max_message_bytes))

    # -- commands (docs/protocol.md sections 5 and 12) -------------------------

    def _who_command(self, packet: dict[str, Any]) -> None:
        self.hall.who(self, room_of(packet))

    def _join_command(self, packet: dict[str, Any]) -> None:
        room = room_of(packet)
        since = packet.get("since")
        if since is not None and not is_count(since):
            raise PacketRejected(ErrorCode.MALFORMED, "since must be an integer >= 0")
        self.hall.join_room(self, room if room is not None else self.hall.default_room.name, since)

    def _part_command(self, packet: dict[str, Any]) -> None:
        self.hall.part_room(self, room_of(packet))

    def _history_command(self, packet: dict[str, Any]) -> None:
        before, since = packet.get("before"), packet.get("since")
        limit = packet.get("limit", DEFAULT_HISTORY_LIMIT)
        if before is not None and since is not None:
            raise PacketRejected(ErrorCode.MALFORMED, "history takes before or since, not both")
        if not all(value is None or is_count(value) for value in (before, since)):
            raise PacketRejected(ErrorCode.MALFORMED, "before and since must be integers >= 0")
        if not is_count(limit) or not 1 <= limit <= MAX_HISTORY_LIMIT:
            raise PacketRejected(
                ErrorCode.MALFORMED, f"limit must be an integer from 1 to {MAX_HISTORY_LIMIT}"
            )
        self.hall.history(self, room_of(packet), before, since, limit)

    def _rooms_command(self, packet: dict[str, Any]) -> None:
        self.hall.list_rooms(self)

    def _topic_command(self, packet: dict[str, Any]) -> None:
        if "topic" not in packet:
            raise PacketRejected(ErrorCode.MALFORMED, "topic needs a topic ('' clears it)")
        self.hall.set_topic(self, room_of(packet), check_topic(packet["topic"]))

    # -- account commands (docs/protocol.md section 13) -------------------------

    def _register_command(self, packet: dict[str, Any]) -> None:
        self._account_command(desk.register(self.hall, self, text_field(packet, "password")))

    def _password_command(self, packet: dict[str, Any]) -> None:
        old, new = text_field(packet, "old"), text_field(packet, "new")
        self._account_command(desk.change_password(self.hall, self, old, new))

    def _unregister_command(self, packet: dict[str, Any]) -> None:
        self._account_command(desk.unregister(self.hall, self, text_field(packet, "password")))

    def _account_command(self, command: Coroutine[Any, Any, None]) -> None:
        """Run an account command (a hash in another thread): see L{one_at_a_time}."""
        self.one_at_a_time(Deferred.fromCoroutine(command), "Accounts cannot be changed now")

    def one_at_a_time(self, done: Deferred[None], unavailable: str) -> None:
        """Read nothing more from the client until the command C{done} stands for is
        answered (one at a time per connection); its refusal is the client's `error`
        (C{unavailable} when a store is out of reach)."""

        def refused(failure: Failure) -> None:
            if failure.check(PacketRejected):  # type: ignore[no-untyped-call]
                rejected: PacketRejected = failure.value  # type: ignore[assignment]
                self.reject(rejected.code, rejected.detail, **rejected.extra)
            else:
                _log.failure("command failed", failure, event_kind="error")
                self.reject(ErrorCode.UNAVAILABLE, unavailable)

        hold_reading_until(self, done.addErrback(refused))


#: The `history` command's default and largest `limit` (docs/protocol.md section 12).
DEFAULT_HISTORY_LIMIT = 50
MAX_HISTORY_LIMIT = 100

#: The commands of a joined client, by name.
_COMMANDS: dict[str, Callable[[PacketSession, dict[str, Any]], None]] = {
    "who": PacketSession._who_command,
    "join": PacketSession._join_command,
    "part": PacketSession._part_command,
    "history": PacketSession._history_command,
    "rooms": PacketSession._rooms_command,
    "topic": PacketSession._topic_command,
    "register": PacketSession._register_command,
    "password": PacketSession._password_command,
    "unregister": PacketSession._unregister_command,
}


def _means_bye(packet: dict[str, Any]) -> bool:
    """The original library's way to leave: a chat packet without `to` saying BYE (and
    without `room`: that library knows no rooms, and BYE in a room is said there)."""
    return packet.get("message") == BYE and "to" not in packet and "room" not in packet


def _is_json_bye(data: bytes) -> bool:
    """Whether a frame is a packet that L{_means_bye}."""
    try:
        packet = parse_packet(data.decode("utf-8"))
    except (UnicodeDecodeError, NotAPacket):
        return False
    return _means_bye(packet)


def _nickname_choice(text: str) -> Choice | None:
    """Parse a nickname frame (bare, or JSON with `since`, `token`, `password`,
    `account`) into a L{Choice}; None for a frame that is none.

    A frame that parses as a JSON object is a packet: the resume form or
    nothing. Anything else, even C{{abc}, is a bare nickname (which the
    nickname rules then judge: strict-JSON failures such as duplicate keys
    hold characters no nickname may have).
    """
    since: Any = None
    token: Any = None
    password: Any = None
    account: Any = None
    packet = None
    if looks_like_packet(text):
        with contextlib.suppress(NotAPacket):
            packet = parse_packet(text)
    if packet is not None:
        text = packet.get("nickname")  # type: ignore[assignment]
        since = packet.get("since")
        token = packet.get("token")
        password = packet.get("password")
        account = packet.get("account")
        if not isinstance(text, str) or not all(
            value is None or isinstance(value, str) for value in (token, password, account)
        ):
            return None
        if account is not None and password is None:  # an account is only logged in to
            return None
        if since is not None and (
            not isinstance(since, int) or isinstance(since, bool) or since < 0
        ):
            return None
    try:
        nickname = validate_nickname(text)
        if account is not None:
            account = validate_nickname(account)
    except InvalidNickname:
        return None
    return Choice(nickname, since, token, packet is not None, password, account)
