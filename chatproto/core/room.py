"""The room: membership, messages, notices and shutdown, for members of every door.

The room never sees a wire. Members are L{IMember}s; what it stores and fans
out are canonical records, which each member's codec turns into its door's
bytes. Storage, fan-out between nodes and nickname presence sit behind the
seams (L{IHistoryStore}, L{IBroadcastHub}, L{IPresence}).

The join guarantee (no gap, no duplicate between replay and live traffic)
holds for a store that answers later: the joiner is subscribed first, its live
traffic held behind its replay; the replay is cut at the newest id queued
live before it subscribed, so what the store returns beyond that (which the
live stream carries) is dropped by id.
"""

from __future__ import annotations

import hmac
import json
import math
import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.core.admission import Admission, Place
from chatproto.core.config import RoomConfig
from chatproto.core.connection import ConnectionState
from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.fanout import TurnBatcher
from chatproto.core.member import CloseReason, IMember, LeaveReason
from chatproto.core.nicknames import MAX_NICKNAME_CODE_POINTS, could_be_nickname, nickname_key
from chatproto.core.notices import error_notice, notice, users_notice
from chatproto.core.records import chat_fields, dump_json, json_string
from chatproto.core.timestamps import rfc3339_millis
from chatproto.seams.history import HistoryUnavailable, IHistoryStore, Stored
from chatproto.seams.hub import IBroadcastHub, LocalHub, RoomEvent
from chatproto.seams.presence import IPresence, LocalPresence

if TYPE_CHECKING:
    from chatproto.core.connection import Connection

#: Random bytes in a resume token (docs/protocol.md section 5: at least 128 bits).
RESUME_TOKEN_BYTES = 16


