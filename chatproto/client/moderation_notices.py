"""The notices of moderation (docs/protocol.md section 14) as typed events: what the
client API's moderation events carry, and what the terminal shows. A hostile server's
odd fields never raise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from chatproto.client.incoming import (
    Notice,
    int_field,
    number_field,
    object_list,
    string_field,
    time_field,
)

#: A C{bans} notice lists at most this many bans; more from a hostile server are ignored.
MAX_BANS_LISTED: Final = 1000


@dataclass(frozen=True)
class ModerationChange:
    """A C{moderation} notice: an operator changed something in C{room}."""

    notice: Notice
    #: The room (C{None}: the default room).
    room: str | None
    #: The command's name: C{mute}, C{unmute}, C{unban}, C{op}, C{deop}, C{voice},
    #: C{devoice}, C{topic-lock}, C{moderated} (or one this client does not know).
    action: str
    #: Who did it.
    by: str
    #: The member it was done to, the ban mask, the seconds and the switch, as given.
    user: str | None
    mask: str | None
    seconds: float | None
    on: bool | None
    comment: str | None

    @classmethod
    def of(cls, notice: Notice) -> ModerationChange:
        """Read a C{moderation} notice (odd fields count as absent)."""
        packet = notice.packet
        on = packet.get("on")
        return cls(
            notice,
            notice.room,
            string_field(packet, "action") or "",
            string_field(packet, "by") or "?",
            string_field(packet, "user"),
            string_field(packet, "mask"),
            number_field(packet, "seconds"),
            on if isinstance(on, bool) else None,
            string_field(packet, "comment"),
        )


@dataclass(frozen=True)
class Removal:
    """A member removed from C{room} by an operator: a C{leave} with reason C{kicked} or
    C{banned}."""

    notice: Notice
    room: str | None
    user: str
    #: C{kicked} or C{banned}.
    reason: str
    by: str
    comment: str | None

    @classmethod
    def of(cls, notice: Notice) -> Removal:
        """Read a C{leave} notice of a kick or a ban."""
        packet = notice.packet
        return cls(
            notice,
            notice.room,
            string_field(packet, "user") or "?",
            string_field(packet, "reason") or "",
            string_field(packet, "by") or "?",
            string_field(packet, "comment"),
        )


@dataclass(frozen=True)
class Redaction:
    """A C{redact} notice: message C{id} of C{room} is gone; remove it where it is shown."""

    notice: Notice
    room: str | None
    id: int
    by: str
    comment: str | None

    @classmethod
    def of(cls, notice: Notice) -> Redaction:
        """Read a C{redact} notice (a missing id reads as 0, which no message has)."""
        packet = notice.packet
        return cls(
            notice,
            notice.room,
            int_field(packet, "id") or 0,
            string_field(packet, "by") or "?",
            string_field(packet, "comment"),
        )


@dataclass(frozen=True)
class Announcement:
    """An C{announce} notice: a server operator's words to everyone."""

    notice: Notice
    text: str
    #: The server operator who said it.
    by: str


@dataclass(frozen=True)
class Ban:
    """One ban of a C{bans} notice."""

    #: A nickname, C{account:NAME}, an address or a CIDR block.
    mask: str
    by: str
    comment: str | None
    #: When it ends (an aware datetime); C{None}: until lifted.
    until: datetime | None

    @classmethod
    def listed(cls, notice: Notice) -> list[Ban]:
        """The bans a C{bans} notice lists (entries without a mask are skipped)."""
        bans = []
        for entry in object_list(notice.packet, "bans", MAX_BANS_LISTED):
            if (mask := string_field(entry, "mask")) is not None:
                bans.append(
                    cls(
                        mask,
                        string_field(entry, "by") or "?",
                        string_field(entry, "comment"),
                        time_field(entry, "until"),
                    )
                )
        return bans
