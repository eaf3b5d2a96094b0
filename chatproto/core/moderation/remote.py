"""Moderation of a member another node holds (docs/moderation.md, with `--redis`).

The issuer's node judges the command with the target's standing as the shared state
knows it (L{Away}: its account, hence a server operator, the founder, a durable
role; a role held until it leaves the room, of a member not logged in, is known only
to its node, so here it stands as a plain member). What only the target's node can
do (take it out of the room; give or take a role held until it leaves) goes there as
an L{Order} on the feed every node reads; L{perform} carries it out on the node that
holds the target. A durable role needs no order: the store tells every node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.member import IMember, LeaveReason
from chatproto.core.moderation.policy import Action
from chatproto.core.nicknames import could_be_nickname, holding_key
from chatproto.core.room import Room
from chatproto.seams.sharedmoderation import ISharedModeration, Order

if TYPE_CHECKING:
    from chatproto.core.hall import Hall


_log = Logger("chatproto.moderation")


@dataclass(frozen=True, slots=True)
class Away:
    """A member of a room held by another node: its holding C{key}, its C{nickname} as
    shown, the C{account} it is logged in to (None: none)."""

    key: str
    nickname: str
    account: str | None


class AwayMembers:
    """Finds the members of C{hall}'s rooms that other nodes hold, and sends them the
    orders of this node's moderators (through C{shared}; None: one node, nobody is
    away)."""

    def __init__(self, hall: Hall, shared: ISharedModeration | None) -> None:
        self._hall = hall
        self._shared = shared

    def find(self, room: Room, user: str) -> Away | None:
        """The member C{user} of C{room} if another node holds it."""
        if self._shared is None or not could_be_nickname(user):
            return None
        key = holding_key(user)
        for nickname in self._hall.users_of(room):
            if holding_key(nickname) == key:
                return Away(key, nickname, self._hall.account_held(nickname))
        return None

    def order(
        self, action: Action, room: Room, target: Away, issuer: IMember, comment: str | None
    ) -> Deferred[None]:
        """Send the node holding C{target} the C{action} of C{issuer}; fails with
        C{unavailable} when it cannot be sent."""
        assert self._shared is not None  # nobody is away with one node
        outside = issuer.key is None or room.members.get(issuer.key) is not issuer
        order = Order(
            str(action),
            room.key,
            target.nickname,
            issuer.nickname,
            comment,
            issuer.key if outside else None,
        )

        def unsent(failure: Failure) -> None:
            _log.failure("an order to another node failed", failure, event_kind="node")
            raise PacketRejected(ErrorCode.UNAVAILABLE, "The order could not be sent")

        return self._shared.order(order).addErrback(unsent)


def perform(hall: Hall, order: Order) -> None:
    """Carry out C{order} if this node holds its target in its room (else it is another
    node's, or the target left already: nothing to do)."""
    room = hall.registry.rooms.get(order.room)
    member = hall.local_member(order.target)
    if room is None or member is None or member.key is None:
        return
    if room.members.get(member.key) is not member:
        return
    if order.action == Action.KICK:
        moderated = {"by": order.by}
        if order.comment is not None:
            moderated["comment"] = order.comment
        record = hall.remove_from_room(room, member, LeaveReason.KICKED, **moderated)
        if order.receipt is not None:
            hall.send_to(order.receipt, record)
        return
    rules = hall.moderation.ledger.rules(room.key)
    match order.action:
        case Action.OP:
            rules.present_operators.add(member.key)
        case Action.VOICE:
            rules.present_voices.add(member.key)
        case Action.DEOP:
            rules.present_operators.discard(member.key)
        case Action.DEVOICE:
            rules.present_voices.discard(member.key)
