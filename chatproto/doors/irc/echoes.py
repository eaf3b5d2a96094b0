"""Labelled echoes: a labelled PRIVMSG or NOTICE to a channel, sent with echo-message,
is answered by the client's own copy of the message, labelled (IRCv3 labeled-response,
docs/irc.md).

That copy reaches the client through the room's fan-out, later (once the store has
given the message its id), encoded by the codec the client shares with its like. While
copies are awaited, the session encodes with a L{LabellingCodec} of its own instead: it
writes what the shared codec writes, but an awaited copy carries its label. A copy is
known by its room and its id, which the store tells the session (L{LabellingCodec.stored});
should the copy come first (a store shared by several nodes delivers through another
connection than the one that answers), it goes out unlabelled and the label is answered
C{ACK} when the id comes.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from zope.interface import implementer

from chatproto.core.member import ICodec
from chatproto.core.records import json_string
from chatproto.core.roomnames import room_key
from chatproto.doors.irc.codec import IrcCodec
from chatproto.doors.irc.mapping import channel_of
from chatproto.doors.irc.message import Message

#: Labelled channel messages one client may have awaiting their copy; past it, a
#: labelled message to a channel is answered ACK at once (docs/irc.md).
MAX_AWAITED: Final = 16

#: Labels C{messages}, the whole answer to one command, as the session's wire bytes.
LabelLines = Callable[[Sequence[Message], str], bytes]


@dataclass
class Awaited:
    """A labelled message to a room whose copy has not reached its sender yet (its
    C{message_id} once the store has told it)."""

    room_key: str
    label: str
    message_id: int | None = None


@implementer(ICodec)
class LabellingCodec:
    """One client's codec while it awaits copies of its labelled messages: the
    C{shared} codec's bytes, with each awaited copy labelled by C{label_lines}.
    C{settled} is called once no copy is awaited any more."""

    def __init__(
        self,
        shared: IrcCodec,
        nickname: str,
        label_lines: LabelLines,
        settled: Callable[[], None],
    ) -> None:
        self.shared = shared
        self._nickname = nickname
        self._needle = json_string(nickname)
        self._label_lines = label_lines
        self._settled = settled
        self._awaited: list[Awaited] = []
        # The client's own copies that went out before their ids were known, by room.
        self._passed: deque[tuple[str, int]] = deque(maxlen=MAX_AWAITED)

    @property
    def echoes_sender(self) -> bool:
        """As the shared codec: True (only a client with echo-message awaits copies)."""
        return self.shared.echoes_sender

    def expect(self, room: str, label: str) -> Awaited | None:
        """Await the copy of a message to the room keyed C{room}, to label it with
        C{label}; None when L{MAX_AWAITED} copies are awaited already."""
        if len(self._awaited) >= MAX_AWAITED:
            return None
        awaited = Awaited(room, label)
        self._awaited.append(awaited)
        return awaited

    def stored(self, awaited: Awaited, message_id: int | None) -> str | None:
        """The store gave C{awaited}'s message its id (None: refused it); the label that
        nothing will answer now (its copy went out already, or will never come)."""
        if awaited not in self._awaited:
            return None
        if message_id is not None and (awaited.room_key, message_id) not in self._passed:
            awaited.message_id = message_id
            return None
        self._drop([awaited])
        return awaited.label

    def forget(self, room: str) -> list[str]:
        """Stop awaiting the copies of the room keyed C{room} (the client left it, or
        stopped echo-message); their labels, which nothing answered."""
        gone = [awaited for awaited in self._awaited if awaited.room_key == room]
        self._drop(gone)
        return [awaited.label for awaited in gone]

    def _drop(self, gone: list[Awaited]) -> None:
        for awaited in gone:
            self._awaited.remove(awaited)
        if not self._awaited:
            self._settled()

    def encode(self, record: bytes) -> bytes:
        """One record's lines: an awaited copy labelled, anything else as shared."""
        # Cheap test first: most records are not this client's.
        if self._needle not in record:
            return self.shared.encode(record)
        packet = json.loads(record)
        message_id = packet.get("id")
        if message_id is None or "to" in packet or packet.get("nickname") != self._nickname:
            return self.shared.encode(record)
        room = room_key(channel_of(packet, self.shared.server.channel))
        for awaited in self._awaited:
            if awaited.room_key == room and awaited.message_id == message_id:
                data = self._label_lines(self.shared.messages(packet), awaited.label)
                self._drop([awaited])
                return data
        self._passed.append((room, message_id))
        return self.shared.encode(record)

    def encode_batch(self, records: Sequence[bytes]) -> bytes:
        """Several records' lines, in order, as one write."""
        return b"".join([self.encode(record) for record in records])

    def messages(self, packet: dict[str, Any]) -> list[Message]:
        """The IRC messages that carry one record, unlabelled (L{IrcCodec.messages})."""
        return self.shared.messages(packet)

    def encode_replayed(self, record: bytes) -> bytes:
        """A stored record replayed: never an awaited copy."""
        return self.shared.encode_replayed(record)

    def same_for_all(self, data: bytes) -> bool:
        """As the shared codec (a label changes no client's quit filter)."""
        return self.shared.same_for_all(data)
