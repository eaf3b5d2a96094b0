"""SASL PLAIN on the IRC door (IRCv3 `sasl` 3.1): the AUTHENTICATE exchange, without I/O.

    AUTHENTICATE PLAIN          -> AUTHENTICATE +       (the server waits for the payload)
    AUTHENTICATE <400 bytes>    -> (more follows)
    AUTHENTICATE <fewer> or +   -> the payload is complete: authzid NUL authcid NUL passwd
    AUTHENTICATE *              -> 906, the exchange is aborted

The payload is base64 in chunks of 400 bytes: a chunk of exactly 400 says more follow,
so a payload whose length is a multiple of 400 ends with C{AUTHENTICATE +}. A chunk
over 400 bytes is refused with 905; a payload over L{MAX_PAYLOAD} bytes (far beyond
what a nickname and the longest password take) with 904, so that a client cannot make
the server hold more. L{SaslExchange.receive} says what to do with each line; the door
(L{chatproto.doors.irc.logins}) checks the credentials through the accounts' portal.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final

from chatproto.core.nicknames import nickname_key

#: The only mechanism offered (CAP LS 302 `sasl=PLAIN`, 908).
PLAIN: Final = "PLAIN"
#: Bytes of base64 in one AUTHENTICATE line, at most (IRCv3 sasl 3.1).
CHUNK: Final = 400
#: Bytes of base64 one payload may take: 5 chunks, 1,500 bytes decoded, more than two
#: nicknames of 32 four-byte characters and a 1,024-byte password need.
MAX_PAYLOAD: Final = 5 * CHUNK
#: What a client sends for an empty chunk, and to abort.
EMPTY: Final = "+"
ABORT: Final = "*"


@dataclass(frozen=True)
class PlainCredentials:
    """A PLAIN payload: the account to log in to (C{authcid}) and its password."""

    account: str
    password: str


@dataclass(frozen=True)
class Ask:
    """Answer C{AUTHENTICATE +}: the server waits for the payload."""


@dataclass(frozen=True)
class Wait:
    """A chunk of 400 bytes: more follow; answer nothing."""


@dataclass(frozen=True)
class Refuse:
    """End the exchange with the numeric C{code} (904, 905, 906) and C{why}; C{mechanisms}:
    send 908 first (an unknown mechanism was asked for)."""

    code: str
    why: str
    mechanisms: bool = False


#: What one AUTHENTICATE line comes to.
Outcome = Ask | Wait | Refuse | PlainCredentials

RPL_SASLMECHS: Final = "908"
ERR_SASLFAIL: Final = "904"
ERR_SASLTOOLONG: Final = "905"
ERR_SASLABORTED: Final = "906"


class SaslExchange:
    """One client's AUTHENTICATE lines, in order (one exchange at a time)."""

    __slots__ = ("_chunks", "_size", "started")

    def __init__(self) -> None:
        #: Whether PLAIN was chosen and its payload is being received.
        self.started = False
        self._chunks: list[str] = []
        self._size = 0

    def receive(self, argument: str) -> Outcome:
        """What the line C{AUTHENTICATE argument} comes to."""
        if argument == ABORT:
            self.reset()
            return Refuse(ERR_SASLABORTED, "SASL authentication aborted")
        if not self.started:
            if argument.upper() != PLAIN:
                return Refuse(ERR_SASLFAIL, "SASL authentication failed", mechanisms=True)
            self.started = True
            return Ask()
        if len(argument.encode("utf-8")) > CHUNK:
            self.reset()
            return Refuse(ERR_SASLTOOLONG, "SASL message too long")
        if argument != EMPTY:
            self._size += len(argument)
            if self._size > MAX_PAYLOAD:
                self.reset()
                return Refuse(ERR_SASLFAIL, "SASL authentication failed: payload too long")
            self._chunks.append(argument)
            if len(argument) == CHUNK:
                return Wait()
        payload = "".join(self._chunks)
        self.reset()
        credentials = plain_credentials(payload)
        if credentials is None:
            return Refuse(ERR_SASLFAIL, "SASL authentication failed: not a PLAIN payload")
        return credentials

    def reset(self) -> None:
        """Forget the exchange in progress: the next line names a mechanism again."""
        self.started = False
        self._chunks = []
        self._size = 0


def plain_credentials(payload: str) -> PlainCredentials | None:
    """The credentials in a base64 PLAIN payload (RFC 4616), or None when it is not one:
    not base64, not three UTF-8 fields, an empty account or password, or an
    authorization identity that is not the account itself (nobody acts for another)."""
    try:
        raw = base64.b64decode(payload, validate=True)
        fields = [field.decode("utf-8") for field in raw.split(b"\0")]
    except (binascii.Error, UnicodeDecodeError):
        return None
    if len(fields) != 3:
        return None
    authzid, authcid, password = fields
    if not authcid or not password:
        return None
    if authzid and nickname_key(authzid) != nickname_key(authcid):
        return None
    return PlainCredentials(authcid, password)
