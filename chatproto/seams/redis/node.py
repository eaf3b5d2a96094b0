"""This server process as one node of the rooms shared through Redis (docs/scaling.md).

A node has two connections: one for commands (the writes of each turn,
replays, heartbeats) and one that blocks reading the feed (and the feeds of the
rooms beside the default one that have members here, L{RedisRooms}). On its first
connection it learns where the room stands (newest id, newest feed entry,
every nickname held, in one atomic step), registers its heartbeat, and only
then accepts claims. Every --node-timeout / 4 seconds it beats; a node silent
for three quarters of --node-timeout is dead, and the first live node to see
it so frees its nicknames and announces their `leave` (reason
`disconnected`) in the default room and in each of their other rooms, so the
others hear of it within --node-timeout. A node that has itself just
(re)connected does not judge others for one --node-timeout, so that after
Redis comes back every live node has beaten before anyone is judged.

Fencing: a node whose heartbeat has not been renewed for half of
--node-timeout (counted from when its last renewed beat was sent, so never
later than Redis recorded it) closes its members' connections and takes no
new member until a beat is renewed again. The others free a node only after
three quarters of --node-timeout of silence, so by then its members are gone
from it: no nickname is ever served by two nodes. Once Redis is back it frees
those members' nicknames itself, with their `leave`, if nobody has yet.

Redis going down and coming back is logged once each, whatever happens meanwhile.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.core.member import LeaveReason
from chatproto.core.notices import notice
from chatproto.core.roomnames import room_key, validate_room_name
from chatproto.core.timestamps import rfc3339_millis
from chatproto.seams.hub import RoomEvent
from chatproto.seams.moderation import ModerationSnapshot
from chatproto.seams.redis.address import RedisAddress
from chatproto.seams.redis.client import RedisConnection, RedisUnavailable
from chatproto.seams.redis.history import RedisHistory
from chatproto.seams.redis.hub import RedisHub
from chatproto.seams.redis.moderation import RedisModeration
from chatproto.seams.redis.presence import RedisPresence
from chatproto.seams.redis.reader import FeedReader
from chatproto.seams.redis.rooms import RedisRooms
from chatproto.seams.redis.scripts import DEPART, HEARTBEAT, SCRIPTS, START, Keys
from chatproto.seams.redis.writer import FeedWriter

#: Heartbeats per --node-timeout.
BEATS_PER_TIMEOUT = 4
#: The share of --node-timeout without a renewed heartbeat after which a node closes
#: its members (others free a node after (BEATS_PER_TIMEOUT - 1) / BEATS_PER_TIMEOUT).
FENCE_AFTER = 0.5


class RedisNode:
    """One node: its connections, its seams (history, hub, presence, rooms) and its
    heartbeat. C{max_rooms}: --max-rooms (0: off); C{default_room}: --default-room."""

    log = Logger()

    def __init__(
        self,
        address: RedisAddress,
        reactor: IReactorTime,
        retain: int,
        node_timeout: float,
        max_rooms: int = 0,
        default_room: str = "#chat",
    ) -> None:
        self.node_id = secrets.token_hex(8)
        self.address = address
        self._reactor = reactor
        self._timeout = node_timeout
        self._commands = RedisConnection(address, reactor, self._commands_up, self._commands_down)
        # The command connection speaks for both: one Redis, one outage to log.
        self._feed = RedisConnection(address, reactor, self._feed_up, lambda reason: None)
        self.writer = FeedWriter(
            self._commands, reactor, self.node_id, retain, lambda: self.history.newest_id
        )
        self.history = RedisHistory(
            self._commands, Keys.history, Keys.feed, self.writer.chat, retain, self.leave
        )
        self.hub = RedisHub(self.writer)
        self.presence = RedisPresence(self.writer)
        self.moderation = RedisModeration(self._commands, self.node_id)
        self._reader = FeedReader(self._feed, self, reactor, self._commands)
        self._default_key = room_key(validate_room_name(default_room))
        self.rooms = RedisRooms(
            self._commands,
            self.writer,
            self._reader,
            self.hub.deliver,
            retain,
            max_rooms,
            self._default_key,
        )
        self._heartbeat = LoopingCall(self._beat)
        self._heartbeat.clock = reactor
        self._up_since: float | None = None
        self._was_up = False
        self._registered = False
        self._fence_call: IDelayedCall | None = None
        self._left: Deferred[None] | None = None

    @property
    def connected(self) -> bool:
        """Whether this node can reach Redis now."""
        return self._commands.up

    def ping(self) -> Deferred[object]:
        """Fires when Redis answers a PING (the health probe); fails with
        L{RedisUnavailable} when it cannot be reached."""
        return self._commands.execute("PING")

    def start(self) -> None:
        """Connect (and keep reconnecting) until L{leave}."""
        self.log.info(
            "node {node} connecting to Redis at {redis}",
            node=self.node_id,
            redis=str(self.address),
            event_kind="node",
        )
        self._commands.start()
        self._feed.start()

    # -- connections ----------------------------------------------------------

    def _commands_up(self) -> None:
        self.log.info(
            "Redis at {redis} is {state}",
            redis=str(self.address),
            state="reachable again" if self._was_up else "up",
            event_kind="node",
        )
        self._was_up = True
        self._up_since = self._reactor.seconds()
        ready = self._commands.load(SCRIPTS)
        if not self.presence.ready:
            ready.addCallback(lambda _: self._commands.run(START, Keys.all, ()))
            ready.addCallback(self._moderation_read)
            ready.addCallback(self._started)
        ready.addCallback(lambda _: self._beat())
        ready.addCallbacks(lambda _: self.writer.resume(), self._not_ready)

    def _moderation_read(self, snapshot: list[Any]) -> Deferred[list[Any]]:
        """Read the moderation Redis keeps, for the hall, before anyone joins here; then
        C{snapshot}, what START found. The feed, read from where START found it, brings
        the changes made since (applied again, they change nothing)."""

        def read(moderation: ModerationSnapshot) -> list[Any]:
            self.moderation.loaded(moderation)
            return snapshot

        return self.moderation.load().addCallback(read)

    def _started(self, snapshot: list[Any]) -> None:
        """Take the room's state as START found it, and begin reading the feed there."""
        newest, position, topic, *holders = snapshot
        self.history.saw(int(newest))
        self.rooms.topic_changed(self._default_key, topic.decode("utf-8"))
        self.presence.load(
            (key.decode("utf-8"), int(order), encoded, bool(outside), account.decode("utf-8"))
            for key, order, encoded, outside, account in zip(
                holders[::5],
                holders[1::5],
                holders[2::5],
                holders[3::5],
                holders[4::5],
                strict=True,
            )
        )
        self._reader.start_at(position)
        self.presence.ready = True
        self._heartbeat.start(self._timeout / BEATS_PER_TIMEOUT, now=False)
        self.log.info(
            "node {node} serves the room through Redis (newest id {id}, {count} members)",
            node=self.node_id,
            id=int(newest),
            count=len(self.presence.listed()),
            event_kind="node",
        )

    def _not_ready(self, failure: Failure) -> None:
        if not failure.check(RedisUnavailable):  # type: ignore[no-untyped-call]
            self.log.failure("preparing the Redis connection failed", failure, event_kind="node")
        # Otherwise the connection went down again: the next _commands_up retries.

    def _commands_down(self, reason: str) -> None:
        self._up_since = None
        if self._left is None:
            self.log.error(
                "{lost} Redis at {redis}: {reason}; chat and nicknames answer `unavailable` "
                "until it is back; retrying with backoff",
                lost="lost" if self._was_up else "cannot reach",
                redis=str(self.address),
                reason=reason,
                event_kind="node",
            )

    def _feed_up(self) -> None:
        self._reader.connected()

    # -- the feed's entries (FeedListener) ----------------------------------

    def record(self, event: RoomEvent) -> None:
        """A chat message or notice read from the feed: for the room."""
        if event.message_id is not None:
            self.history.saw(event.message_id)
        self.hub.deliver(event)

    def claimed(self, key: str, encoded_nickname: bytes, order: int) -> None:
        """A nickname claimed on some node: into the mirror."""
        self.presence.claimed(key, encoded_nickname, order)

    def freed(self, key: str, order: int) -> None:
        """A nickname freed on some node: out of the mirror."""
        self.presence.freed(key, order)

    def moved(self, key: str, from_node: str) -> None:
        """A place taken over with a resume token: closed here if it was this node's."""
        if from_node == self.node_id:
            self.presence.moved(key)

    def outside(self, key: str, outside: bool) -> None:
        """A member of some node parted the default room or joined it again."""
        self.presence.outside(key, outside)

    def logged_in(self, key: str, account: str | None) -> None:
        """A member of some node logged in to C{account} (None: out)."""
        self.presence.logged_in(key, account)

    def topic(self, room: str | None, topic: str) -> None:
        """The default room's topic changed (other rooms' topics come on their feeds)."""
        self.rooms.topic_changed(self._default_key, topic)

    def moderated(self, change: bytes, node_id: str) -> None:
        """The node C{node_id} changed moderation: for the hall, unless it was this one."""
        self.moderation.changed(change, node_id)

    # -- heartbeat and leaving -----------------------------------------------

    def _beat(self) -> Deferred[None]:
        if not self._commands.up:
            return succeed(None)
        up_since = self._up_since
        judge = up_since is not None and self._reactor.seconds() - up_since >= self._timeout
        silence_ms = int(self._timeout * 1000 * (BEATS_PER_TIMEOUT - 1) / BEATS_PER_TIMEOUT)
        sent = self._reactor.seconds()
        beat = self._commands.run(
            HEARTBEAT, Keys.all, (self.node_id, silence_ms, 1 if judge else 0)
        )
        return beat.addCallbacks(self._beaten, self._beat_failed, callbackArgs=(sent,))

    def _beaten(self, reply: list[Any], sent: float) -> None:
        self._renewed(sent)
        registered, freed = reply
        if not registered and self._registered:
            self.log.error(
                "node {node} was no longer registered in Redis (the others found it silent "
                "for too long, or Redis lost its data): its members' nicknames are not held "
                "there any more",
                node=self.node_id,
                event_kind="node",
            )
        self._registered = True
        if freed:
            self.log.info(
                "freed {count} nicknames of a node silent for too long",
                count=len(freed),
                event_kind="node",
            )
        self._announce_left(freed)

    def _renewed(self, sent: float) -> None:
        """Redis recorded a beat sent at C{sent}: fence at C{sent} + FENCE_AFTER x timeout."""
        delay = sent + self._timeout * FENCE_AFTER - self._reactor.seconds()
        if self._left is not None or delay <= 0:
            return  # a reply that came too late renews nothing: the next beat will
        if self._fence_call is not None and self._fence_call.active():
            self._fence_call.cancel()
        self._fence_call = self._reactor.callLater(delay, self._fence)
        if self.presence.fenced:
            self.presence.fenced = False
            self.log.info(
                "node {node} renewed its presence in Redis: it takes members again",
                node=self.node_id,
                event_kind="node",
            )

    def _fence(self) -> None:
        """No beat renewed for too long: the others may free this node's members soon.
        Close them (they resume elsewhere); free their nicknames once Redis is back."""
        self._fence_call = None
        places = self.presence.fence()
        self.log.error(
            "node {node} could not renew its presence in Redis for {seconds} seconds: "
            "closed its {count} members' connections (they may resume on another node); "
            "it takes members again once Redis answers",
            node=self.node_id,
            seconds=self._timeout * FENCE_AFTER,
            count=len(places),
            event_kind="node",
        )
        now = rfc3339_millis(self._reactor.seconds())
        for key, encoded in places:
            self.writer.release(key, _leave_notice(now, encoded))

    def _beat_failed(self, failure: Failure) -> None:
        if not failure.check(RedisUnavailable):  # type: ignore[no-untyped-call]
            self.log.failure("heartbeat failed", failure, event_kind="node")

    def _announce_left(self, freed: Sequence[Sequence[bytes]]) -> None:
        """Tell every node that these members (of a dead or departing node) left: each
        C{[nickname, room key, room name, ...]}, one `leave` per room it was in."""
        now = rfc3339_millis(self._reactor.seconds())
        for encoded, *rooms in freed:
            self.writer.notice(_leave_notice(now, encoded), None)
            for key, name in zip(rooms[::2], rooms[1::2], strict=True):
                record = _leave_notice(now, encoded, name.decode("utf-8"))
                self.writer.room_notice(key.decode("utf-8"), record, None)

    def leave(self) -> Deferred[None]:
        """Leave the room for good (shutdown): hand nothing more to this node's members,
        free their nicknames and tell the other nodes (`leave`, `disconnected`), then
        disconnect. Idempotent."""
        if self._left is not None:
            return self._left
        self._reader.stop()
        self.presence.departing = True
        if self._heartbeat.running:
            self._heartbeat.stop()
        if self._fence_call is not None and self._fence_call.active():
            self._fence_call.cancel()
        if self._commands.up:
            gone = self._commands.run(DEPART, Keys.all, (self.node_id,))
            gone.addCallback(self._announce_left)
            gone.addErrback(
                lambda failure: self.log.failure("leaving Redis failed", failure, event_kind="node")
            )
            gone.addCallback(lambda _: self.writer.idle())
        else:  # the others free this node's nicknames once it has been silent long enough
            gone = succeed(None)
        gone.addCallback(lambda _: self._disconnect())
        self._left = gone
        return gone

    def _disconnect(self) -> Deferred[None]:
        done: Deferred[Any] = self._commands.stop()
        done.addCallback(lambda _: self._feed.stop())
        return done.addCallback(lambda _: None)


def _leave_notice(timestamp: str, encoded_nickname: bytes, room: str | None = None) -> bytes:
    """The `leave` (`disconnected`) of a member whose node is gone or cut off, in the
    default room or in C{room} (its display name)."""
    nickname = json.loads(encoded_nickname)
    if room is None:
        return notice(
            timestamp, "leave", f"{nickname} left", user=nickname, reason=LeaveReason.DISCONNECTED
        )
    return notice(
        timestamp,
        "leave",
        f"{nickname} left {room}",
        user=nickname,
        reason=LeaveReason.DISCONNECTED,
        room=room,
    )
