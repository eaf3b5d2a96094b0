"""The registration burst (001-005 and the MOTD), rendered once per door and nickname length.

Every client gets the same lines but for its nickname; building and checking them as
L{Message}s cost about a third of an IRC join's server CPU (docs/performance.md, "Third
pass: the IRC registration burst"). L{WelcomeBurst} renders them once, through
L{Replies.welcome} itself, with a stand-in nickname, and keeps the bytes around it: a
client's burst is its nickname joined with them, byte for byte what L{Replies.welcome}
writes.
"""

from __future__ import annotations

import sys
from typing import Final

from chatproto.core.nicknames import MAX_NICKNAME_CODE_POINTS
from chatproto.doors.irc.codec import wire
from chatproto.doors.irc.message import safe_word
from chatproto.doors.irc.replies import Replies

#: The character a stand-in nickname is made of: no nickname, server name or --motd
#: holds it (they refuse control characters), so it marks where the nickname goes.
_STAND_IN: Final = "\x01"
#: The most renderings one MOTD text keeps: one per UTF-8 length a nickname can have
#: (the MOTD's lines are cut to fit beside the nickname, so its length changes them).
MAX_RENDERINGS: Final = 4 * MAX_NICKNAME_CODE_POINTS
#: The most memory the renderings of one MOTD hold: a --motd of thousands of short lines
#: makes a burst of hundreds of KiB; one that would pass this is used once, not kept.
MAX_KEPT_BYTES: Final = 1 << 20


class WelcomeBurst:
    """The bytes of L{Replies.welcome} for any nickname, from renderings kept per
    nickname length and dropped when the MOTD changes (a SIGHUP reload of --motd)."""

    def __init__(self, replies: Replies) -> None:
        self._replies = replies
        self._motd: str | None = None
        #: The burst's bytes around each place of the nickname, by the nickname's length.
        self._pieces: dict[int, list[bytes]] = {}
        #: The memory those hold, in bytes (L{MAX_KEPT_BYTES}).
        self._kept = 0

    def render(self, me: str) -> bytes:
        """001-005 and the MOTD for C{me}, as L{Replies.welcome} would write them."""
        encoded = me.encode("utf-8")
        if safe_word(me) != me or len(encoded) > MAX_RENDERINGS:  # written otherwise: as is
            return wire(self._replies.welcome(me))
        motd = self._replies.motd_text()
        if motd != self._motd:  # reloaded: the MOTD lines of every rendering changed
            self._motd, self._pieces, self._kept = motd, {}, 0
        pieces = self._pieces.get(len(encoded))
        if pieces is None:
            pieces = self._rendered(len(encoded))
            if pieces is None:
                return wire(self._replies.welcome(me))
            self._keep(len(encoded), pieces)
        return encoded.join(pieces)

    def _keep(self, length: int, pieces: list[bytes]) -> None:
        """Keep the rendering for nicknames of C{length} bytes, if it fits the bound."""
        size = sys.getsizeof(pieces) + sum(map(sys.getsizeof, pieces))
        if self._kept + size <= MAX_KEPT_BYTES:
            self._pieces[length] = pieces
            self._kept += size

    def _rendered(self, length: int) -> list[bytes] | None:
        """The burst's bytes around a nickname of C{length} bytes; None when the stand-in
        shows anywhere else (a MOTD that holds it), which would cut the burst wrong."""
        stand_in = _STAND_IN * length
        burst = wire(self._replies.welcome(stand_in))
        # The nickname starts every line's parameters, and is twice more in 001's text.
        if burst.count(_STAND_IN.encode("ascii")) != length * (burst.count(b"\r\n") + 2):
            return None
        return burst.split(stand_in.encode("ascii"))
