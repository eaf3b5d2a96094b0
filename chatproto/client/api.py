"""The chat client as a library: subclass L{ChatClient}, override the events you need.

    class Pong(ChatClient):
        def message_received(self, message: ChatMessage) -> None:
            if message.text == "!ping" and not message.history:
                self.send("pong")

    welcome = await Pong("pongbot").connect("tcp:host=localhost:port=10328")

One L{ChatClient} lives across any number of connections: it chooses the
nickname, keeps the last message id seen and the server's resume token, and
after a drop reconnects with backoff and resumes (docs/protocol.md sections
2.7 and 6.3), so that its events show every message once, in id order. What
it sends goes one frame at a time and is paced by the server's
C{retry_after}, never lost to the rate limit. The terminal and pipe front
ends of C{chatproto-client} are subclasses of it (L{chatproto.client.session}).

Events are methods named for what happened (like C{twisted.words}'
C{IRCClient}); requests return Deferreds that fire with the server's answer
or fail with L{ChatError}. docs/client-api.md is the guide.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum, auto
from typing import Any, Final

from twisted.application.internet import ClientService
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IDelayedCall, IReactorTime, IStreamClientEndpoint
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from chatproto.client.connect import (
    described_connection,
    reconnecting_service,
    word_packet_factory,
)
from chatproto.client.errors import ChatError, ClientStopped, MessageTooLong, NicknameRefused
from chatproto.client.incoming import (
    ChatMessage,
    History,
    Incoming,
    Notice,
    RoomInfo,
    Users,
    Welcome,
    int_field,
    number_field,
    string_field,
)
from chatproto.client.moderation import MODERATION_EVENTS, Moderation, Receipt
from chatproto.client.moderation_notices import (
    Announcement,
    Ban,
    ModerationChange,
    Redaction,
    Removal,
)
from chatproto.client.outbox import Outbox, Outgoing
from chatproto.client.protocol import Link
from chatproto.client.rooms import MAX_HELD, MAX_HISTORY_LIMIT, RoomState, room_key
from chatproto.core.nicknames import InvalidNickname, nickname_key, validate_nickname
from chatproto.core.words import BYE, NICK, READY, RETRY
from chatproto.doors.tcp.framing import CONTROL_FRAMES, FrameTooLong, encode_packet, frame_text

__all__ = [
    "BYE_GRACE",
    "Announcement",
    "Ban",
    "ChatClient",
    "ChatError",
    "ChatMessage",
    "ClientStopped",
    "History",
    "MessageTooLong",
    "ModerationChange",
    "NicknameRefused",
    "Notice",
    "Redaction",
    "Removal",
    "RoomInfo",
    "Users",
    "Welcome",
]

#: Seconds to wait for the server to close the connection after our BYE.
BYE_GRACE: Final = 3.0
#: Seconds to wait before resending a rate-limited frame when the server gave no C{retry_after}.
DEFAULT_RETRY_AFTER: Final = 1.0
#: Seconds (by default) for a chat server to greet a new connection with HELLO and NICK.
DEFAULT_TIMEOUT: Final = 10.0
#: A longer C{resume_token} is not kept: it could not fit in a frame beside the nickname,
#: and a real one is a few dozen characters (docs/protocol.md section 5).
MAX_RESUME_TOKEN: Final = 1024


def _describe(reason: Failure) -> str:
    """Why a connection ended, in a few words."""
    if reason.check(ConnectionDone):  # type: ignore[no-untyped-call]
        return "closed by the server"
    return reason.getErrorMessage().rstrip(".")


class _Phase(Enum):
    """Where the client is on the current connection."""

    OFFLINE = auto()
    GREETED = auto()
    CHOOSING = auto()
    JOINED = auto()


@dataclass
class _Leaving:
    done: Deferred[None]
    timeout: IDelayedCall


class _Waiters:
    """Deferreds waiting for one outcome; each caller gets its own."""

    def __init__(self) -> None:
        self._waiting: list[Deferred[Any]] = []

    def add(self) -> Deferred[Any]:
        """A new Deferred that fires with the next outcome."""
        waiting: Deferred[Any] = Deferred()
        self._waiting.append(waiting)
        return waiting

    def fire(self, result: object) -> None:
        """Fire every waiting Deferred with C{result}."""
        waiting, self._waiting = self._waiting, []
        for each in waiting:
            each.callback(result)

    def fail(self, error: Exception) -> None:
        """Fail every waiting Deferred with C{error}."""
        waiting, self._waiting = self._waiting, []
        for each in waiting:
            each.errback(error)


class ChatClient(Moderation):
    """A chat client across connections; subclass it and override the events.

    Every event method does nothing unless overridden. Requests (L{send},
    L{send_private}, L{who}, L{join}, L{part}, L{history}, L{rooms},
    L{set_topic}, and the moderation commands of L{Moderation}) may be made at any
    time: they are queued and sent one at a
    time once the client is on the server, again after a reconnect if the
    server had not answered, and each Deferred fires with the server's answer
    or fails with L{ChatError} (or L{ClientStopped} if the client ends first).

    A room is named by its name; C{None} is the default room (docs/protocol.md
    section 12), in the requests and in the events. After a reconnect every
    room joined is rejoined and resumed after the newest id delivered in it.
    """

    #: Whether L{choose_password} can give a password (set it in a subclass that overrides
    #: it): the nickname then goes in the JSON form, whose refusal says why (a bare
    #: nickname is refused with RETRY alone, docs/protocol.md section 2.3).
    ASKS_PASSWORD = False
    #: How the timeout and the reconnect switch are called in what the client says
    #: (the program names its command-line options instead).
    TIMEOUT_OPTION = "timeout"
    NO_RECONNECT_OPTION = "reconnect=False"

    def __init__(
        self,
        nickname: str | None = None,
        *,
        reconnect: bool = True,
        resume: bool = True,
        since: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: IReactorTime | None = None,
        password: str | None = None,
        account: str | None = None,
    ) -> None:
        """
        @param nickname: the nickname to join with (checked here with the server's rules,
            docs/protocol.md section 3); C{None} asks L{choose_nickname}.
        @param password: the password of the account to log in to (docs/protocol.md
            section 13), sent with the nickname; C{None}: ask L{choose_password} when
            the server says the nickname is registered.
        @param account: the account to log in to when it is not the nickname's own.
        @param reconnect: reconnect with backoff after a drop (else the client stops).
        @param resume: rejoin after a reconnect asking for the messages missed
            (C{since} and the resume token); else rejoin as a newcomer.
        @param since: the newest message id already seen (say, stored by a bot before
            a restart): the first join asks for the messages after it, and no
            event shows an id at or below it.
        @param timeout: seconds for a chat server to greet a connection (HELLO, NICK).
        @param clock: the reactor (default: the global one).
        @raise InvalidNickname: if C{nickname} breaks the server's rules.
        """
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        assert clock is not None
        self._clock = clock
        #: The nickname (display form) we hold or will offer; C{None} until chosen.
        self.nickname = None if nickname is None else validate_nickname(nickname)
        #: The password sent with the nickname, and the account it is for (None: the
        #: nickname's own); kept in memory only, to log in again after a reconnect.
        self._password = password
        self._account = None if account is None else validate_nickname(account)
        #: The account the server says we are logged in to (C{None}: none).
        self.account: str | None = None
        #: The error the server sent while we were choosing, said with the RETRY after it.
        self._choosing_error: ChatError | None = None
        #: The rooms joined or being joined, by key; C{None} is the default room.
        self._rooms: dict[str | None, RoomState] = {None: RoomState(None, since)}
        #: The default room's key once a request naming it was answered as the default
        #: room's (the server never names it).
        self._default_key: str | None = None
        #: Who the server is, in what the client says ("cannot connect to ...").
        self.server = "the server"
        self._reconnect = reconnect
        self._resume = resume
        self._timeout = timeout
        self._outbox = Outbox(clock)
        self._service: ClientService | None = None
        self._link: Link | None = None
        self._phase = _Phase.OFFLINE
        #: Whether a chat server ever asked us for a nickname: until then a lost
        #: connection (refused TLS, not a chat server) stops the client.
        self._greeted = False
        #: Fires when no chat server greeted us in time.
        self._greeting: IDelayedCall | None = None
        #: Why we closed the connection ourselves, to say instead of "closed by the server".
        self._closing_because: str | None = None
        #: The welcome of the current connection (C{None} until it came).
        self._welcome: Welcome | None = None
        #: An error the server sent before greeting us (C{server-full}), to say why
        #: the connection ended.
        self._refusal: ChatError | None = None
        self._resume_token: str | None = None
        self._asking = False
        self._server_closing = False
        self._leaving: _Leaving | None = None
        self._stopped = False
        self._stop_reason: ClientStopped | None = None
        self._joined = _Waiters()
        self._ended = _Waiters()
        #: Whether the reconnecting service is still being stopped.
        self._service_stopping = False
        self._service_stopped = _Waiters()

    # Starting and ending.

    def connect(self, endpoint: str | IStreamClientEndpoint) -> Deferred[Welcome]:
        """Connect (and reconnect as needed) to a chat server; fire once joined.

        @param endpoint: a client endpoint, its description (C{tcp:host=H:port=P},
            C{ssl:...}, C{unix:PATH}), or the URL of a server's WebSocket door
            (C{ws://HOST:PORT/chat}, C{wss://...}).
        @return: the first L{Welcome}; it fails with L{ClientStopped} if the client
            ends before joining (nothing listens, not a chat server, nickname refused).
        @raise ValueError: if C{endpoint} is not a client endpoint description.
        @raise RuntimeError: if this client was connected before (use a new one).
        """
        if self._service is not None or self._stopped:
            raise RuntimeError("a ChatClient connects once; make a new one")
        if isinstance(endpoint, str):
            self.server = endpoint
            endpoint, factory = described_connection(self._clock, endpoint, self, self._timeout)
        else:
            factory = word_packet_factory(self)
        joined = self.when_joined()
        self._service = reconnecting_service(self._clock, endpoint, factory, self.retrying)
        self.connecting()
        self._service.startService()
        self._service.whenConnected(failAfterFailures=1).addErrback(self._unreachable)
        return joined

    def leave(self) -> Deferred[None]:
        """Say BYE, stop reconnecting; fire once the server closed the connection (or
        after L{BYE_GRACE}). Requests not answered yet fail with L{ClientStopped}."""
        link = self._link
        if link is not None and self._leaving is None:
            self._leaving = _Leaving(Deferred(), self._clock.callLater(BYE_GRACE, link.close))
            link.send(CONTROL_FRAMES[BYE])
        left = succeed(None) if self._leaving is None else self._follow(self._leaving.done)
        left.addCallback(lambda _: self._stop(None))
        return left.addCallback(lambda _: self._service_gone())

    def when_joined(self) -> Deferred[Welcome]:
        """Fire with the welcome of the next join or rejoin (at once if in the room now)."""
        if self._welcome is not None:
            return succeed(self._welcome)
        if self._stopped:
            return fail(ClientStopped("the client has stopped"))
        joined: Deferred[Welcome] = self._joined.add()
        return joined

    def when_stopped(self) -> Deferred[None]:
        """Fire once the client ended for good: with C{None} after L{leave}, or with
        L{ClientStopped} saying why it gave up."""
        if self._stopped:
            return succeed(None) if self._stop_reason is None else fail(self._stop_reason)
        ended: Deferred[None] = self._ended.add()
        return ended

    def when_sent(self) -> Deferred[None]:
        """Fire once everything queued so far was sent and answered."""
        return self._outbox.when_empty()

    @property
    def in_room(self) -> bool:
        """Whether the client is on the server now (between the default room's welcome
        and a drop)."""
        return self._phase is _Phase.JOINED

    @property
    def last_id(self) -> int | None:
        """The newest message id delivered in the default room (or its C{since})."""
        return self._rooms[None].last_id

    def last_id_in(self, room: str | None) -> int | None:
        """The newest message id delivered in C{room} (C{None}: the default room), or
        C{None} when none was (or the client is not in it)."""
        state = self._rooms.get(self._key(room))
        return None if state is None else state.last_id

    @property
    def rooms_joined(self) -> list[str | None]:
        """The rooms the client is in or joining, by name (C{None}: the default room),
        in the order joined."""
        return [state.name for state in self._rooms.values() if state.member]

    # Requests.

    def send(self, text: str, room: str | None = None) -> Deferred[ChatMessage]:
        """Send a public message to C{room} (C{None}: the default room); fire with the
        server's copy (its receipt, with the id).

        @raise ValueError: for the text C{BYE} without a room, which the server reads
            as leaving (docs/protocol.md section 2.5): call L{leave}. (In a named room
            it is a message like any other.)
        @raise MessageTooLong: if it cannot fit in a frame.
        """
        if text == BYE and room is None:
            raise ValueError("the message BYE means leaving (docs/protocol.md section 2.5)")
        packet = {"message": text} | _in(room)
        return self._request(packet, text, room=self._key(room))

    def send_private(self, to: str, text: str) -> Deferred[ChatMessage]:
        """Send C{text} to C{to} only; fire with the server's copy (or fail with
        L{ChatError} C{no-such-user}).

        @raise MessageTooLong: if it cannot fit in a frame.
        """
        return self._request({"message": text, "to": to}, None)

    def who(self, room: str | None = None) -> Deferred[Users]:
        """Ask who is in C{room} (C{None}: the default room)."""
        return self._request({"command": "who"} | _in(room), None, expects="who")

    def join(self, room: str, since: int | None = None) -> Deferred[Welcome]:
        """Join C{room} (creating it if it does not exist); fire with its L{Welcome}, the
        replay having come just before (L{message_received}, C{history} true).

        @param since: the newest id of the room already seen (stored by a bot before a
            restart): the join asks for every message after it, and no event shows an
            id at or below it. Ignored when the client knows a newer one.
        Fails with L{ChatError} C{bad-room} or C{too-many-rooms}. After a reconnect
        the client rejoins by itself, resuming after the newest id it delivered.
        """
        key = self._key(room)
        state = self._rooms.get(key)
        if state is None or not state.member:
            state = self._rooms[key] = RoomState(room if key is not None else None, since)
        elif state.last_id is None:
            state.last_id = since
        return self._request(self._join_packet(state, room), None, expects="welcome", room=key)

    def part(self, room: str | None) -> Deferred[None]:
        """Leave C{room} (C{None}: the default room; the connection stays); fire once the
        server confirmed, or fail with L{ChatError} C{not-in-room}."""
        return self._request({"command": "part"} | _in(room), None, "leave", self._key(room))

    def history(
        self,
        room: str | None,
        before: int | None = None,
        since: int | None = None,
        limit: int = 50,
    ) -> Deferred[History]:
        """Ask for stored messages of C{room} (C{None}: the default room): the newest
        C{limit} below C{before}, or the oldest C{limit} above C{since}, or the newest
        C{limit}. Fire with them oldest first (L{History}, a list that also carries the
        room's oldest retained id); they are not shown to L{message_received}.

        @raise ValueError: for both C{before} and C{since}, or C{limit} outside 1-100.
        """
        if before is not None and since is not None:
            raise ValueError("history takes before or since, not both")
        if not 1 <= limit <= MAX_HISTORY_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_HISTORY_LIMIT}")
        packet: dict[str, Any] = {"command": "history", "limit": limit} | _in(room)
        if before is not None:
            packet["before"] = before
        if since is not None:
            packet["since"] = since
        return self._request(packet, None, expects="history", room=self._key(room))

    def rooms(self) -> Deferred[list[RoomInfo]]:
        """Ask for the rooms that exist (the default room included), sorted by key."""
        return self._request({"command": "rooms"}, None, expects="rooms")

    def set_topic(self, room: str | None, topic: str) -> Deferred[None]:
        """Set C{room}'s topic (an empty one clears it); fire once the server confirmed.
        Fails with L{ChatError} C{too-long}, C{control-chars} or C{not-in-room}."""
        packet = {"command": "topic", "topic": topic} | _in(room)
        return self._request(packet, None, expects="topic", room=self._key(room))

    def register(self, password: str) -> Deferred[None]:
        """Register the nickname held with C{password} (docs/protocol.md section 13); fire
        once the server said `registered` (the client is then logged in to it, and logs
        in again after a reconnect). Fails with L{ChatError} C{weak-password} (8 to 256
        bytes), C{nickname-registered} or C{rate-limited}."""
        answer = self._request({"command": "register", "password": password}, None, "registered")
        return answer.addCallback(self._logged_in_as, password)

    def change_password(self, old: str, new: str) -> Deferred[None]:
        """Change the account's password from C{old} to C{new}; fails with L{ChatError}
        C{auth-failed} or C{weak-password}."""
        packet = {"command": "password", "old": old, "new": new}
        answer = self._request(packet, None, "password-changed")
        return answer.addCallback(self._logged_in_as, new)

    def unregister(self, password: str) -> Deferred[None]:
        """Drop the account (the connection stays, its nickname now anyone's); fails with
        L{ChatError} C{auth-failed}."""
        answer = self._request(
            {"command": "unregister", "password": password}, None, "unregistered"
        )
        return answer.addCallback(lambda _: self._logged_in_as(None, None))

    def _logged_in_as(self, account: str | None, password: str | None) -> None:
        """An account command succeeded: C{account} and C{password} log in from now on."""
        self.account, self._password = account, password
        self._account = None if account is None or self._is_own(account) else account

    def topic(self, room: str | None) -> str:
        """C{room}'s topic as last heard (empty when none, or not in the room)."""
        state = self._rooms.get(self._key(room))
        return "" if state is None else state.topic

    # Events: override these.

    def joined(self, welcome: Welcome) -> None:
        """The client is in a room for the first time (C{welcome.room}; C{None} for the
        default room, which comes first); the replay came before."""

    def rejoined(self, welcome: Welcome) -> None:
        """The client is back in a room after a reconnect (having resumed: the
        messages missed meanwhile came before, as replayed messages)."""

    def message_received(self, message: ChatMessage) -> None:
        """A public message in C{message.room} (C{None}: the default room): live, or
        replayed (C{message.history}); C{message.own} when this client sent it. In each
        room each id comes once, in increasing order."""

    def private_message_received(self, message: ChatMessage) -> None:
        """A private message to this client, or this client's own copy of one it sent
        (C{message.own}, C{message.to} the recipient)."""

    def user_joined(self, nickname: str, room: str | None) -> None:
        """Someone else joined C{room} (C{None}: the default room)."""

    def user_left(self, nickname: str, reason: str, room: str | None) -> None:
        """Someone left C{room}: C{reason} is C{part}, C{bye}, C{disconnected}, C{slow},
        C{flood}, C{kicked} or C{banned} (after L{user_removed}). This client's own part,
        kick or ban comes too (C{nickname} is its own)."""

    def topic_changed(self, room: str | None, topic: str, user: str) -> None:
        """C{user} set C{room}'s topic to C{topic} (empty: cleared)."""

    def shutdown_announced(self, grace: int) -> None:
        """The server closes in C{grace} seconds; the client reconnects afterwards
        (if reconnecting)."""

    def disconnected(self, reason: str, reconnecting: bool) -> None:
        """The connection is gone (C{reason}: a sentence saying why); the client
        reconnects if C{reconnecting}, else it stops."""

    def reconnecting(self, attempt: int, delay: float) -> None:
        """Connection attempt number C{attempt} is C{delay} seconds away."""

    def reconnected(self) -> None:
        """A new connection is open after a drop; the rejoin follows (L{rejoined})."""

    def messages_missed(self, first: int, last: int, room: str | None) -> None:
        """Messages C{first} to C{last} of C{room} were too old for the server to replay
        after a reconnect (docs/protocol.md section 6.3): they are lost to this client."""

    def error_received(self, error: ChatError) -> None:
        """An C{error} notice that answers nothing this client is waiting for."""

    def notice_received(self, notice: Notice) -> None:
        """Every notice as it came (C{welcome}, C{join}, C{leave}, C{who}, C{error},
        C{shutdown}, and events this client does not know), before the event above."""

    def unreadable_received(self, text: str) -> None:
        """The server sent a frame that is not a packet this client can read."""

    def choose_password(self, nickname: str, problem: str) -> Deferred[str]:
        """Give the password of C{nickname}'s account: the server says it is registered
        (or C{problem} says why the last password was refused).

        The default gives up on the nickname and asks L{choose_nickname} for another.
        A subclass that overrides it sets L{ASKS_PASSWORD}.
        """
        return fail(NicknameRefused(problem))

    def choose_nickname(self, problem: str | None) -> Deferred[str]:
        """Give a nickname: none was given, or C{problem} says why the last was refused.

        The default gives up: the client stops with L{NicknameRefused}.
        """
        return fail(NicknameRefused(problem or "no nickname was given"))

    def stopped(self, reason: ClientStopped | None) -> None:
        """The client ended for good: C{None} after L{leave}, else why it gave up."""

    # Connection plumbing: called by the connection and the reconnecting service.

    def connecting(self) -> None:
        """The first connection attempt starts: a chat server must greet us in time."""
        self._await_greeting()

    def retrying(self, attempt: int, delay: float) -> None:
        """Connection attempt number C{attempt} is C{delay} seconds away."""
        if self._greeted and not self._stopped and self._leaving is None:
            self.reconnecting(attempt, delay)

    def link_made(self, link: Link) -> None:
        """A connection was made; wait (at most the timeout) for the server's C{NICK}."""
        if self._stopped:
            link.close()  # Made just before the reconnecting service stopped.
            return
        self._link = link
        self._phase = _Phase.GREETED
        self._await_greeting()
        if self._greeted:
            self.reconnected()

    def control_word(self, word: str) -> None:
        """Follow the handshake: NICK asks for a nickname, RETRY refuses it, READY accepts it."""
        if word == NICK and self._phase is _Phase.GREETED:
            self._phase = _Phase.CHOOSING
            self._greeted = True
            self._greeting_done()
            self._offer_nickname(None)
        elif word == RETRY and self._phase is _Phase.CHOOSING:
            why, self._choosing_error = self._choosing_error, None
            self._resume_token = None  # It did not win the nickname back; it is spent.
            if why is not None and why.code in _NEEDS_PASSWORD and self.nickname is not None:
                self._ask_password(self.nickname, str(why))
                return
            refused, self.nickname = self.nickname, None
            problem = f"The nickname {refused} is taken." if why is None else str(why)
            self._offer_nickname(problem)
        elif word == READY and self._phase is _Phase.CHOOSING:
            self._phase = _Phase.JOINED

    def packet_received(self, item: Incoming) -> None:
        """Dispatch a packet to the events, keeping track of ids and answers."""
        if isinstance(item, ChatMessage):
            self._chat(item)
        elif isinstance(item, Notice):
            self._notice(item)
        else:
            self.unreadable_received(item.text)

    def link_lost(self, link: Link, reason: Failure) -> None:
        """The connection dropped: finish leaving, give up, or wait for the reconnect."""
        if link is not self._link:
            return
        self._link = None
        self._welcome = None
        for state in self._rooms.values():
            state.welcome = None
            state.held = None  # Asked for again by the rejoin.
        self._phase = _Phase.OFFLINE
        self._outbox.close()
        self._greeting_done()
        if self._leaving is not None:
            if self._leaving.timeout.active():
                self._leaving.timeout.cancel()
            self._leaving.done.callback(None)
            return
        if self._stopped:
            return  # It gave up and closed the connection itself: nothing more to say.
        why, self._closing_because = self._closing_because or _describe(reason), None
        if self._refusal is not None:
            why, self._refusal = str(self._refusal), None
        if not self._greeted:
            self._stop(
                ClientStopped(f"the connection to {self.server} ended before we joined ({why})")
            )
            return
        what = "The server shut down" if self._server_closing else f"Connection lost ({why})"
        self._server_closing = False
        self.disconnected(what, self._reconnect)
        if not self._reconnect:
            self._stop(ClientStopped(f"{what}; not reconnecting ({self.NO_RECONNECT_OPTION})"))

    # Inside.

    def _request(
        self,
        packet: dict[str, Any],
        text: str | None,
        expects: str = "message",
        room: str | None = None,
        receipt: Receipt | None = None,
    ) -> Deferred[Any]:
        if self._stopped:
            return fail(ClientStopped("the client has stopped"))
        answer: Deferred[Any] = Deferred()
        self._outbox.put(_outgoing(packet, text, answer, expects, room, receipt=receipt))
        return answer

    def room_key(self, room: str | None) -> str | None:
        """The key telling rooms apart (two names of one room have the same key):
        C{None} for the default room, by any name the client knows it by."""
        return self._key(room)

    def _key(self, room: str | None) -> str | None:
        """The key of C{room} in L{_rooms}: C{None} for the default room, by any name."""
        if room is None:
            return None
        key = room_key(room)
        return None if key == self._default_key else key

    def _join_packet(self, state: RoomState, room: str | None) -> dict[str, Any]:
        """The join of C{room}, asking for what came after the newest id seen."""
        state.since_sent = state.last_id
        since = {} if state.last_id is None else {"since": state.last_id}
        return {"command": "join", "room": room} | since

    def _follow(self, source: Deferred[None]) -> Deferred[None]:
        """A Deferred that fires when C{source} does, leaving C{source}'s result alone."""
        follower: Deferred[None] = Deferred()

        def fired(result: object) -> object:
            follower.callback(None)
            return result

        source.addBoth(fired)
        return follower

    def _stop(self, reason: ClientStopped | None) -> None:
        """End for good: stop reconnecting, fail what waits, say why (once)."""
        self._greeting_done()
        if self._stopped:
            return
        self._stopped = True
        self._stop_reason = reason
        if self._link is not None and self._leaving is None:
            # Given up while connected: no connection is left open. BYE is for a chat
            # server (no nickname to offer); anything else is just closed.
            if self._greeted:
                self._link.send(CONTROL_FRAMES[BYE])
            self._link.close()
        ended = reason or ClientStopped("the client left")
        for item in self._outbox.drain():
            if item.answer is not None:
                item.answer.errback(ended)
        self._joined.fail(ended)
        if reason is None:
            self._ended.fire(None)
        else:
            self._ended.fail(reason)
        self._stop_service()
        self.stopped(reason)

    def _stop_service(self) -> None:
        service, self._service = self._service, None
        if service is None:
            return
        self._service_stopping = True

        def stopped(_: object) -> None:
            self._service_stopping = False
            self._service_stopped.fire(None)

        # Not from inside connectionLost or whenConnected: ClientService forbids a
        # re-entrant stopService.
        deferLater(self._clock, 0, service.stopService).addBoth(stopped)

    def _service_gone(self) -> Deferred[None]:
        """Fire once the reconnecting service has stopped (at once if there is none)."""
        if not self._service_stopping:
            return succeed(None)
        gone: Deferred[None] = self._service_stopped.add()
        return gone

    def _unreachable(self, failure: Failure) -> None:
        if not self._greeted:
            self._stop(
                ClientStopped(f"cannot connect to {self.server}: {failure.getErrorMessage()}")
            )

    def _await_greeting(self) -> None:
        if self._greeting is None and not self._stopped:
            self._greeting = self._clock.callLater(self._timeout, self._not_greeted)

    def _greeting_done(self) -> None:
        if self._greeting is not None:
            if self._greeting.active():
                self._greeting.cancel()
            self._greeting = None

    def _not_greeted(self) -> None:
        """No C{NICK} within the timeout: give up at first, or try a new connection later."""
        self._greeting = None
        link = self._link
        if link is None:
            waited = f"no connection within {self._timeout:g} s ({self.TIMEOUT_OPTION})"
            self._stop(ClientStopped(f"cannot connect to {self.server}: {waited}"))
            return
        waited = f"no HELLO/NICK within {self._timeout:g} s ({self.TIMEOUT_OPTION})"
        if not self._greeted:
            sent = repr(link.first_bytes) if link.first_bytes else "nothing"
            self._stop(ClientStopped(f"no chat server at {self.server}: {waited}; it sent {sent}"))
        # Closed, not left with BYE: whatever listens there does not speak our protocol.
        self._closing_because = waited
        link.close()

    def _offer_nickname(self, problem: str | None) -> None:
        if self.nickname is not None:
            self._send_nickname(self.nickname)
        elif not self._asking:
            self._asking = True
            self.choose_nickname(problem).addCallbacks(self._chosen, self._not_chosen)

    def _ask_password(self, nickname: str, problem: str) -> None:
        if self._asking:
            return
        self._asking = True

        def given(password: str) -> None:
            self._asking = False
            self._password = password
            if self._phase is _Phase.CHOOSING:
                self._send_nickname(nickname)

        def refused(failure: Failure) -> None:
            self._asking = False
            self._password = None
            self.nickname = None
            self._offer_nickname(failure.getErrorMessage())

        self.choose_password(nickname, problem).addCallbacks(given, refused)

    def _chosen(self, raw: str) -> None:
        self._asking = False
        try:
            self.nickname = validate_nickname(raw.strip())
        except InvalidNickname as e:
            self._offer_nickname(f"That nickname is not allowed: {e}.")
            return
        if self._phase is _Phase.CHOOSING:
            self._send_nickname(self.nickname)

    def _not_chosen(self, failure: Failure) -> None:
        self._asking = False
        self._stop(NicknameRefused(failure.getErrorMessage()))

    def _send_nickname(self, nickname: str) -> None:
        if self._link is None:
            return
        default = self._rooms[None]
        since = default.last_id if self._resume or not default.welcomed_before else None
        default.since_sent = since
        if since is None and self._password is None and not self.ASKS_PASSWORD:
            self._link.send(frame_text(nickname))
            return
        choice: dict[str, Any] = {"nickname": nickname}
        if since is not None:
            choice["since"] = since
            if self._resume_token is not None and self._resume:
                choice["token"] = self._resume_token
        if self._password is not None:
            choice["password"] = self._password
            if self._account is not None:
                choice["account"] = self._account
        self._link.send(encode_packet(choice))

    def _is_own(self, nickname: str) -> bool:
        return self.nickname is not None and nickname_key(nickname) == nickname_key(self.nickname)

    def _answers(self, asked: Outgoing, room: str | None) -> bool:
        """Whether a packet about C{room} can answer C{asked}: the same room, or no room
        (the server never names the default room, whatever name the request gave it)."""
        return self._key(room) == asked.room or (room is None and asked.room is not None)

    def _learn_default(self, asked: Outgoing, room: str | None) -> None:
        """A request naming a room was answered about the default room: that name is
        the default room's from now on."""
        if room is None and asked.room is not None:
            self._default_key = asked.room
            self._rooms.pop(asked.room, None)

    def _chat(self, message: ChatMessage) -> None:
        if message.to is not None:
            self._deliver(message, None)  # Private: no room, no id.
            return
        asked = self._outbox.in_flight
        if (
            message.history
            and asked is not None
            and asked.expects == "history"
            and self._answers(asked, message.room)
        ):
            if len(asked.collected) < MAX_HISTORY_LIMIT:
                asked.collected.append(message)
            return
        state = self._rooms.get(self._key(message.room))
        if state is None or not state.member:
            return  # Not a room this client is in (any more).
        if message.id is not None and state.seen(message.id):
            return  # Seen before the reconnect.
        if state.held is not None and not message.history:
            self._hold(state, message)
            return
        self._deliver(message, state)

    def _deliver(self, message: ChatMessage, state: RoomState | None) -> None:
        """Show C{message} to the events; answer the request it is the receipt of."""
        if state is not None and message.id is not None:
            state.last_id = message.id
        answered = None
        if self._is_own(message.nickname):
            message = replace(message, own=True)
            asked = self._outbox.in_flight
            if message.history:
                answered = self._outbox.replayed(message.text, self._key(message.room))
            elif asked is not None and asked.expects == "message":
                answered = self._outbox.answered()
        if message.to is None:
            self.message_received(message)
        else:
            self.private_message_received(message)
        if answered is not None:
            if answered.answer is not None:
                answered.answer.callback(message)
            self._outbox.send_next()

    def _hold(self, state: RoomState, message: ChatMessage) -> None:
        """Keep a live message until the room has caught up (at most L{MAX_HELD})."""
        assert state.held is not None
        state.held.append(message)
        if len(state.held) > MAX_HELD:
            self._caught_up(state)

    def _notice(self, notice: Notice) -> None:
        code = string_field(notice.packet, "code")
        retry_after = number_field(notice.packet, "retry_after")
        asked = self._outbox.in_flight
        # A registration refused for the hour is refused: only the frame rate is waited out.
        registering = asked is not None and asked.expects == "registered"
        if notice.event == "error" and code == "rate-limited" and not registering:
            delay = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
            if self._outbox.retry_later(delay):
                return  # Handled: the frame goes again, nothing is lost, nothing to tell.
        expected = None if asked is None else asked.expects
        if not (asked is not None and asked.quiet and notice.event == expected):
            self.notice_received(notice)
        user = string_field(notice.packet, "user") or "?"
        if notice.event == "welcome":
            self._welcome_heard(notice, asked)
        elif notice.event == "who":
            self._operators_listed(notice)
            if expected == "who":
                self._answer(Users.of(notice))
        elif notice.event == "rooms" and expected == "rooms":
            self._answer(RoomInfo.listed(notice))
        elif notice.event == "history" and asked is not None and expected == "history":
            if self._answers(asked, notice.room):
                self._learn_default(asked, notice.room)
                first_id = int_field(notice.packet, "first_id") or 0
                self._answer(History(asked.collected, first_id))
        elif notice.event in _ACCOUNT_ANSWERS and expected == notice.event:
            self._answer(string_field(notice.packet, "account"))
        elif notice.event == "error":
            self._error_heard(ChatError(code or "error", notice.message, retry_after), asked)
        elif notice.event == "join":
            self.user_joined(user, notice.room)
        elif notice.event == "leave":
            receipt = self._removal_heard(notice, asked)
            self._leave_heard(notice, user, asked)
            if receipt:
                self._answer(None)
        elif notice.event in MODERATION_EVENTS:
            self._moderation_heard(notice, asked)
        elif notice.event == "topic":
            self._topic_heard(notice, user, asked)
        elif notice.event == "shutdown":
            self._server_closing = True
            self.shutdown_announced(int_field(notice.packet, "grace") or 0)

    def _error_heard(self, error: ChatError, asked: Outgoing | None) -> None:
        if asked is not None and asked.expects == "welcome":
            state = self._rooms.get(asked.room)
            if asked.room is not None and state is not None and state.welcome is None:
                del self._rooms[asked.room]  # Never joined: nothing to rejoin.
        if self._phase is _Phase.CHOOSING:
            self._choosing_error = error  # Why the RETRY that follows refuses the nickname.
            return
        if not self._answer(error):
            if self._phase is _Phase.GREETED:
                self._refusal = error
            self.error_received(error)

    def _leave_heard(self, notice: Notice, user: str, asked: Outgoing | None) -> None:
        reason = string_field(notice.packet, "reason") or "bye"
        if not self._is_own(user):
            self.user_left(user, reason, notice.room)
            return
        parting = asked is not None and asked.expects == "leave"
        if parting and asked is not None and self._answers(asked, notice.room):
            self._learn_default(asked, notice.room)
        else:
            parting = False
        key = self._key(notice.room)
        if key is None:
            self._rooms[None].member = False
            self._rooms[None].welcome = None
        else:
            self._rooms.pop(key, None)
        self.user_left(user, reason, notice.room)
        if parting:
            self._answer(None)

    def _topic_heard(self, notice: Notice, user: str, asked: Outgoing | None) -> None:
        topic = string_field(notice.packet, "topic") or ""
        state = self._rooms.get(self._key(notice.room))
        if state is not None:
            state.topic = topic
        self.topic_changed(notice.room, topic, user)
        if (
            asked is not None
            and asked.expects == "topic"
            and self._is_own(user)
            and self._answers(asked, notice.room)
        ):
            self._learn_default(asked, notice.room)
            self._answer(None)

    def _answer(self, result: object) -> bool:
        """Fire the request in flight with C{result} (a L{ChatError} fails it), then send
        the next; whether there was one."""
        answered = self._outbox.answered()
        if answered is None:
            return False
        if answered.answer is not None:
            if isinstance(result, ChatError):
                answered.answer.errback(result)
            else:
                answered.answer.callback(result)
        elif isinstance(result, ChatError):
            self.error_received(result)  # The client's own request (a rejoin): say it.
        self._outbox.send_next()
        return True

    def _welcome_heard(self, notice: Notice, asked: Outgoing | None) -> None:
        welcome = Welcome.of(notice)
        if asked is not None and asked.expects == "welcome" and self._answers(asked, notice.room):
            self._learn_default(asked, notice.room)
            state = self._rooms.setdefault(self._key(notice.room), RoomState(notice.room))
            state.member = True
            self._room_welcomed(state, welcome)
            self._answer(welcome)
        elif notice.room is None:
            self._welcomed(welcome)
        else:
            kept = self._rooms.get(self._key(notice.room))
            if kept is not None and kept.member and kept.welcome is None:
                # A takeover kept the room (section 12); it catches up after the rejoin.
                kept.welcome, kept.topic, kept.held = welcome, welcome.topic, []
                self._operators_listed(welcome.notice)

    def _room_welcomed(self, state: RoomState, welcome: Welcome) -> None:
        """A join was answered: the replay came before, unless this connection was in
        the room already (then nothing changes)."""
        since, state.since_sent = state.since_sent, None
        if state.welcome is not None:
            return
        if welcome.room is not None:
            state.name = welcome.room
        self._missed_before(state, since, welcome)
        state.last_id = max(state.last_id or 0, welcome.last_id)
        state.welcome, state.topic = welcome, welcome.topic
        self._operators_listed(welcome.notice)
        self._room_ready(state, welcome)

    def _missed_before(self, state: RoomState, since: int | None, welcome: Welcome) -> None:
        """Report what a join with C{since} could not replay (older than the oldest kept)."""
        if since is not None and welcome.first_id and since < welcome.first_id - 1:
            self.messages_missed(since + 1, welcome.first_id - 1, state.name)

    def _room_ready(self, state: RoomState, welcome: Welcome) -> None:
        again, state.welcomed_before = state.welcomed_before, True
        if again:
            self.rejoined(welcome)
        else:
            self.joined(welcome)

    def _welcomed(self, welcome: Welcome) -> None:
        """The welcome of a connection: the default room (the server puts every client
        in it at READY); then the other rooms are rejoined."""
        default = self._rooms[None]
        since, default.since_sent = default.since_sent, None
        self._missed_before(default, since, welcome)
        if int_field(welcome.notice.packet, "last_id") is not None:
            default.last_id = max(default.last_id or 0, welcome.last_id)
        token = string_field(welcome.notice.packet, "resume_token")
        self._resume_token = token if token is None or len(token) <= MAX_RESUME_TOKEN else None
        self.account = welcome.account
        default.welcome, default.topic = welcome, welcome.topic
        self._operators_listed(welcome.notice)
        self._welcome = welcome
        if self._link is not None:
            self._outbox.open(self._link.send, self._rejoin_barrier(default))
        self._room_ready(default, welcome)
        self._joined.fire(welcome)

    def _rejoin_barrier(self, default: RoomState) -> list[Outgoing]:
        """After a reconnect with other rooms to rejoin: a C{who} first, whose answer
        comes after the welcomes of the rooms a takeover kept (section 12)."""
        others = [
            state
            for key, state in self._rooms.items()
            if key is not None and state.member and state.welcomed_before
        ]
        part_default = default.welcomed_before and not default.member
        if not others and not part_default:
            return []
        barrier: Deferred[Users] = Deferred()
        barrier.addCallbacks(
            lambda _: self._rejoin(others, part_default),
            lambda failure: failure.trap(ChatError, ClientStopped),
        )
        return [_outgoing({"command": "who"}, None, barrier, "who", None, quiet=True)]

    def _rejoin(self, others: list[RoomState], part_default: bool) -> None:
        """Rejoin each room with C{since}, or catch it up when a takeover kept it; part
        the default room again if it was parted."""
        items = []
        for state in others:
            if not state.member:
                continue
            if state.held is not None:
                items.append(self._catch_up_page(state))
            else:
                packet = self._join_packet(state, state.name)
                items.append(_outgoing(packet, None, None, "welcome", self._key(state.name)))
        if part_default:
            items.append(_outgoing({"command": "part"}, None, None, "leave", None))
        self._outbox.put_first(items)

    def _catch_up_page(self, state: RoomState) -> Outgoing:
        """A C{history since} for the messages of C{state}'s room after the newest seen."""
        held = state.held
        page: Deferred[History] = Deferred()
        page.addCallbacks(
            lambda records: self._caught_page(state, held, records),
            lambda failure: self._catch_up_failed(state, held, failure),
        )
        packet = {"command": "history", "since": state.last_id or 0, "limit": MAX_HISTORY_LIMIT}
        key = self._key(state.name)
        return _outgoing(packet | _in(state.name), None, page, "history", key, quiet=True)

    def _caught_page(
        self, state: RoomState, held: list[ChatMessage] | None, records: History
    ) -> None:
        if state.held is not held:
            return  # Given up, or a new connection catches up afresh.
        for record in records:
            if record.id is not None and not state.seen(record.id):
                self._deliver(record, state)
        if len(records) == MAX_HISTORY_LIMIT:
            self._outbox.put_next(self._catch_up_page(state))
        else:
            self._caught_up(state)

    def _catch_up_failed(
        self, state: RoomState, held: list[ChatMessage] | None, failure: Failure
    ) -> None:
        failure.trap(ChatError, ClientStopped)  # type: ignore[no-untyped-call]
        if failure.check(ChatError) and state.held is held:  # type: ignore[no-untyped-call]
            self._caught_up(state)

    def _caught_up(self, state: RoomState) -> None:
        """Deliver the live messages held back (reporting a gap before them, if the
        catch-up did not close it), then say the room is back."""
        held, state.held = state.held or [], None
        first = next((message.id for message in held if message.id is not None), None)
        newest = state.last_id or 0
        if first is not None and newest < first - 1:
            self.messages_missed(newest + 1, first - 1, state.name)
        for message in held:
            if message.id is None or not state.seen(message.id):
                self._deliver(message, state)
        if state.welcome is not None:
            self._room_ready(state, state.welcome)


#: Errors before RETRY that ask for a password (docs/protocol.md section 13).
_NEEDS_PASSWORD: Final = frozenset({"account-required", "auth-failed"})
#: The notices that answer the account commands.
_ACCOUNT_ANSWERS: Final = frozenset({"registered", "password-changed", "unregistered"})


def _in(room: str | None) -> dict[str, Any]:
    """The C{room} field naming C{room} (none for the default room)."""
    return {} if room is None else {"room": room}


def _outgoing(
    packet: dict[str, Any],
    text: str | None,
    answer: Deferred[Any] | None,
    expects: str,
    room: str | None,
    *,
    quiet: bool = False,
    receipt: Receipt | None = None,
) -> Outgoing:
    """A request's frame, expecting the event C{expects} about the room keyed C{room};
    the answer of a C{quiet} one (the client's own) is not shown to L{notice_received}.

    @raise MessageTooLong: if it cannot fit in a frame.
    """
    try:
        frame = encode_packet(packet)
    except FrameTooLong:
        raise MessageTooLong("the message is too long for a frame") from None
    return Outgoing(frame, text, answer, expects, room, quiet=quiet, receipt=receipt)
