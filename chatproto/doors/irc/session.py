"""One IRC connection as the room sees it (docs/protocol.md section 10).

The door's protocol cuts the stream into bounded lines and hands each to
L{IrcSession.line_received}. Before the room has joined the client, lines go to its
L{Registration} (NICK, USER, CAP); once the room accepts the nickname, the session
answers commands itself or hands chat to the room. The rules every door shares (limits,
the bounded output, leaving) are the core's L{Connection}::

    CHOOSING --NICK and USER (after CAP END), nickname free--> JOINED   (001-005, JOIN,
                                                                          names, replay)
    CHOOSING --QUIT, handshake timeout, server full--------> CLOSED    (ERROR)
    JOINED   --QUIT, PART of the channel-----------------> CLOSED    (leave `bye`, ERROR)
    JOINED   --PING unanswered, flood, too slow----------> CLOSED    (leave, ERROR)

A reply to a client is written after its share of everything the room queued before it
(L{TurnBatcher.catch_up}), so a client that syncs with PING sees earlier messages first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall

from chatproto.core.connection import Connection, ConnectionState
from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.hall import Hall
from chatproto.core.member import CloseReason, ILink, LeaveReason
from chatproto.core.messages import check_message
from chatproto.core.nicknames import nickname_key
from chatproto.doors.irc.codec import IrcCodec, codec_for, wire
from chatproto.doors.irc.commands import NOTICE, LocalCommands, read_chat, targets_of
from chatproto.doors.irc.framing import Overlong
from chatproto.doors.irc.identity import (
    MemberIdentity,
    ServerInfo,
    looks_like_channel,
    mask_matches,
)
from chatproto.doors.irc.mapping import replay_lines
from chatproto.doors.irc.message import (
    InvalidUtf8,
    MalformedMessage,
    Message,
    parse_line,
    serialise,
)
from chatproto.doors.irc.registration import Registration, Step
from chatproto.doors.irc.replies import (
    ERR_INPUTTOOLONG,
    ERR_NEEDMOREPARAMS,
    ERR_NONICKNAMEGIVEN,
    ERR_UNKNOWNCOMMAND,
    RPL_ENDOFNAMES,
    Replies,
)

#: What the ERROR line says when the server closes for a reason of the core's.
CLOSING_TEXTS: Final = {
    CloseReason.FLOOD: "Excess flood",
    CloseReason.SERVER_FULL: "Server full",
    CloseReason.SHUTDOWN: "Server shutting down",
    CloseReason.REPLACED: "Replaced by a new connection",
}
#: WHO masks that mean everyone.
_EVERYONE: Final = frozenset({"*", "0"})


class IrcDoor:
    """What every session of one IRC door shares: the server, its replies, its ping timer.

    C{ping_interval} is how long a registered client may stay silent before the server
    pings it, C{ping_timeout} how long it then has to say anything (section 10: 60, 60).
    """

    def __init__(
        self, server: ServerInfo, ping_interval: float = 60.0, ping_timeout: float = 60.0
    ) -> None:
        self.server = server
        self.replies = Replies(server)
        self.commands = LocalCommands(self.replies)
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout


class IrcSession(Connection):
    """The server side of one IRC connection; its protocol feeds it framed lines."""

    codec: IrcCodec
    #: The command being handled, which a refusal names (None: a line that did not parse).
    _handling: Message | None = None
    #: When the server pinged the silent client, until it says anything.
    _pinged_at: float | None = None
    _idle_watch: IDelayedCall | None = None
    #: What WHO and WHOIS show of this client, once registered.
    identity: MemberIdentity | None = None

    def __init__(self, hall: Hall, link: ILink, door: IrcDoor, peer: str, host: str | None) -> None:
        super().__init__(hall, link, codec_for(door.server, frozenset()), peer, host)
        self.door = door
        self.registration = Registration(door.replies)
        self._clock = hall.reactor
        self._last_heard = self._clock.seconds()
        #: The ERROR lines a BYE close ends with (QUIT's own text).
        self._farewell: list[Message] = []

    def start(self) -> bool:
        """Admit the client (the server speaks only when spoken to), or refuse it."""
        return self.open(b"")

    def line_received(self, line: bytes | Overlong) -> None:
        """Handle one line according to the state (lines after close are ignored)."""
        state = self.state
        if state is ConnectionState.CLOSED:
            return
        self._last_heard = self._clock.seconds()
        parsed = self._parse(line)
        if state is ConnectionState.CHOOSING:
            self.throttle()
            if isinstance(parsed, Message):
                self._take(self.registration.receive(parsed))
            else:
                self._reply(parsed)
            return
        if isinstance(parsed, Message):
            self._handling = parsed
            # QUIT is BYE: never refused (docs/protocol.md section 7).
            if parsed.command == "QUIT" or self.allow():
                self._command(parsed)
            else:
                self.rate_limited()
        else:
            self._handling = None
            if self.allow():
                self._reply(parsed)
            else:
                self.rate_limited()

    def _parse(self, line: bytes | Overlong) -> Message | list[Message]:
        """The message on C{line}, or the replies to a line that carries none."""
        replies = self.door.replies
        if line is Overlong.LINE:
            return [replies.numeric(ERR_INPUTTOOLONG, self.registration.me)]
        try:
            return parse_line(line)
        except InvalidUtf8 as e:
            return [replies.invalid_utf8(e.command)]
        except MalformedMessage:
            return [replies.numeric(ERR_UNKNOWNCOMMAND, self.registration.me, "*")]

    def _reply(self, messages: Sequence[Message]) -> None:
        """Write replies after everything the client is owed."""
        if not messages:
            return
        if self.state is ConnectionState.JOINED:
            self.hall.catch_up(self)
        self.send(wire(messages))

    # -- registration --------------------------------------------------------

    def _take(self, step: Step) -> None:
        self._adopt_capabilities()
        if step.close:
            self._farewell = step.replies
            self.close()
            return
        self._reply(step.replies)
        if step.join_as is not None:
            self._ask_room(step.join_as)

    def _ask_room(self, nickname: str) -> None:
        """Ask the room for the nickname; a store that answers later holds the input."""
        answer: Deferred[bool] = self.hall.join(self, nickname, None)
        if answer.called:
            answer.addCallback(self._join_answered)
            return
        self.hold_reading()

        def answered(joined: bool) -> None:
            self._join_answered(joined)
            self.release_reading()

        answer.addCallback(answered)

    def _join_answered(self, joined: bool) -> None:
        if joined:
            registration = self.registration
            registration.room_accepted()
            self.identity = MemberIdentity.from_user(
                self.nickname, registration.username, registration.realname
            )
            self._watch_idle(self.door.ping_interval)
        elif self.state is ConnectionState.CHOOSING:
            self._reply(self.registration.nickname_taken().replies)

    def _adopt_capabilities(self) -> None:
        """Encode with the codec of the client's capabilities (shared with its like)."""
        self.codec = codec_for(self.door.server, self.registration.capabilities)

    def entrance(
        self, replay: Iterator[bytes], welcome: bytes, tail: Sequence[bytes]
    ) -> Iterator[bytes]:
        """001-005 and the MOTD, JOIN with topic and names, the replay, then any
        shutdown notice: the room has joined the client (section 10)."""
        replies, server = self.door.replies, self.door.server
        me = self.nickname
        capabilities = self.registration.capabilities
        users = self._welcomed(welcome)
        yield wire([*replies.welcome(me), *replies.join_burst(me, users)])
        records = (json.loads(record) for record in replay)
        for message in replay_lines(records, server.name, server.channel, capabilities):
            yield serialise(message)
        for record in tail:
            yield self.codec.encode(record)

    def _welcomed(self, welcome: bytes) -> list[str]:
        """Who the welcome lists (everyone, when the room was too big to list in it)."""
        packet: dict[str, Any] = json.loads(welcome)
        if packet.get("truncated"):
            return self._members()
        users: list[str] = packet["users"]
        return users

    # -- commands of a registered client ---------------------------------------

    def _command(self, message: Message) -> None:
        handler = _HANDLERS.get(message.command)
        commands = self.door.commands
        try:
            if handler is not None:
                handler(self, message)
            elif commands.handles(message.command):
                self._reply(commands.answer(self.nickname, message, self.hall.timestamp()))
            else:
                raise PacketRejected(ErrorCode.UNKNOWN_COMMAND, f"{message.command} is unknown")
        except PacketRejected as rejected:
            self.reject(rejected.code, rejected.detail)

    def reject(self, code: ErrorCode, detail: str, **extra: Any) -> None:
        """Answer a refused command with its numeric, or a server NOTICE naming the code
        (nothing for a NOTICE: it never causes an automatic reply)."""
        message = self._handling
        if self.state is not ConnectionState.JOINED or (message and message.command == NOTICE):
            return
        retry_after = extra.get("retry_after")
        if retry_after is not None:
            detail = f"{detail} (retry after {retry_after} s)"
        command = message.command if message is not None else "*"
        replies = self.door.replies
        self._reply([replies.core_error(self.nickname, code, detail, command=command)])

    def _chat(self, message: Message) -> None:
        """PRIVMSG or NOTICE: to the channel, public; to a nickname of any door, private."""
        hall, replies = self.hall, self.door.replies
        me = self.nickname
        says, errors = read_chat(replies, me, message)
        limit = hall.config.max_message_bytes
        for say in says:
            try:
                text = check_message(say.text, limit)
                if say.to is None:
                    hall.publish(self, text)
                else:
                    hall.send_private(self, say.to, text)
            except PacketRejected as rejected:
                if say.command != NOTICE:
                    target = say.to or self.door.server.channel
                    errors.append(
                        replies.core_error(
                            me, rejected.code, rejected.detail, command=say.command, target=target
                        )
                    )
        self._reply(errors)

    def _cap(self, message: Message) -> None:
        step = self.registration.cap(message)
        self._adopt_capabilities()
        self._reply(step.replies)

    def _quit(self, message: Message) -> None:
        self._farewell = self.registration.quit(message.params).replies
        self.leave()

    def _part_channel(self, message: Message) -> None:
        """PART of the channel leaves the room, like QUIT; other channels get 403."""
        server, replies = self.door.server, self.door.replies
        me = self.nickname
        if not message.params or not message.params[0]:
            self._reply([replies.numeric(ERR_NEEDMOREPARAMS, me, "PART")])
            return
        channels = targets_of("PART", message.params[0])
        if channels is None:
            self._reply([replies.too_many_targets(me, "PART", message.params[0])])
            return
        others = [name for name in channels if not server.is_channel(name)]
        self._reply([replies.no_such_channel(me, name) for name in others])
        if len(others) < len(channels):
            self._farewell = [replies.closing_link(f"Left {server.channel}")]
            self.leave()

    def _names(self, message: Message) -> None:
        """353/366 for the channel; only 366 for a channel that is not the room. Each
        channel is answered once, however often it is named."""
        server, replies = self.door.server, self.door.replies
        me = self.nickname
        asked = message.params[0] if message.params and message.params[0] else server.channel
        channels = targets_of("NAMES", asked)
        if channels is None:
            self._reply([replies.too_many_targets(me, "NAMES", asked)])
            return
        answer: list[Message] = []
        for name in channels:
            if server.is_channel(name):
                answer += replies.names(me, self._members())
            else:
                answer.append(replies.numeric(RPL_ENDOFNAMES, me, name))
        self._reply(answer)

    def _who(self, message: Message) -> None:
        """352 per member the mask matches (the channel, C{*}, a nickname or a glob), 315."""
        mask = message.params[0] if message.params and message.params[0] else "*"
        of_channel = self.door.server.is_channel(mask)
        if of_channel or mask in _EVERYONE:
            members = self._members()
        elif looks_like_channel(mask):
            members = []
        else:
            key = nickname_key(mask)
            members = [name for name in self._members() if mask_matches(key, nickname_key(name))]
        identities = [self._identity_of(name) for name in members]
        self._reply(self.door.replies.who(self.nickname, mask, identities, of_channel=of_channel))

    def _whois(self, message: Message) -> None:
        """311 and 318 for a member of any door; 401 and 318 for nobody."""
        replies = self.door.replies
        if not message.params or not message.params[-1]:
            self._reply([replies.numeric(ERR_NONICKNAMEGIVEN, self.nickname)])
            return
        target = message.params[-1]  # WHOIS [server] nick
        if targets_of("WHOIS", target) is None:
            self._reply([replies.too_many_targets(self.nickname, "WHOIS", target)])
            return
        key = nickname_key(target)
        found = next((name for name in self._members() if nickname_key(name) == key), None)
        identity = self._identity_of(found) if found is not None else None
        self._reply(replies.whois(self.nickname, target, identity))

    def _members(self) -> list[str]:
        """Every member's display nickname, of every door, in join order."""
        return [json.loads(name) for name in self.hall.nicknames()]

    def _identity_of(self, nickname: str) -> MemberIdentity:
        """What USER said for an IRC client on this node; the nickname for anyone else
        (other doors have no username or realname; other nodes' clients are not known here)."""
        member = self.hall.local_member(nickname)
        if isinstance(member, IrcSession) and member.identity is not None:
            return member.identity
        return MemberIdentity.of_nickname(nickname)

    # -- idle ping ---------------------------------------------------------------

    def _watch_idle(self, delay: float) -> None:
        self._idle_watch = self._clock.callLater(delay, self._idle_check)

    def _idle_check(self) -> None:
        """Ping a client silent for the ping interval; drop one silent since the ping."""
        self._idle_watch = None
        if self.state is not ConnectionState.JOINED:
            return
        door = self.door
        pinged = self._pinged_at
        if pinged is not None:
            if self._last_heard < pinged:
                self._ping_unanswered()
                return
            self._pinged_at = None
        now = self._clock.seconds()
        silent = now - self._last_heard
        if silent < door.ping_interval:
            self._watch_idle(door.ping_interval - silent)
            return
        self._pinged_at = now
        self.send(serialise(door.replies.ping(door.server.name)))
        self._watch_idle(door.ping_timeout)

    def _ping_unanswered(self) -> None:
        """The peer is gone as far as we can tell: it leaves (`disconnected`) at once."""
        self.state = ConnectionState.CLOSED
        self.hall.leave(self, LeaveReason.DISCONNECTED)
        self.outbox.stop()
        self.link.close(CloseReason.TIMEOUT)

    # -- leaving -----------------------------------------------------------------

    def closing_line(self, reason: CloseReason) -> bytes:
        """The ERROR line that ends a connection the server closes for C{reason}."""
        replies = self.door.replies
        if reason is CloseReason.BYE:
            return wire(self._farewell or [replies.closing_link()])
        if reason is CloseReason.TIMEOUT:
            registered = self.key is not None
            return serialise(
                replies.closing_link("Ping timeout" if registered else "Registration timed out")
            )
        return serialise(replies.closing_link(CLOSING_TEXTS[reason]))

    def lost(self) -> None:
        """The transport is gone: stop the ping timer, then leave (`disconnected`)."""
        watch = self._idle_watch
        if watch is not None and watch.active():
            watch.cancel()
        self._idle_watch = None
        super().lost()


#: The commands of a registered client that the session answers itself (the door's
#: L{LocalCommands} answer those that need nothing from the room).
_HANDLERS: Final[dict[str, Callable[[IrcSession, Message], None]]] = {
    "CAP": IrcSession._cap,
    "NAMES": IrcSession._names,
    "NOTICE": IrcSession._chat,
    "PART": IrcSession._part_channel,
    "PRIVMSG": IrcSession._chat,
    "QUIT": IrcSession._quit,
    "WHO": IrcSession._who,
    "WHOIS": IrcSession._whois,
}
