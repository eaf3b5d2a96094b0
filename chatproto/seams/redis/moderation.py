"""Moderation kept in Redis (`--redis`, docs/moderation.md): every node applies a change
at once.

One hash, C{moderation}, under the rooms' hash tag (docs/scaling.md): a field per
entry, named by what identifies it (the JSON array C{["ban", scope, mask]},
C{["mute", room, target]}, C{["founder", room]}, C{["role", room, account, role]} or
C{["flag", room, flag]}), whose value is the entry as JSON. Each change is one Lua
script that writes the hash and puts the change on the feed (an C{M} entry: the
change as JSON, C{N} the node that made it) in one step. Every node reads the feed
in one order, so every other node applies each change once, in the order they were
made; the node that made a change has applied it already and skips it. A node reads
the whole hash once, when it first reaches Redis, before it takes any member
(L{RedisModeration.load}); what the feed brings after that converges on the same
state, since each change sets or removes one entry. An order for the node holding a
member (L{Order}) is an C{M} entry too, C{{"order": ...}}, that writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Final

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from zope.interface import implementer

from chatproto.seams.moderation import (
    BanEntry,
    Flag,
    FlagEntry,
    IModerationStore,
    ModerationSnapshot,
    MuteEntry,
    Role,
    RoleEntry,
)
from chatproto.seams.redis.client import RedisConnection, Script
from chatproto.seams.redis.scripts import FEED_LENGTH, PREFIX, Keys
from chatproto.seams.sharedmoderation import (
    ChangeReceiver,
    ISharedModeration,
    ModerationChange,
    ModerationEntry,
    Order,
)

MODERATION: Final = PREFIX + "moderation"

#: KEYS: the hash, the feed. ARGV: field, value ('' to remove it), the value the field
#: must hold ('' for any), the change, the node. Returns 1, or 0 when the field did not
#: hold what it must (nothing changed, nothing announced).
_CHANGE = Script(
    """
local moderation, feed = KEYS[1], KEYS[2]
local field, value, expected = ARGV[1], ARGV[2], ARGV[3]
if expected ~= '' and redis.call('HGET', moderation, field) ~= expected then return 0 end
if value == '' then
  redis.call('HDEL', moderation, field)
else
  redis.call('HSET', moderation, field, value)
