"""What a door that carries packets needs of its codec: control words besides records."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zope.interface import implementer

from chatproto.core.member import ICodec
from chatproto.core.records import replayed
from chatproto.core.words import CONTROL_WORDS


@implementer(ICodec)
class PacketCodec:
    """Encodes texts (records and control words) with one door's framing, C{wrap}."""

    #: The sender's own copy is its receipt (docs/protocol.md section 4).
    echoes_sender = True

    def __init__(self, wrap: Callable[[bytes], bytes]) -> None:
        self._wrap = wrap
        self._controls = {word: wrap(word.encode("ascii")) for word in CONTROL_WORDS}

    def control(self, word: str) -> bytes:
        """A control word, framed (pre-encoded: written often)."""
        return self._controls[word]

    def encode(self, record: bytes) -> bytes:
        """One record, framed."""
        return self._wrap(record)

    def encode_batch(self, records: Sequence[bytes]) -> bytes:
        """Several records, framed one by one, as one write."""
        wrap = self._wrap
        return b"".join([wrap(record) for record in records])

    def encode_replayed(self, record: bytes) -> bytes:
        """A stored record marked as history, framed."""
        return self._wrap(replayed(record))

    def same_for_all(self, data: bytes) -> bool:
        """True: every member of a packet door gets the same bytes."""
        return True
