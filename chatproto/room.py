"""The room: nickname registry, broadcast and history, shared by every connection."""

from __future__ import annotations

import functools
import ipaddress
import itertools
import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import ServerFactory
from twisted.logger import Logger

from chatproto.config import RoomConfig
from chatproto.delivery import TurnBatcher
from chatproto.errors import ErrorCode, PacketRejected
from chatproto.history import HistoryUnavailable, IHistoryStore
from chatproto.hub import IBroadcastHub, LocalHub
from chatproto.nicknames import MAX_NICKNAME_CODE_POINTS, could_be_nickname, nickname_key
from chatproto.notices import error_notice, notice, users_notice
from chatproto.protocol import ChatProtocol, LeaveReason
from chatproto.timestamps import rfc3339_millis
from chatproto.wire import CONTROL_FRAMES, READY, encode_packet, frame, json_string

_REPLAY_MARK = b',"history":true}'
_READY_FRAME = CONTROL_FRAMES[READY]


class ChatRoom(ServerFactory[ChatProtocol]):
    """The factory of L{ChatProtocol}s and the one room they all share."""

    protocol = ChatProtocol
    log = Logger()

    def __init__(
        self,
        config: RoomConfig,
        history: IHistoryStore,
        reactor: IReactorTime,
        hub: IBroadcastHub | None = None,
    ) -> None:
        self.config = config
        self.reactor = reactor
        self._history = history
        #: Joined members by nickname key, in join order.
        self._members: dict[str, ChatProtocol] = {}
        # Their nicknames as JSON strings, in the same order, for users lists: kept
        # rather than derived, a Python loop over 10,000 members at every join.
        self._listed_names: list[bytes] = []
        self._connections: set[ChatProtocol] = set()
        self._per_host: Counter[str] = Counter()
        self.batcher = TurnBatcher(reactor, history, self._members.items)
        self._hub = hub if hub is not None else LocalHub()
        self._hub.subscribe(self.batcher.queue)
        self._shutdown_at: float | None = None
        # Set by close_all: the connections it closes get no leave notices.
        self._closing = False

    # -- connections -----------------------------------------------------

    def admit(self, connection: ChatProtocol, peer: IAddress) -> bool:
        """Count a new connection; refuse it (C{server-full}) past the limits."""
        host = _limited_host(peer)
        limits = self.config
        if (limits.max_clients and len(self._connections) >= limits.max_clients) or (
            host is not None and limits.max_per_ip and self._per_host[host] >= limits.max_per_ip
        ):
            self._log_error(ErrorCode.SERVER_FULL, str(peer))
            connection.send(
                error_notice(self.timestamp(), ErrorCode.SERVER_FULL, "The server is full")
            )
            return False
        self._connections.add(connection)
        if host is not None:
            self._per_host[host] += 1
        connection.limited_host = host
        return True

    def release(self, connection: ChatProtocol) -> None:
        """Forget a closed connection."""
        if connection in self._connections:
            self._connections.discard(connection)
            host = connection.limited_host
            if host is not None:
                self._per_host[host] -= 1
                if not self._per_host[host]:
                    del self._per_host[host]

    def connection_count(self) -> int:
        """How many connections the room holds, choosing ones included."""
        return len(self._connections)

    # -- membership ------------------------------------------------------

    def is_free(self, nickname: str) -> bool:
        """Whether nobody holds a nickname that collides with C{nickname}."""
        return nickname_key(nickname) not in self._members

    def join(self, member: ChatProtocol, nickname: str, since: int | None) -> None:
        """Make C{member} joined as C{nickname}, which L{is_free} said is free.

        READY, the replay and the welcome are streamed at the pace the client
        reads (usually in one write). Replay and
        subscription happen in this one synchronous call, so the joiner sees
        neither a gap nor a duplicate between history and live traffic.
        """
        key = nickname_key(nickname)
        member.key = key
        member.nickname = nickname
        member.encoded_nickname = json_string(nickname)
        # Before it becomes a member: with fsync=always this flushes, and a
        # choosing client may hear nothing before READY.
        self.batcher.joined(member)
        self._members[key] = member
        self._listed_names.append(member.encoded_nickname)
        last_id = self.batcher.replay_limit()
        now = self.timestamp()
        first_id = self._history.first_id if self._history.first_id <= last_id else 0
        welcome = users_notice(
            now,
            "welcome",
            f"Welcome, {nickname}! {len(self._members)} online.",
            self._listed_names,
            last_id=last_id,
            first_id=first_id,
        )
        tail = [welcome]
        if self._shutdown_at is not None:
            tail.append(self._shutdown_notice())
        member.stream(itertools.chain((_READY_FRAME,), self._replay(since, last_id), tail))
        self._hub.publish(notice(now, "join", f"{nickname} joined", user=nickname), key, None)
        self.log.info("{nickname} joined", nickname=nickname, event_kind="join")

    def _replay(self, since: int | None, last_id: int) -> Iterator[bytes]:
        """The history frames a joiner is owed, marked as history, built as they are written."""
        if since is None:
            count = self.config.history_replay
            records = self._history.recent(count) if count else []
        else:
            records = self._history.since(since)
        return (
            frame(record[:-1] + _REPLAY_MARK)
            for message_id, record in records
            if message_id <= last_id
        )

    def leave(self, member: ChatProtocol, reason: LeaveReason) -> None:
        """Free C{member}'s nickname at once and tell the others why it left."""
        key = member.key
        if key is None or self._members.get(key) is not member:
            return
        del self._members[key]
        self._listed_names.remove(member.encoded_nickname)
        nickname = member.nickname
        if not self._closing:
            self._hub.publish(
                notice(self.timestamp(), "leave", f"{nickname} left", user=nickname, reason=reason),
                None,
                None,
            )
        self.log.info(
            "{nickname} left ({reason})", nickname=nickname, reason=reason, event_kind="leave"
        )

    def who(self, member: ChatProtocol) -> None:
        """Answer a `who` command."""
        users = self._listed_names
        self.unicast(member, users_notice(self.timestamp(), "who", f"{len(users)} online", users))

    # -- messages --------------------------------------------------------

    def publish(self, sender: ChatProtocol, text: str) -> None:
        """Store a public message, then queue it for every joined client.

        @raise PacketRejected: C{unavailable} when the history store cannot take
            it; nobody sees the message then.
        """
        message_id = self._history.last_id + 1
        # Spelled out rather than dump_json(dict): this is the hot path, and the
        # sender's nickname is encoded once, at join.
        record = b'{"id":%d,"timestamp":"%s","nickname":%s,"message":%s}' % (
            message_id,
            self.timestamp().encode("ascii"),
            sender.encoded_nickname,
            json_string(text),
        )
        try:
            self._history.append(message_id, record)
        except HistoryUnavailable as e:
            self.log.error("history unavailable: {why}", why=str(e))
            raise PacketRejected(ErrorCode.UNAVAILABLE, "The message could not be stored") from e
        self._hub.publish(frame(record), None, message_id)

    def send_private(self, sender: ChatProtocol, to: str, text: str) -> None:
        """Send a private message to C{to} and a copy to the sender.

        @raise PacketRejected: C{no-such-user} when nobody holds that name.
        """
        recipient = self._members.get(nickname_key(to)) if could_be_nickname(to) else None
        if recipient is None:
            # Echo a bounded prefix: the whole name could not fit in a reply frame.
            shown = to if could_be_nickname(to) else to[:MAX_NICKNAME_CODE_POINTS] + "..."
            raise PacketRejected(ErrorCode.NO_SUCH_USER, f"Nobody is called {shown}")
        packet = {
            "timestamp": self.timestamp(),
            "nickname": sender.nickname,
            "message": text,
            "to": recipient.nickname,
        }
        data = encode_packet(packet)
        self.unicast(recipient, data)
        if recipient is not sender:
            self.unicast(sender, data)

    def send_error(self, member: ChatProtocol, code: ErrorCode, detail: str, **extra: Any) -> None:
        """Tell C{member} its frame was refused, and log it (never the frame's content)."""
        self._log_error(code, member.display_name())
        self.unicast(member, error_notice(self.timestamp(), code, detail, **extra))

    def _log_error(self, code: ErrorCode, who: str) -> None:
        self.log.info("error {code} for {who}", code=str(code), who=who, event_kind="error")

    def unicast(self, member: ChatProtocol, data: bytes) -> None:
        """Write C{data} to one client after its share of what is queued before it.

        With fsync=always, a reply may overtake a message still waiting for its fsync.
        """
        self.batcher.catch_up(member)
        member.send(data)

    def timestamp(self) -> str:
        """The server's clock now, as every packet carries it."""
        return rfc3339_millis(self.reactor.seconds())

    # -- shutdown --------------------------------------------------------

    def announce_shutdown(self, grace: float) -> None:
        """Tell every joined client the server closes in C{grace} seconds."""
        self._shutdown_at = self.reactor.seconds() + grace
        self._hub.publish(self._shutdown_notice(), None, None)
        self.log.info("shutting down in {grace} seconds", grace=grace)

    def _shutdown_notice(self) -> bytes:
        assert self._shutdown_at is not None
        left = max(0, math.ceil(self._shutdown_at - self.reactor.seconds()))
        return notice(self.timestamp(), "shutdown", f"Server closing in {left} seconds", grace=left)

    def close_all(self) -> None:
        """Close every connection, choosing ones included, without `leave` notices."""
        self._closing = True
        self.batcher.flush()
        for connection in list(self._connections):
            connection.close()


def _limited_host(peer: IAddress) -> str | None:
    """The host a per-IP limit counts for C{peer}; None when exempt (loopback, unix)."""
    host = getattr(peer, "host", None)
    if not isinstance(host, str) or _is_loopback(host):
        return None
    return host


@functools.lru_cache(
    maxsize=4096
)  # parsing an address costs more than the rest of a join's admission
def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback
