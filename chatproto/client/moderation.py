"""Moderation in the client API (docs/protocol.md section 14): one request per command,
the events of the notices that announce them, and who operates each room.

L{Moderation} is a mixin of L{chatproto.client.api.ChatClient}: its requests go
through the client's queue like the others and fire once their receipt came (the
C{moderation}, C{leave} or C{redact} notice naming this client as C{by}), or fail
with L{ChatError} (C{not-permitted}, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol

from twisted.internet.defer import Deferred

from chatproto.client.incoming import Notice, int_field, string_field, string_list
from chatproto.client.moderation_notices import (
    Announcement,
    Ban,
    ModerationChange,
    Redaction,
    Removal,
)
from chatproto.client.outbox import Outgoing
from chatproto.client.rooms import RoomState
from chatproto.core.nicknames import nickname_key

#: The notices this module reads (besides C{leave} with a reason below).
MODERATION_EVENTS: Final = frozenset({"moderation", "redact", "bans", "announce"})
#: The C{leave} reasons of a member removed by an operator.
REMOVALS: Final = frozenset({"kicked", "banned"})
#: At most this many operators are kept per room (the server's default --max-clients).
MAX_OPERATORS: Final = 10000
#: The C{moderation} actions that change who operates a room.
_OPERATOR_ACTIONS: Final = frozenset({"op", "deop"})


#: Whether a notice is the receipt of a request (see L{Outgoing.receipt}).
Receipt = Callable[[Notice], bool]


class _Client(Protocol):
    """What L{Moderation} uses of the client it is mixed into."""

    _rooms: dict[str | None, RoomState]

    def _request(
        self,
        packet: dict[str, Any],
        text: str | None,
        expects: str = ...,
        room: str | None = ...,
        receipt: Receipt | None = ...,
    ) -> Deferred[Any]: ...

    def _key(self, room: str | None) -> str | None: ...

    def _is_own(self, nickname: str) -> bool: ...

    def _answer(self, result: object) -> bool: ...

    def moderation_changed(self, change: ModerationChange) -> None: ...

    def user_removed(self, removal: Removal) -> None: ...

    def message_redacted(self, redaction: Redaction) -> None: ...

    def announcement_received(self, announcement: Announcement) -> None: ...


def _where(room: str | None, server: bool) -> dict[str, Any]:
    """The C{room} field, or C{"scope": "server"} for a server-wide ban."""
    if server:
        if room is not None:
            raise ValueError("a server-wide ban names no room")
        return {"scope": "server"}
    return {} if room is None else {"room": room}


def _with(**fields: object) -> dict[str, Any]:
    """The fields given, without those that are C{None}."""
    return {name: value for name, value in fields.items() if value is not None}


def _positive(seconds: int | None) -> int | None:
    if seconds is not None and seconds <= 0:
        raise ValueError("seconds must be positive (none: until lifted)")
    return seconds


class Moderation:
    """The moderation requests and events of a chat client (docs/protocol.md section 14).

    Each request fires with C{None} once its receipt came (L{bans}: with the list), or
    fails with L{ChatError}: C{not-permitted} for anyone not allowed, C{not-in-room},
    C{unknown-command} from a server without moderation. A room is named as in the
    other requests: C{None} is the default room.
    """

    # Requests.

    def kick(
        self: _Client, user: str, *, room: str | None = None, comment: str | None = None
    ) -> Deferred[None]:
        """Make C{user} leave C{room} (it may join again); fire once its C{leave} with
        reason C{kicked} came."""
        packet = {"command": "kick", "user": user} | _with(room=room, comment=comment)
        return _kicking(self, packet, user, room)

    def mute(
        self: _Client, user: str, *, room: str | None = None, seconds: int | None = None
    ) -> Deferred[None]:
        """Keep C{user}'s messages in C{room} from anyone, for C{seconds} (C{None}: until
        L{unmute}).

        @raise ValueError: for C{seconds} not positive.
        """
        packet = _with(room=room, seconds=_positive(seconds))
        return _changing(self, "mute", packet | {"user": user}, room)

    def unmute(self: _Client, user: str, *, room: str | None = None) -> Deferred[None]:
        """End C{user}'s mute in C{room}."""
        return _changing(self, "unmute", {"user": user} | _with(room=room), room)

    def ban(
        self: _Client,
        mask: str,
        *,
        room: str | None = None,
        seconds: int | None = None,
        comment: str | None = None,
        server: bool = False,
    ) -> Deferred[None]:
        """Ban C{mask} (a nickname, C{account:NAME}, an address or a CIDR block) from
        C{room}, or from the whole server with C{server} (server operators only), for
        C{seconds} (C{None}: until L{unban}). It fires with the C{moderation} notice
        (its C{mask} as the server spells it); the members that match leave after it,
        with reason C{banned}.

        @raise ValueError: for C{seconds} not positive, or both C{room} and C{server}.
        """
        fields = {"mask": mask} | _where(room, server)
        fields |= _with(seconds=_positive(seconds), comment=comment)
        return _changing(self, "ban", fields, room, any_room=server)

    def unban(
        self: _Client, mask: str, *, room: str | None = None, server: bool = False
    ) -> Deferred[None]:
        """Lift the ban of C{mask} from C{room} (or the server-wide one)."""
        packet = {"mask": mask} | _where(room, server)
        return _changing(self, "unban", packet, room, any_room=server)

    def bans(
        self: _Client, *, room: str | None = None, server: bool = False
    ) -> Deferred[list[Ban]]:
        """The bans of C{room} (or the server-wide ones), at most L{MAX_BANS_LISTED}."""
        packet = {"command": "bans"} | _where(room, server)
        return self._request(packet, None, expects="bans", room=self._key(room))

    def redact(
        self: _Client, id: int, *, room: str | None = None, comment: str | None = None
    ) -> Deferred[None]:
        """Remove message C{id} of C{room} (its text leaves the server's store); a member
        may redact its own messages, operators any. Fire once the C{redact} notice came."""
        packet = {"command": "redact", "id": id} | _with(room=room, comment=comment)
        own = self._is_own

        def receipt(notice: Notice) -> bool:
            packet = notice.packet
            return (
                notice.event == "redact"
                and int_field(packet, "id") == id
                and own(string_field(packet, "by") or "")
            )

        return _request(self, packet, room, receipt)

    def op(self: _Client, user: str, *, room: str | None = None) -> Deferred[None]:
        """Make C{user} an operator of C{room}."""
        return _changing(self, "op", {"user": user} | _with(room=room), room)

    def deop(self: _Client, user: str, *, room: str | None = None) -> Deferred[None]:
        """Make C{user} no longer an operator of C{room}."""
        return _changing(self, "deop", {"user": user} | _with(room=room), room)

    def voice(self: _Client, user: str, *, room: str | None = None) -> Deferred[None]:
        """Let C{user} speak in C{room} while it is moderated."""
        return _changing(self, "voice", {"user": user} | _with(room=room), room)

    def devoice(self: _Client, user: str, *, room: str | None = None) -> Deferred[None]:
        """Take C{user}'s voice in C{room} away."""
        return _changing(self, "devoice", {"user": user} | _with(room=room), room)

    def set_topic_lock(self: _Client, on: bool, *, room: str | None = None) -> Deferred[None]:
        """Let only operators set C{room}'s topic (C{on}), or anyone again."""
        return _changing(self, "topic-lock", {"on": on} | _with(room=room), room)

    def set_moderated(self: _Client, on: bool, *, room: str | None = None) -> Deferred[None]:
        """Let only operators and voiced members speak in C{room} (C{on}), or anyone again."""
        return _changing(self, "moderated", {"on": on} | _with(room=room), room)

    def announce(self: _Client, text: str) -> Deferred[None]:
        """Say C{text} to every client of every door (server operators); fire once this
        client's own C{announce} notice came."""

        own = self._is_own

        def receipt(notice: Notice) -> bool:
            return notice.event == "announce" and own(string_field(notice.packet, "by") or "")

        return _request(self, {"command": "announce", "text": text}, None, receipt, any_room=True)

    def operators(self: _Client, room: str | None = None) -> list[str]:
        """Who operates C{room} among its members, as last heard (C{welcome}, C{who},
        C{op}, C{deop}); empty when the client is not in it."""
        state = self._rooms.get(self._key(room))
        return [] if state is None else list(state.operators.values())

    # Events: override these.

    def moderation_changed(self, change: ModerationChange) -> None:
        """An operator changed something in C{change.room} (mute, op, topic-lock, ...);
        this client's own changes too (their receipts)."""

    def user_removed(self, removal: Removal) -> None:
        """An operator kicked or banned C{removal.user} from C{removal.room} (this client
        too); L{chatproto.client.api.ChatClient.user_left} follows, with the reason."""

    def message_redacted(self, redaction: Redaction) -> None:
        """Message C{redaction.id} of C{redaction.room} was redacted: remove it where it
        is shown."""

    def announcement_received(self, announcement: Announcement) -> None:
        """A server operator's announcement to everyone."""

    # Inside: called by the client's dispatch.

    def _moderation_heard(self: _Client, notice: Notice, asked: Outgoing | None) -> None:
        """A C{moderation}, C{redact}, C{bans} or C{announce} notice: its event, then the
        request it answers."""
        if notice.event == "bans":
            if asked is not None and asked.expects == "bans":
                self._answer(Ban.listed(notice))
            return
        if notice.event == "moderation":
            change = ModerationChange.of(notice)
            if change.action in _OPERATOR_ACTIONS and change.user is not None:
                _operator(self, notice.room, change.user, change.action == "op")
            self.moderation_changed(change)
        elif notice.event == "redact":
            self.message_redacted(Redaction.of(notice))
        elif notice.event == "announce":
            by = string_field(notice.packet, "by") or "?"
            self.announcement_received(Announcement(notice, notice.message, by))
        if asked is not None and asked.receipt is not None and asked.receipt(notice):
            self._answer(None)

    def _removal_heard(self: _Client, notice: Notice, asked: Outgoing | None) -> bool:
        """A C{leave}: say a kick or a ban, and forget an operator who left; whether it is
        the receipt of the request in flight (answered once the leave was dealt with)."""
        user = string_field(notice.packet, "user")
        if user is not None:
            _operator(self, notice.room, user, False)
        if string_field(notice.packet, "reason") not in REMOVALS:
            return False
        self.user_removed(Removal.of(notice))
        return asked is not None and asked.receipt is not None and asked.receipt(notice)

    def _operators_listed(self: _Client, notice: Notice) -> None:
        """A C{welcome} or C{who}: who operates its room now."""
        state = self._rooms.get(self._key(notice.room))
        if state is not None:
            state.operators = {}
            for name in string_list(notice.packet, "operators"):
                _add_operator(state, name)


def _operator(client: _Client, room: str | None, user: str, operates: bool) -> None:
    """Note that C{user} operates C{room} now, or no longer."""
    state = client._rooms.get(client._key(room))
    if state is None:
        return
    if operates:
        _add_operator(state, user)
    else:
        state.operators.pop(nickname_key(user), None)


def _add_operator(state: RoomState, name: str) -> None:
    if len(state.operators) < MAX_OPERATORS:
        state.operators[nickname_key(name)] = name


def _request(
    client: _Client,
    packet: dict[str, Any],
    room: str | None,
    receipt: Receipt,
    *,
    any_room: bool = False,
) -> Deferred[None]:
    """Queue C{packet}, answered by the notice C{receipt} accepts about C{room} (any room
    when C{any_room}: a server-wide ban, an announcement)."""
    key = client._key(room)

    def in_room(notice: Notice) -> bool:
        if not any_room and client._key(notice.room) != key:
            return False
        return receipt(notice)

    return client._request(packet, None, expects="receipt", room=key, receipt=in_room)


def _kicking(
    client: _Client, packet: dict[str, Any], user: str, room: str | None
) -> Deferred[None]:
    """A kick: answered by C{user}'s C{leave} with reason C{kicked}, by this client."""

    def receipt(notice: Notice) -> bool:
        fields = notice.packet
        return (
            notice.event == "leave"
            and fields.get("reason") == "kicked"
            and nickname_key(string_field(fields, "user") or "") == nickname_key(user)
            and client._is_own(string_field(fields, "by") or "")
        )

    return _request(client, packet, room, receipt)


def _changing(
    client: _Client,
    action: str,
    fields: dict[str, Any],
    room: str | None,
    *,
    any_room: bool = False,
) -> Deferred[None]:
    """A command announced by a C{moderation} notice: answered by this client's own one
    with the same action (and the same C{user}; a C{mask} comes back as the server
    spells it, a CIDR block normalised)."""
    packet = {"command": action} | fields
    user = fields.get("user")

    def receipt(notice: Notice) -> bool:
        heard = notice.packet
        if notice.event != "moderation" or heard.get("action") != action:
            return False
        if not client._is_own(string_field(heard, "by") or ""):
            return False
        return user is None or nickname_key(string_field(heard, "user") or "") == nickname_key(user)

    return _request(client, packet, room, receipt, any_room=any_room)


__all__ = ["MODERATION_EVENTS", "Moderation", "Receipt"]