class Room:
    """The one room that every door's members share."""

    log = Logger()

    def __init__(
        self,
        config: RoomConfig,
        history: IHistoryStore,
        reactor: IReactorTime,
        hub: IBroadcastHub | None = None,
        presence: IPresence | None = None,
    ) -> None:
        self.config = config
        self.reactor = reactor
        self._history = history
        #: This node's joined members by nickname key, in join order.
        self._members: dict[str, IMember] = {}
        self._admission = Admission(config)
        self._presence = presence if presence is not None else LocalPresence()
        self._presence.watch(self._place_taken)
        self.batcher = TurnBatcher(reactor, history, self._members.items, self._message_lost)
        self._hub = hub if hub is not None else LocalHub()
        self._hub.subscribe(self._received)
        self._shutdown_at: float | None = None
        # Set by close_all: the connections it closes get no leave notices.
        self._closing = False
        # Set while the store refuses messages, so that an outage is logged once.
        self._store_failing = False

    # -- connections -----------------------------------------------------

    def admit(self, connection: Place) -> bool:
        """Count a new connection of any door; refuse it past the limits."""
        if self._admission.admit(connection, connection.host):
            return True
        self._log_error(ErrorCode.SERVER_FULL, connection.peer)
        return False

    def server_full_notice(self, connection: Connection) -> bytes:
        """The `server-full` error for a refused connection, in its codec."""
        record = error_notice(self.timestamp(), ErrorCode.SERVER_FULL, "The server is full")
        return connection.codec.encode(record)

    def release(self, connection: Place) -> None:
        """Forget a closed connection."""
        self._admission.release(connection)

    def connection_count(self) -> int:
        """Open connections of every door, choosing ones included."""
        return len(self._admission)

    # -- membership ------------------------------------------------------

    def is_free(self, nickname: str) -> bool:
        """Whether nobody holds a nickname that collides with C{nickname}."""
        return not self._presence.is_held(nickname_key(nickname))

    def join(
        self, member: Connection, nickname: str, since: int | None, token: str | None = None
    ) -> Deferred[bool]:
        """Make C{member} joined as C{nickname} (valid, docs/protocol.md section 3) if
        the nickname is free, or held by the connection whose resume token is C{token},
        on this node or another (that one is closed without a leave notice and this
        one takes its place, with no join notice). Fires with whether it joined."""
        key = nickname_key(nickname)
        resume_token = secrets.token_urlsafe(RESUME_TOKEN_BYTES)
        current = self._members.get(key)
        if current is not None:
            if token is None or not _same_token(current.resume_token, token):
                return succeed(False)
            del self._members[key]
            current.evict()
            self._presence.renew(key, resume_token)
            self._resumed(member, key, current.nickname, since, resume_token)
            return succeed(True)

        def claimed(free: bool) -> bool:
            if not free:
                return False
            if member.state is not ConnectionState.CHOOSING:  # it left while we asked
                self._presence.release(key)
                return False
            self._accept(member, key, nickname, since, resume_token, announce=True)
            return True

        def taken_over(held_as: bytes | None) -> Deferred[bool] | bool:
            if held_as is None:  # not that token's place: the nickname may be free
                return self._presence.claim(key, json_string(nickname), resume_token).addCallback(
                    claimed
                )
            nickname_held = json.loads(held_as)
            if member.state is not ConnectionState.CHOOSING:  # it left while we asked
                self._presence.release(key)
                self._announce_leave(nickname_held, LeaveReason.DISCONNECTED)
                return False
            self._resumed(member, key, nickname_held, since, resume_token)
            return True

        if token is not None:  # perhaps the place of a member of another node
            return self._presence.take_over(key, token, resume_token).addCallback(taken_over)
        return self._presence.claim(key, json_string(nickname), resume_token).addCallback(claimed)

    def _resumed(
        self, member: Connection, key: str, nickname: str, since: int | None, resume_token: str
    ) -> None:
        """C{member} takes back the place of C{nickname}, which the others saw no change of:
        it keeps the spelling they know, and nobody is told it joined."""
        self.log.info("{nickname} resumed", nickname=nickname, event_kind="resume")
        self._accept(member, key, nickname, since, resume_token, announce=False)

    def _place_taken(self, key: str) -> None:
        """The member holding C{key} here lost its place to a connection of another node
        (it resumed there) or to this node's isolation: close it without a leave notice."""
        member = self._members.pop(key, None)
        if member is not None:
            self.log.info(
                "{nickname} closed: its place is taken elsewhere",
                nickname=member.nickname,
                event_kind="evict",
            )
            member.evict()

    def refusal_notice(self, connection: Connection) -> bytes | None:
        """Why a nickname was just refused when it may well be free: the `unavailable`
        error (the shared nickname registry cannot be reached), in C{connection}'s codec;
        None when a refusal means the nickname is taken."""
        if self._presence.reachable:
            return None
        self._log_error(ErrorCode.UNAVAILABLE, connection.peer)
        record = error_notice(
            self.timestamp(),
            ErrorCode.UNAVAILABLE,
            "Nicknames cannot be checked now: the server cannot reach its shared store",
        )
        return connection.codec.encode(record)

    def _accept(
        self,
        member: Connection,
        key: str,
        nickname: str,
        since: int | None,
        resume_token: str,
        announce: bool,
    ) -> None:
        member.key = key
        member.nickname = nickname
        member.encoded_nickname = json_string(nickname)
        member.resume_token = resume_token
        member.joined()
        # Before it becomes a member: with fsync=always this flushes, and a
        # choosing client may hear nothing before READY.
        self.batcher.joined(member)
        self._members[key] = member
        last_id = self.batcher.replay_limit()
        now = self.timestamp()
        first_id = self._history.first_id if self._history.first_id <= last_id else 0
        listed = self._presence.listed()
        welcome = users_notice(
            now,
            "welcome",
            f"Welcome, {nickname}! {len(listed)} online.",
            listed,
            last_id=last_id,
            first_id=first_id,
            resume_token=member.resume_token,
        )
        tail = [self._shutdown_notice()] if self._shutdown_at is not None else []
        member.enter(self._replay(since, last_id), welcome, tail)
        if announce:
            record = notice(now, "join", f"{nickname} joined", user=nickname)
            self._hub.publish(RoomEvent(record, skip_key=key))
        self.log.info(
            "{nickname} joined{address}",
            nickname=nickname,
            address=self._address_of(member),
            event_kind="join",
        )

    def _replay(self, since: int | None, last_id: int) -> Deferred[Iterator[bytes]]:
        """The stored records a joiner is owed, up to C{last_id} (later ones come live)."""
        if since is None:
            count = self.config.history_replay
            found = self._history.recent(count) if count else succeed([])
        else:
            found = self._history.since(since)

        def cut(records: list[Stored]) -> Iterator[bytes]:
            return (record for message_id, record in records if message_id <= last_id)

        return found.addCallback(cut)

    def leave(self, member: IMember, reason: LeaveReason) -> Deferred[None]:
        """Free C{member}'s nickname at once and tell the others why it left; fires once
        the nickname is free on every node (at once with one node)."""
        key = member.key
        if key is None or self._members.get(key) is not member:
            return succeed(None)
        del self._members[key]
        released = self._presence.release(key)
        nickname = member.nickname
        if not self._closing:
            self._announce_leave(nickname, reason)
        self.log.info(
            "{nickname} left ({reason}){address}",
            nickname=nickname,
            reason=reason,
            address=self._address_of(member),
            event_kind="leave",
        )
        return released

    def _announce_leave(self, nickname: str, reason: LeaveReason) -> None:
        record = notice(self.timestamp(), "leave", f"{nickname} left", user=nickname, reason=reason)
        self._hub.publish(RoomEvent(record))

    def _address_of(self, member: IMember) -> str:
        """' from <peer>' when --log-addresses is on, else nothing (docs/security.md)."""
        return f" from {member.peer}" if self.config.log_addresses else ""

    def who(self, member: IMember) -> None:
        """Answer a `who` command."""
        users = self._presence.listed()
        self.unicast(member, users_notice(self.timestamp(), "who", f"{len(users)} online", users))

    def local_member(self, nickname: str) -> IMember | None:
        """This node's member holding C{nickname} (compared as section 3 says), if any."""
        return self._members.get(nickname_key(nickname)) if could_be_nickname(nickname) else None

    def nicknames(self) -> list[bytes]:
        """Every member's nickname as a JSON string, in join order."""
        return list(self._presence.listed())

    # -- messages --------------------------------------------------------

    def publish(self, sender: IMember, text: str) -> None:
        """Store a public message, then queue it for every member of every door.

        When the store cannot take it the sender gets `unavailable` and nobody
        sees the message.
        """
        fields = chat_fields(self.timestamp(), sender.encoded_nickname, text)
        sender_key = sender.key

        def stored(result: Stored) -> None:
            self._store_failing = False
            if not self._hub.delivers_stored:
                message_id, record = result
                self._hub.publish(RoomEvent(record, None, message_id, sender_key))

        def refused(failure: Failure) -> Failure | None:
            if not failure.check(HistoryUnavailable):  # type: ignore[no-untyped-call]
                return failure
            if not self._store_failing:  # once per outage, not once per message
                self._store_failing = True
                self.log.error("history unavailable: {why}", why=str(failure.value))
            if sender.key is not None and self._members.get(sender.key) is sender:
                self.send_error(sender, ErrorCode.UNAVAILABLE, "The message could not be stored")
            return None

        self._history.add(fields).addCallbacks(stored, refused)

    def _message_lost(self, sender_key: str) -> None:
        """A message stored but never made durable (fsync=always): tell its sender."""
        sender = self._members.get(sender_key)
        if sender is not None:
            self.send_error(sender, ErrorCode.UNAVAILABLE, "The message could not be stored")

    def send_private(self, sender: IMember, to: str, text: str) -> None:
        """Send a private message to C{to} (a member of this node or, through the hub,
        of another) and a copy to the sender (when its codec echoes senders: an IRC
        client without echo-message shows its own line itself).

        @raise PacketRejected: C{no-such-user} when nobody holds that name.
        """
        key = nickname_key(to) if could_be_nickname(to) else None
        recipient = self._members.get(key) if key is not None else None
        elsewhere = self._presence.nickname_of(key) if key is not None and not recipient else None
        if recipient is None and elsewhere is None:
            # Echo a bounded prefix: the whole name could not fit in a reply.
            shown = to if could_be_nickname(to) else to[:MAX_NICKNAME_CODE_POINTS] + "..."
            raise PacketRejected(ErrorCode.NO_SUCH_USER, f"Nobody is called {shown}")
        record = dump_json(
            {
                "timestamp": self.timestamp(),
                "nickname": sender.nickname,
                "message": text,
                "to": recipient.nickname if recipient is not None else elsewhere,
            }
        )
        if recipient is None:
            self._hub.publish(RoomEvent(record, to_key=key))
        else:
            self.unicast(recipient, record)
        if recipient is not sender and sender.codec.echoes_sender:
            self.unicast(sender, record)

    def _received(self, event: RoomEvent) -> None:
        """An event from the hub: room-wide, or a private message for one member here."""
        if event.to_key is None:
            self.batcher.queue(event)
            return
        recipient = self._members.get(event.to_key)
        if recipient is not None:
            self.unicast(recipient, event.record)

    def send_error(self, member: IMember, code: ErrorCode, detail: str, **extra: Any) -> None:
        """Tell C{member} its frame was refused, and log it (never the frame's content)."""
        self._log_error(code, member.display_name())
        self.unicast(member, error_notice(self.timestamp(), code, detail, **extra))

    def _log_error(self, code: ErrorCode, who: str) -> None:
        self.log.info("error {code} for {who}", code=str(code), who=who, event_kind="error")

    def unicast(self, member: IMember, record: bytes) -> None:
        """Send C{record} to one member after its share of what is queued before it.

        With fsync=always, a reply may overtake a message still waiting for its fsync.
        """
        self.batcher.catch_up(member)
        member.send(member.codec.encode(record))

    def when_caught_up(self, member: IMember, then: Callable[[], None]) -> None:
        """Call C{then} once C{member} has been sent everything queued before now."""
        if self.batcher.catch_up(member):
            then()
        else:  # fsync=always: what it is owed waits for an fsync round
            self.batcher.when_delivered().addCallback(lambda _: then())

    def timestamp(self) -> str:
        """The server's clock now, as every packet carries it."""
        return rfc3339_millis(self.reactor.seconds())

    # -- shutdown --------------------------------------------------------

    def announce_shutdown(self, grace: float) -> None:
        """Tell every joined member the server closes in C{grace} seconds."""
        self._shutdown_at = self.reactor.seconds() + grace
        # This node's own news: straight to its members, not through the hub to other nodes.
        self.batcher.queue(RoomEvent(self._shutdown_notice()))
        self.log.info("shutting down in {grace} seconds", grace=grace)

    def _shutdown_notice(self) -> bytes:
        assert self._shutdown_at is not None
        left = max(0, math.ceil(self._shutdown_at - self.reactor.seconds()))
        return notice(self.timestamp(), "shutdown", f"Server closing in {left} seconds", grace=left)

    def close_all(self) -> Deferred[None]:
        """Close every connection, choosing ones included, without `leave` notices, after
        what each is owed; the result fires once every one of them is gone (the last bytes
        its door writes on closing sent, or the connection dropped)."""
        self._closing = True
        self.batcher.flush()
        connections = self._admission.connections()
        for connection in connections:
            connection.close(CloseReason.SHUTDOWN)
        gone = gatherResults([connection.when_gone() for connection in connections])
        return gone.addCallback(lambda _: None)

    def drop_all(self) -> int:
        """Drop every connection still open, unsent output lost; how many there were."""
        connections = self._admission.connections()
        for connection in connections:
            connection.evict()
        return len(connections)


def _same_token(held: str | None, offered: str) -> bool:
    """Compare resume tokens in constant time (a token is a secret)."""
    return held is not None and hmac.compare_digest(held.encode(), offered.encode())
