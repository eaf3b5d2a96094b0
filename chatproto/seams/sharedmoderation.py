"""Moderation shared by several nodes (docs/protocol.md section 14 with `--redis`): the
store tells every node of each change any node makes, so that every node applies it
at once (L{chatproto.core.moderation.elsewhere}).

A change is one entry of L{chatproto.seams.moderation} kept (put) or dropped; a
dropped entry carries only what identifies it (a ban's scope and mask, a mute's room
and target, a role, a switch). An L{Order} is no change of the store: it asks the
node holding a member to act on it (a kick, a role held until it leaves the room).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twisted.internet.defer import Deferred
from zope.interface import Interface

from chatproto.seams.moderation import BanEntry, FlagEntry, MuteEntry, RoleEntry

#: One entry of the moderation store.
ModerationEntry = BanEntry | MuteEntry | RoleEntry | FlagEntry


@dataclass(frozen=True, slots=True)
class ModerationChange:
    """C{entry} was kept (C{kept}) or dropped by a node."""

    entry: ModerationEntry
    kept: bool


@dataclass(frozen=True, slots=True)
class Order:
    """The moderation command C{action} (`kick`, `op`, `deop`, `voice`, `devoice`) of
    C{by}, for the node holding the member C{target} (a nickname) in the room C{room}
    (a key); C{receipt}: the member key of an issuer outside the room, who gets the
    `leave` of a kick through the hub (None: the room's fan-out tells the issuer)."""

    action: str
    room: str
    target: str
    by: str
    comment: str | None
    receipt: str | None


#: Called with each change and order, in the order they were made.
ChangeReceiver = Callable[[ModerationChange | Order], None]


class ISharedModeration(Interface):
    """A moderation store that several nodes share: it tells this node of what the
    store holds when the node starts (each entry as a kept change) and then of every
    change another node makes."""

    def watch(changed: ChangeReceiver) -> None:
        """Call C{changed} with each such change (and each L{Order} of another node)
        from now on."""

    def order(order: Order) -> Deferred[None]:
        """Send C{order} to every other node (the one holding its target acts on it);
        fails when it cannot be sent."""
