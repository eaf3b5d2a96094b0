"""One IRC connection as the room sees it (docs/protocol.md section 10).

The door's protocol cuts the stream into bounded lines and hands each to
L{IrcSession.line_received}. Before the room has joined the client, lines go to its
L{Registration} (NICK, USER, CAP); once the room accepts the nickname, the session
answers commands itself or hands chat to the room. The rules every door shares (limits,
the bounded output, leaving) are the core's L{Connection}::

    CHOOSING --NICK and USER (after CAP END), nickname free--> JOINED   (001-005, and unless
                                                                          --no-irc-autojoin
                                                                          JOIN, names, replay)
    CHOOSING --QUIT, handshake timeout, server full--------> CLOSED    (ERROR)
    JOINED   --JOIN, PART of rooms----------------------> JOINED    (channels.py)
    JOINED   --QUIT------------------------------------> CLOSED    (leave `bye`, ERROR)
    JOINED   --PING unanswered, flood, too slow----------> CLOSED    (leave, ERROR)

A reply to a client is written after its share of everything the room queued before it
(L{TurnBatcher.catch_up}), so a client that syncs with PING sees earlier messages first.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.core.connection import Connection, ConnectionState
from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.hall import Hall
from chatproto.core.member import CloseReason, ILink, LeaveReason
from chatproto.core.messages import check_message
from chatproto.core.nicknames import nickname_key
from chatproto.core.reading import hold_reading_until
from chatproto.core.room import Room
from chatproto.doors.irc.accountcaps import MemberDirectory, extended_join
from chatproto.doors.irc.burst import WelcomeBurst
from chatproto.doors.irc.capabilities import EXTENDED_JOIN
from chatproto.doors.irc.channels import (
    CHANNEL_COMMANDS,
    about_rooms,
    existing_room,
    nicknames_of,
    topic_of,
)
from chatproto.doors.irc.chathistory import chathistory
from chatproto.doors.irc.codec import IrcCodec, codec_for, wire
from chatproto.doors.irc.commands import NOTICE, LocalCommands, read_chat, targets_of
from chatproto.doors.irc.echoes import LabellingCodec
from chatproto.doors.irc.framing import Overlong
from chatproto.doors.irc.identity import (
    MemberIdentity,
    ServerInfo,
    looks_like_channel,
    mask_matches,
)
from chatproto.doors.irc.idlewatch import IdleWatches, Watch
from chatproto.doors.irc.labels import label_of, labelled
from chatproto.doors.irc.logins import IrcLogin, authenticate, sign_in, whois_account
from chatproto.doors.irc.mapping import channel_of, replay_lines
from chatproto.doors.irc.message import (
    InvalidUtf8,
    MalformedMessage,
    Message,
    parse_line,
    serialise,
)
from chatproto.doors.irc.moderation import MODERATION_COMMANDS, channel_mode
from chatproto.doors.irc.modreplies import ModerationReplies
from chatproto.doors.irc.nickserv import ACCOUNT_COMMANDS, for_nickserv, nickserv
from chatproto.doors.irc.quits import QuitFilter
from chatproto.doors.irc.registration import NO_NICKNAME, Registration, Step
from chatproto.doors.irc.replies import (
    ERR_INPUTTOOLONG,
    ERR_NONICKNAMEGIVEN,
    ERR_UNKNOWNCOMMAND,
    Replies,
    RoomTopic,
)
from chatproto.doors.irc.statuses import prefixes_in, shown_members
from chatproto.seams.rooms import RoomFacts

#: What the ERROR line says when the server closes for a reason of the core's.
CLOSING_TEXTS: Final = {
    CloseReason.FLOOD: "Excess flood",
    CloseReason.SERVER_FULL: "Server full",
    CloseReason.SHUTDOWN: "Server shutting down",
    CloseReason.REPLACED: "Replaced by a new connection",
}
#: WHO masks that mean everyone.
_EVERYONE: Final = frozenset({"*", "0"})


_log = Logger("chatproto.irc")


class IrcDoor:
    """What every session of one IRC door of C{hall} shares: the server, its replies,
    where members are looked up, its ping timer.

    C{ping_interval} is how long a registered client may stay silent before the server
    pings it, C{ping_timeout} how long it then has to say anything (section 10: 60, 60).
    C{motd} gives the message of the day as it is now (--motd; empty: none set).
    """

    def __init__(
        self,
        server: ServerInfo,
        hall: Hall,
        ping_interval: float = 60.0,
        ping_timeout: float = 60.0,
        motd: Callable[[], str] = str,
    ) -> None:
        self.server = server
        #: Where members' accounts and identities are looked up.
        self.directory = MemberDirectory(hall)
        #: Every session's idle check, under one timer.
        self.idle = IdleWatches(hall.reactor)
        self.replies = Replies(server, motd)
        #: 001-005 and the MOTD, rendered once per nickname length.
        self.welcome = WelcomeBurst(self.replies)
        self.moderation = ModerationReplies(self.replies)
        self.commands = LocalCommands(self.replies)
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout


class IrcSession(Connection):
    """The server side of one IRC connection; its protocol feeds it framed lines."""

    codec: IrcCodec | LabellingCodec
    # The IRC session's own attributes in slots: with the core's, they would be more than
    # an attribute dict can share with the other connections' (about 1.3 KiB each:
    # docs/performance.md, "Memory per idle client").
    __slots__ = (
        "_batches",
        "_clock",
        "_farewell",
        "_handling",
        "_idle_watch",
        "_label",
        "_last_heard",
        "_pinged_at",
        "_quits",
        "door",
        "entrance_label",
        "identity",
        "login",
        "registration",
    )

    def __init__(self, hall: Hall, link: ILink, door: IrcDoor, peer: str, host: str | None) -> None:
        super().__init__(hall, link, codec_for(door.server, frozenset()), peer, host)
        #: The command being handled, which a refusal names (None: a line that did not parse);
        #: its name only, interned: an idle client keeps no parsed line (docs/performance.md).
        self._handling: str | None = None
        #: When the server pinged the silent client, until it says anything.
        self._pinged_at: float | None = None
        self._idle_watch: Watch | None = None
        #: What WHO and WHOIS show of this client, once registered.
        self.identity: MemberIdentity | None = None
        #: The label of the command being handled, until its answer is written.
        self._label: str | None = None
        #: The label of a JOIN whose answer is the room's entrance.
        self.entrance_label: str | None = None
        self.door = door
        self.registration = Registration(door.replies)
        #: SASL, and the account it proved, before registration.
        self.login = IrcLogin()
        self._clock = hall.reactor
        self._last_heard = self._clock.seconds()
        #: The ERROR lines a BYE close ends with (QUIT's own text).
        self._farewell: list[Message] = []
        self._quits = QuitFilter()
        self._batches = 0

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
            if isinstance(parsed, Message) and parsed.command == "AUTHENTICATE":
                authenticate(self, parsed)
            elif isinstance(parsed, Message):
                self._take(self.registration.receive(parsed))
            else:
                self.reply(parsed)
            return
        if isinstance(parsed, Message):
            self._handling = sys.intern(parsed.command)
            # QUIT is BYE: never refused (docs/protocol.md section 7).
            if parsed.command == "QUIT" or self.allow():
                self._command(parsed)
            else:
                self.rate_limited()
        else:
            self._handling = None
            if self.allow():
                self.reply(parsed)
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

    def reply(self, messages: Sequence[Message], label: str | None = None) -> None:
        """Write replies after everything the client is owed: the answer to the command
        being handled, labelled when it carried a label (or with C{label}, the label an
        answer that came later carries; L{take_label})."""
        if label is None:
            label = self.take_label()
        if label is not None:
            server, capabilities = self.door.server, self.registration.capabilities
            messages = labelled(
                messages, label, server.name, self.next_batch_reference(), capabilities
            )
        if not messages:
            return
        if self.state is ConnectionState.JOINED:
            self.hall.catch_up(self)
        self.send(wire(messages))

    def take_label(self) -> str | None:
        """The label of the command being handled, which its answer must carry: the
        caller answers it (with L{reply}), later perhaps; None when it had none."""
        label, self._label = self._label, None
        return label

    # -- registration --------------------------------------------------------

    def _take(self, step: Step) -> None:
        self._adopt_capabilities()
        if step.close:
            self._farewell = step.replies
            self.close()
            return
        self.reply(step.replies)
        if step.join_as is not None:
            self._ask_room(step.join_as)

    def _ask_room(self, nickname: str) -> None:
        """Ask the room for the nickname, with the account the client proved (L{sign_in});
        a store that answers later holds the input."""
        answer = sign_in(self, nickname)
        hold_reading_until(self, answer.addCallbacks(self._join_answered, self._join_refused))

    def _join_answered(self, refusal: Message | None) -> None:
        if refusal is None:
            registration = self.registration
            registration.room_accepted()
            self.identity = MemberIdentity.from_user(
                self.nickname, registration.username, registration.realname
            )
            self._watch_idle(self.door.ping_interval)
        elif self.state is ConnectionState.CHOOSING:
            self.reply(self.registration.nickname_refused(refusal).replies)

    def _join_refused(self, failure: Failure) -> None:
        """A server-wide ban matches the client (section 14): 465, then the close. A
        failure of anything else is logged, and the client, told the nickname cannot be
        judged now, chooses again (as the packet doors answer `unavailable`)."""
        moderation, replies = self.door.moderation, self.door.replies
        me = self.registration.nickname or NO_NICKNAME
        if not isinstance(failure.value, PacketRejected):
            _log.failure("joining failed", failure, event_kind="error")
            detail = "The nickname cannot be judged now"
            self._join_answered(
                replies.core_error(me, ErrorCode.UNAVAILABLE, detail, command="NICK")
            )
            return
        self._farewell = [
            moderation.banned_from_server(me, failure.value.detail),
            replies.closing_link("Banned"),
        ]
        self.close()

    def _adopt_capabilities(self) -> None:
        """Encode with the codec of the client's capabilities (shared with its like)."""
        shared = codec_for(self.door.server, self.registration.capabilities, self.door.directory)
        labels = self.codec
        if isinstance(labels, LabellingCodec):  # copies awaited: labelled as they come
            labels.shared = shared
            if shared.echoes_sender:
                return
            for room in list(self.rooms):  # no copy will come now
                for label in labels.forget(room):
                    self.reply([], label)
        self.codec = shared

    def entrance(
        self, replay: Iterator[bytes], welcome: bytes, tail: Sequence[bytes]
    ) -> Iterator[bytes]:
        """001-005 and the MOTD, then (unless --no-irc-autojoin) the default room's JOIN
        with topic and names and its replay, then any shutdown notice: the room has
        joined the client (section 10)."""
        yield self.door.welcome.render(self.nickname)
        if self.door.server.autojoin:
            yield from self._room_entrance(replay, welcome)
        for record in tail:
            yield self.codec.encode(record)

    def enter_room(self, replay: Deferred[Iterator[bytes]], welcome: bytes) -> None:
        """The client joined another room: its JOIN, topic and names, then its replay
        (labelled as the answer to a labelled JOIN, L{entrance_label})."""
        label, self.entrance_label = self.entrance_label, None
        self._stream_in_order(replay, lambda records: self._room_entrance(records, welcome, label))

    def _room_entrance(
        self, replay: Iterator[bytes], welcome: bytes, label: str | None = None
    ) -> Iterator[bytes]:
        """A room's JOIN, topic (332 and 333, or nothing) and names, then its replay; in
        a labelled-response batch, with C{label}."""
        channel, shown, topic = self._arrival(welcome)
        joined = self._joined(channel, topic)
        if label is not None:  # the replay is bounded (--history-replay): one answer
            messages = [
                *joined,
                *self.door.replies.names(self.nickname, channel, shown),
                *self._replayed(replay, channel),
            ]
            yield wire(
                labelled(
                    messages,
                    label,
                    self.door.server.name,
                    self.next_batch_reference(),
                    self.registration.capabilities,
                )
            )
            return
        yield wire(joined)
        yield self.door.replies.names_wire(self.nickname, channel, shown)
        for message in self._replayed(replay, channel):
            yield serialise(message)

    def _arrival(self, welcome: bytes) -> tuple[str, list[str], RoomTopic]:
        """The channel the C{welcome} of a room is about, its members as shown (with
        their prefixes) and its topic."""
        packet: dict[str, Any] = json.loads(welcome)
        channel = channel_of(packet, self.door.server.channel)
        room = existing_room(self, channel)
        users: list[str] = packet["users"]
        if packet.get("truncated") and room is not None:  # too big to list in the welcome
            users = self.hall.users_of(room)
        topic = topic_of(room) if room is not None else RoomTopic(packet.get("topic", ""))
        self._quits.seen(users)
        shown = shown_members(self.hall.moderation, room, users) if room is not None else users
        return channel, shown, topic

    def _joined(self, channel: str, topic: RoomTopic) -> list[Message]:
        """The client's own JOIN of C{channel} (extended-join's, if enabled), then the
        topic (332 and 333, or nothing)."""
        own_join, *shown = self.door.replies.arrival(self.nickname, channel, topic)
        if EXTENDED_JOIN in self.registration.capabilities:
            own_join = extended_join(own_join, self.account, self.registration.realname)
        return [own_join, *shown]

    def _replayed(self, replay: Iterator[bytes], channel: str) -> Iterator[Message]:
        """The replay of C{channel}'s room, as messages."""
        records = (json.loads(record) for record in replay)
        capabilities = self.registration.capabilities
        yield from replay_lines(records, self.door.server.name, channel, capabilities)

    def next_batch_reference(self) -> str:
        """A batch reference this client has not seen yet (the replay's is C{history})."""
        self._batches += 1
        return f"b{self._batches}"

    def send(self, data: bytes) -> None:
        """Write bytes, with one QUIT per quitter however many rooms it shared with
        the client (L{QuitFilter})."""
        quits = self._quits
        # A client in one room is told of each departure once: only one in several rooms
        # (or one that was, and remembers quitters) needs the filter, whose look at every
        # line of every write costs the room N^2 when N clients leave at once.
        if len(self.rooms) > 1 or quits.remembers:
            data = quits.filter(data)
        super().send(data)

    # -- commands of a registered client ---------------------------------------

    def _command(self, message: Message) -> None:
        handler = _HANDLERS.get(message.command)
        if message.command == "MODE" and message.params and looks_like_channel(message.params[0]):
            handler = channel_mode
        commands = self.door.commands
        self._label = label_of(message, self.registration.capabilities)
        try:
            if handler is not None:
                handler(self, message)
            elif commands.handles(message.command):
                self.reply(commands.answer(self.nickname, message, self.hall.timestamp()))
            else:
                raise PacketRejected(ErrorCode.UNKNOWN_COMMAND, f"{message.command} is unknown")
        except PacketRejected as rejected:
            self.reject(rejected.code, rejected.detail)
        if self._label is not None and self.state is ConnectionState.JOINED:
            self.reply([])  # nothing answered it (yet): ACK

    def reject(self, code: ErrorCode, detail: str, **extra: Any) -> None:
        """Answer a refused command with its numeric, or a server NOTICE naming the code
        (nothing for a NOTICE: it never causes an automatic reply)."""
        handling = self._handling
        if self.state is not ConnectionState.JOINED or handling == NOTICE:
            return
        retry_after = extra.get("retry_after")
        if retry_after is not None:
            detail = f"{detail} (retry after {retry_after} s)"
        command = handling if handling is not None else "*"
        replies = self.door.replies
        self.reply([replies.core_error(self.nickname, code, detail, command=command)])

    def _chat(self, message: Message) -> None:
        """PRIVMSG or NOTICE: to the channel, public; to a nickname of any door, private.

        Labelled, with echo-message, it is answered by the client's copies (echoes.py):
        those of private messages at once, that of a message to one channel when the
        room delivers it (L{_publish_labelled}); a message to a channel among other
        targets reaches the client through the room unlabelled."""
        if for_nickserv(message):
            nickserv(self, message)
            return
        hall, replies = self.hall, self.door.replies
        me = self.nickname
        says, errors = read_chat(replies, me, message)
        limit = hall.config.max_message_bytes
        echoing = self._label is not None and self.codec.echoes_sender
        copies: list[Message] = []
        for say in says:
            try:
                text = check_message(say.text, limit)
                if say.room is not None and echoing and len(says) == 1:
                    self._publish_labelled(text, say.room)
                elif say.room is not None:
                    hall.publish(self, text, say.room)
                else:
                    assert say.to is not None
                    copy = hall.send_private(self, say.to, text, echo=not echoing)
                    if copy is not None:
                        copies += self.codec.messages(json.loads(copy))
            except PacketRejected as rejected:
                if say.command != NOTICE:
                    errors.append(self._chat_refused(say.command, say.target, rejected))
        self.reply([*copies, *errors])

    def _publish_labelled(self, text: str, room_name: str) -> None:
        """Publish a labelled message to a room, answered by its copy, labelled, once the
        room delivers it (echoes.py); by ACK after the `unavailable` error if the store
        refuses it, or at once if too many copies are awaited already.

        @raise PacketRejected: as L{Hall.publish} (the label then answers the refusal).
        """
        room = existing_room(self, room_name)
        label = self._label
        assert label is not None
        codec = self.codec
        labels = (
            codec
            if isinstance(codec, LabellingCodec)
            else LabellingCodec(codec, self.nickname, self._labelled_wire, self._settled)
        )
        awaited = labels.expect(room.key, label) if room is not None else None
        if awaited is None:
            self.hall.publish(self, text, room_name)
            return
        self.codec = labels
        self._label = None  # the copy answers it
        try:
            published = self.hall.publish(self, text, room_name)
        except PacketRejected:
            labels.stored(awaited, None)
            self._label = label
            raise

        def answered(message_id: int | None) -> None:
            unanswered = labels.stored(awaited, message_id)
            if unanswered is not None:
                self.reply([], unanswered)

        published.addCallback(answered)

    def _labelled_wire(self, messages: Sequence[Message], label: str) -> bytes:
        """C{messages}, the answer to a command labelled C{label}, as bytes."""
        server, capabilities = self.door.server, self.registration.capabilities
        return wire(
            labelled(messages, label, server.name, self.next_batch_reference(), capabilities)
        )

    def _settled(self) -> None:
        """No copy of a labelled message is awaited any more: encode as the others do."""
        if isinstance(self.codec, LabellingCodec):
            self.codec = self.codec.shared

    def parted(self, room: Room) -> None:
        """The client left C{room}: the copies it awaited there will not come (ACK)."""
        if isinstance(self.codec, LabellingCodec):
            for label in self.codec.forget(room.key):
                self.reply([], label)

    def _chat_refused(self, command: str, target: str, rejected: PacketRejected) -> Message:
        """The numeric for a PRIVMSG the hall refused: 403 for a room that does not exist
        (or a bad name), 404 for one the client is not in or may not speak in (muted, or
        not voiced in a moderated room), else the core's error."""
        replies, me = self.door.replies, self.nickname
        code = rejected.code
        if code is ErrorCode.BAD_ROOM:
            return replies.no_such_channel(me, target, rejected.detail)
        if code is ErrorCode.NOT_IN_ROOM:
            if existing_room(self, target) is None:
                return replies.no_such_channel(me, target)
            return replies.cannot_send(me, target, rejected.detail)
        if code is ErrorCode.MUTED:
            retry_after = rejected.extra.get("retry_after")
            later = f" (retry after {retry_after} s)" if retry_after is not None else ""
            return replies.cannot_send(me, target, rejected.detail + later)
        return replies.core_error(me, code, rejected.detail, command=command, target=target)

    def _cap(self, message: Message) -> None:
        step = self.registration.cap(message)
        self._adopt_capabilities()
        self.reply(step.replies)

    def _quit(self, message: Message) -> None:
        """QUIT [:text]: leave every room; the text is relayed with the `leave`."""
        self._farewell = self.registration.quit(message.params).replies
        self.leave_text = message.params[0] if message.params else ""
        self.leave()

    def _who(self, message: Message) -> None:
        """352 per member the mask matches (a room, C{*}, a nickname or a glob), 315."""
        mask = message.params[0] if message.params and message.params[0] else "*"
        who = self.door.replies.who
        if looks_like_channel(mask):  # a room of this node, or perhaps of others only

            def listed(found: list[tuple[str, RoomFacts | None]]) -> list[Message]:
                facts = found[0][1]
                members = nicknames_of(facts) if facts is not None else []
                identities = [self._identity_of(name) for name in members]
                room = existing_room(self, mask)
                prefixes = prefixes_in(self.hall.moderation, room) if room is not None else {}
                return who(self.nickname, mask, identities, of_channel=True, prefixes=prefixes)

            about_rooms(self, "WHO", [mask], listed)
            return
        if mask in _EVERYONE:
            members = self._members()
        else:
            key = nickname_key(mask)
            members = [name for name in self._members() if mask_matches(key, nickname_key(name))]
        identities = [self._identity_of(name) for name in members]
        self.reply(who(self.nickname, mask, identities, of_channel=False))

    def _whois(self, message: Message) -> None:
        """311 and 318 for a member of any door; 401 and 318 for nobody."""
        replies = self.door.replies
        if not message.params or not message.params[-1]:
            self.reply([replies.numeric(ERR_NONICKNAMEGIVEN, self.nickname)])
            return
        target = message.params[-1]  # WHOIS [server] nick
        if targets_of("WHOIS", target) is None:
            self.reply([replies.too_many_targets(self.nickname, "WHOIS", target)])
            return
        key = nickname_key(target)
        found = next((name for name in self._members() if nickname_key(name) == key), None)
        identity = self._identity_of(found) if found is not None else None
        answer = replies.whois(self.nickname, target, identity)
        account = self.door.directory.account_of(found) if found is not None else None
        if found is not None and account is not None:
            answer.insert(-1, whois_account(self, found, account))
        self.reply(answer)

    def _members(self) -> list[str]:
        """Every member's display nickname, of every door and room, in join order."""
        return [json.loads(name) for name in self.hall.everyone()]

    def _identity_of(self, nickname: str) -> MemberIdentity:
        """What WHO and WHOIS show of C{nickname} (L{MemberDirectory.identity_of})."""
        return self.door.directory.identity_of(nickname)

    # -- idle ping ---------------------------------------------------------------

    def _watch_idle(self, delay: float) -> None:
        self._idle_watch = self.door.idle.watch(delay, self._idle_check)

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
        if watch is not None:
            self.door.idle.cancel(watch)
        self._idle_watch = None
        super().lost()


#: The commands of a registered client that the session answers itself (the door's
#: L{LocalCommands} answer those that need nothing from the room).
_HANDLERS: Final[dict[str, Callable[[IrcSession, Message], None]]] = {
    **CHANNEL_COMMANDS,
    **ACCOUNT_COMMANDS,
    "AUTHENTICATE": authenticate,
    **MODERATION_COMMANDS,
    "CAP": IrcSession._cap,
    "CHATHISTORY": chathistory,
    "NOTICE": IrcSession._chat,
    "PRIVMSG": IrcSession._chat,
    "QUIT": IrcSession._quit,
    "WHO": IrcSession._who,
    "WHOIS": IrcSession._whois,
}