end
redis.call('XADD', feed, 'MAXLEN', '~', FEED_LENGTH, '*', 'M', ARGV[4], 'N', ARGV[5])
return 1
""".replace("FEED_LENGTH", str(FEED_LENGTH))
)

#: The kind of each entry, as fields and changes name it.
_KINDS: Final[dict[type[Any], str]] = {
    BanEntry: "ban",
    MuteEntry: "mute",
    RoleEntry: "role",
    FlagEntry: "flag",
}


@implementer(IModerationStore, ISharedModeration)
class RedisModeration:
    """Moderation in Redis through C{connection} (the node's command connection), its
    changes announced as made by the node C{node_id}."""

    log = Logger()

    def __init__(self, connection: RedisConnection, node_id: str) -> None:
        self._connection = connection
        self._node_id = node_id
        self._watchers: list[ChangeReceiver] = []

    # -- IModerationStore ------------------------------------------------------

    def load(self) -> Deferred[ModerationSnapshot]:
        """See L{IModerationStore.load}: the whole hash (an entry this version cannot
        read is left out)."""

        def read(reply: list[bytes]) -> ModerationSnapshot:
            snapshot = ModerationSnapshot()
            lists: dict[type[Any], list[Any]] = {
                BanEntry: snapshot.bans,
                MuteEntry: snapshot.mutes,
                RoleEntry: snapshot.roles,
                FlagEntry: snapshot.flags,
            }
            for value in reply[1::2]:
                entry = _entry(value)
                if entry is not None:
                    lists[type(entry)].append(entry)
            return snapshot

        return self._connection.execute("HGETALL", MODERATION).addCallback(read)

    def put_ban(self, ban: BanEntry) -> Deferred[None]:
        """See L{IModerationStore.put_ban}."""
        return self._change(ban, True)

    def drop_ban(self, scope: str, mask: str) -> Deferred[None]:
        """See L{IModerationStore.drop_ban}."""
        return self._change(BanEntry(scope, mask, "", "", None), False)

    def put_mute(self, mute: MuteEntry) -> Deferred[None]:
        """See L{IModerationStore.put_mute}."""
        return self._change(mute, True)

    def drop_mute(self, room: str, target: str) -> Deferred[None]:
        """See L{IModerationStore.drop_mute}."""
        return self._change(MuteEntry(room, target, "", None), False)

    def put_role(self, entry: RoleEntry) -> Deferred[None]:
        """See L{IModerationStore.put_role} (a room has one founder: a new one replaces)."""
        return self._change(entry, True)

    def drop_role(self, entry: RoleEntry) -> Deferred[None]:
        """See L{IModerationStore.drop_role} (a founder only while it is the founder)."""
        return self._change(entry, False)

    def put_flag(self, entry: FlagEntry) -> Deferred[None]:
        """See L{IModerationStore.put_flag}."""
        return self._change(entry, True)

    def drop_flag(self, entry: FlagEntry) -> Deferred[None]:
        """See L{IModerationStore.drop_flag}."""
        return self._change(entry, False)

    def close(self) -> Deferred[None]:
        """Nothing to let go of: the connection is the node's."""
        return succeed(None)

    # -- ISharedModeration -----------------------------------------------------

    def watch(self, changed: ChangeReceiver) -> None:
        """See L{ISharedModeration.watch}."""
        self._watchers.append(changed)

    def loaded(self, snapshot: ModerationSnapshot) -> None:
        """The node read the hash (L{load}) when it first reached Redis: each entry to
        the watchers, as kept."""
        for entries in (snapshot.bans, snapshot.mutes, snapshot.roles, snapshot.flags):
            for entry in entries:
                self._tell(ModerationChange(entry, True))

    def order(self, order: Order) -> Deferred[None]:
        """See L{ISharedModeration.order}: an C{M} entry on the feed."""
        described = json.dumps({"order": asdict(order)})
        done = self._connection.execute(
            "XADD", Keys.feed, "MAXLEN", "~", FEED_LENGTH, "*", "M", described, "N", self._node_id
        )
        return done.addCallback(lambda _: None)

    def changed(self, change: bytes, node_id: str) -> None:
        """The feed brought a change (or an order) the node C{node_id} made: to the
        watchers, unless this node made it (it applied it already)."""
        if node_id == self._node_id:
            return
        told: ModerationChange | Order | None
        try:
            described = json.loads(change)
            if "order" in described:
                told = _order(described["order"])
            else:
                entry, kept = _entry(described["entry"]), described["kept"] is True
                told = None if entry is None else ModerationChange(entry, kept)
        except (ValueError, KeyError, TypeError):
            told = None
        if told is None:
            self.log.error("a moderation change this version cannot read was ignored")
            return
        self._tell(told)

    def _tell(self, change: ModerationChange | Order) -> None:
        for watcher in self._watchers:
            watcher(change)

    def _change(self, entry: ModerationEntry, kept: bool) -> Deferred[None]:
        """Keep (C{kept}) or drop C{entry} and announce it, in one script."""
        value = _value(entry)
        field = _field(entry)
        # Only the founder it names stops being the founder.
        expected = value if not kept and _is_founder(entry) else ""
        change = json.dumps({"entry": _fields(entry), "kept": kept})
        args = (field, value if kept else "", expected, change, self._node_id)
        done = self._connection.run(_CHANGE, (MODERATION, Keys.feed), args)
        return done.addCallback(lambda _: None)


def _is_founder(entry: ModerationEntry) -> bool:
    return isinstance(entry, RoleEntry) and entry.role is Role.FOUNDER


def _field(entry: ModerationEntry) -> str:
    """The hash field of C{entry}: what identifies it."""
    match entry:
        case BanEntry(scope=scope, mask=mask):
            parts = ["ban", scope, mask]
        case MuteEntry(room=room, target=target):
            parts = ["mute", room, target]
        case RoleEntry(room=room) if _is_founder(entry):
            parts = ["founder", room]
        case RoleEntry(room=room, account=account, role=role):
            parts = ["role", room, account, str(role)]
        case FlagEntry(room=room, flag=flag):
            parts = ["flag", room, str(flag)]
    return json.dumps(parts)


def _fields(entry: ModerationEntry) -> dict[str, Any]:
    """C{entry} as a JSON object: its kind and its fields."""
    return {"kind": _KINDS[type(entry)], **asdict(entry)}


def _value(entry: ModerationEntry) -> str:
    """C{entry} as the JSON the hash keeps (the same text for equal entries)."""
    return json.dumps(_fields(entry), sort_keys=True)


def _order(described: dict[str, Any]) -> Order | None:
    """The order a change's object describes; None for one this version cannot read."""
    order = Order(**described)
    texts = (order.action, order.room, order.target, order.by)
    optional = (order.comment, order.receipt)
    if all(isinstance(text, str) for text in texts) and all(
        text is None or isinstance(text, str) for text in optional
    ):
        return order
    return None


def _entry(described: bytes | dict[str, Any]) -> ModerationEntry | None:
    """The entry a hash value (JSON) or a change's object describes; None for one this
    version cannot read (a kind, role or switch it does not know)."""
    try:
        fields = dict(json.loads(described) if isinstance(described, bytes) else described)
        kind = fields.pop("kind")
        if kind == "ban":
            return BanEntry(**fields)
        if kind == "mute":
            return MuteEntry(**fields)
        if kind == "role":
            return RoleEntry(fields["room"], fields["account"], Role(fields["role"]))
        if kind == "flag":
            return FlagEntry(fields["room"], Flag(fields["flag"]))
    except (ValueError, KeyError, TypeError):
        pass
    return None
