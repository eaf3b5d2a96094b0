"""What the room needs of a member, and what a member needs of its door.

A door implements L{ILink} (its transport, seen from the core) and L{ICodec}
(its wire); the core's L{chatproto.core.connection.Connection} implements
L{IMember} on top of them, with every per-connection rule that is the same on
every door. The room only ever talks to L{IMember}s.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import Enum, StrEnum
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from zope.interface import Attribute, Interface

if TYPE_CHECKING:
    from chatproto.core.outbox import Outbox
    from chatproto.core.room import Room


class LeaveReason(StrEnum):
    """The `reason` of a `leave` notice."""

    BYE = "bye"
    DISCONNECTED = "disconnected"
    SLOW = "slow"
    FLOOD = "flood"
    PART = "part"
    KICKED = "kicked"
    BANNED = "banned"


class CloseReason(Enum):
    """Why the server closes a connection; doors with close codes map them (section 9)."""

    BYE = "bye"
    TIMEOUT = "timeout"
    FLOOD = "flood"
    SERVER_FULL = "server-full"
    SHUTDOWN = "shutdown"
    REPLACED = "replaced"


class ICodec(Interface):
    """Turns canonical records (compact JSON, docs/protocol.md sections 4-5) into one
    door's bytes. Fan-out calls it once per batch, not once per member."""

    if TYPE_CHECKING:
        echoes_sender: bool
    else:
        echoes_sender = Attribute(
            "Whether a sender receives its own chat messages (bool): the packet doors' "
            "receipt; an IRC client only with echo-message."
        )

    def encode(record: bytes) -> bytes:
        """One record, ready to write."""

    def encode_batch(records: Sequence[bytes]) -> bytes:
        """Several records, in order, as one write."""

    def encode_replayed(record: bytes) -> bytes:
        """A stored chat record as a replay shows it."""

    def same_for_all(data: bytes) -> bool:
        """Whether C{data}, records this codec encoded, goes to every member as it is:
        fan-out then writes it to the member's outbox, or straight to its transport
        (L{IMember.outbox}); otherwise through L{IMember.send}, which may change it (the
        IRC door drops a QUIT a client was already shown)."""


class ILink(Interface):
    """The door's side of one connection: its transport, as the core uses it."""

    def write(data: bytes) -> None:
        """Write bytes that this door's codec made (the door may send them at once)."""

    def close(reason: CloseReason) -> None:
        """Close after what was written (a door with close codes sends the one for C{reason})."""

    def abort() -> None:
        """Drop the connection now, unwritten output included."""

    def pause_reading() -> None:
        """Stop delivering frames from the peer until L{resume_reading} (calls come in pairs)."""

    def resume_reading() -> None:
        """Deliver frames from the peer again, the ones already read first."""


class IMember(Interface):
    """A connection as the room sees it, whatever its door."""

    if TYPE_CHECKING:
        key: str | None
        nickname: str
        encoded_nickname: bytes
        codec: ICodec
        peer: str
        host: str | None
        resume_token: str | None
        account: str | None
        rooms: dict[str, Room]
        outbox: Outbox
    else:
        key = Attribute("The holding key (str, section 3's skeleton of the key) once joined.")
        nickname = Attribute("The display nickname (str) once joined, else ''.")
        encoded_nickname = Attribute("The nickname as a JSON string literal (bytes).")
        codec = Attribute("The ICodec that encodes what this member receives.")
        peer = Attribute("The peer's address as logs show it (str).")
        host = Attribute("The peer's IP address (str), which bans match; None if none.")
        resume_token = Attribute("The secret (str) that lets it take its place back, once joined.")
        account = Attribute("The name (str) of the account it is logged in to, else None.")
        rooms = Attribute("The rooms it is in (dict: room key to Room), in the order it joined.")
        outbox = Attribute(
            "Its Outbox: what it is owed, and (Outbox.direct) where bytes may go at once."
        )

    def enter(replay: Deferred[Iterator[bytes]], welcome: bytes, tail: Sequence[bytes]) -> None:
        """The member has joined: send its acceptance, the C{replay} records (stored form,
        once the store has answered), the C{welcome} notice and the C{tail} notices, at
        the pace it reads, with live traffic held behind them."""

    def enter_room(replay: Deferred[Iterator[bytes]], welcome: bytes) -> None:
        """The member has joined another room: send the C{replay} records (stored form,
        once the store has answered) and the room's C{welcome}, at the pace it reads,
        with live traffic held behind them."""

    def send(data: bytes) -> None:
        """Write bytes its codec made, after everything sent to it before."""

    def close() -> None:
        """Close after what the member is owed, without a leave notice."""

    def evict() -> None:
        """Close at once, owed output dropped, without a leave notice (its place is taken,
        or the shutdown cannot wait longer)."""

    def display_name() -> str:
        """The nickname, or the peer's address before one was chosen (for logs)."""
