"""The pipe front end: input lines become messages, what arrives is printed one per line."""

from __future__ import annotations

from typing import Final, Protocol, TextIO, cast

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IHalfCloseableProtocol, IReactorFDSet
from twisted.internet.protocol import connectionDone
from twisted.internet.stdio import StandardIO
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.client.escaping import escape_json_line
from chatproto.client.incoming import ChatMessage, Notice
from chatproto.client.options import PASSWORD_VARIABLE, PROGRAM
from chatproto.client.render import LocalNotice, Marked, Shown, plain, render
from chatproto.client.session import NoNicknameError, Session
from chatproto.core.records import dump_json

#: The longest input line sent as one message (the server's default
#: --max-message-bytes); a longer one is sent in pieces of whole characters.
MAX_LINE_BYTES: Final = 4096


class _StandardIO(Protocol):
    """The part of Twisted's (untyped) C{StandardIO} used here."""

    def write(self, data: bytes) -> None:
        """Write to standard output (buffered, never blocking)."""

    def loseConnection(self) -> None:
        """Flush and close standard output; stop reading standard input."""

    def pauseProducing(self) -> None:
        """Stop reading standard input for now."""

    def resumeProducing(self) -> None:
        """Read standard input again."""


@implementer(IHalfCloseableProtocol)
class _StandardStreams(LineReceiver):
    """Standard input as lines for the session; standard output as a buffered writer."""

    delimiter = b"\n"
    MAX_LENGTH = MAX_LINE_BYTES

    def __init__(self) -> None:
        self.session: Session | None = None
        self.closed: Deferred[None] = Deferred()

    def lineReceived(self, line: bytes) -> None:
        """Send the line as a message."""
        if self.session is not None:
            self.session.message(line.decode("utf-8", "replace").removesuffix("\r"))

    def lineLengthExceeded(self, line: bytes) -> None:
        """Send an overlong line in pieces rather than dropping input.

        Twisted hands over everything it had buffered, later lines included.
        """
        *complete, rest = line.split(self.delimiter)
        for each in complete:
            for piece in utf8_pieces(each, self.MAX_LENGTH):
                self.lineReceived(piece)
        *full, tail = utf8_pieces(rest, self.MAX_LENGTH)
        for piece in full:
            self.lineReceived(piece)
        self.dataReceived(tail)  # type: ignore[no-untyped-call]  # not a whole line yet

    def readConnectionLost(self) -> None:
        """End of input: leave once everything was sent."""
        if self.session is not None:
            self.session.finish()

    def writeConnectionLost(self) -> None:
        """Nobody reads our output any more: leave."""
        if self.session is not None:
            self.session.quit()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Both streams are closed and flushed."""
        self.closed.callback(None)


def utf8_pieces(data: bytes, size: int) -> list[bytes]:
    """C{data} cut into pieces of at most C{size} bytes, never inside a UTF-8 character."""
    pieces = []
    while len(data) > size:
        cut = size
        while cut > size - 4 and data[cut] & 0xC0 == 0x80:  # a continuation byte
            cut -= 1
        pieces.append(data[:cut])
        data = data[cut:]
    pieces.append(data)
    return pieces


class PipeFrontend:
    """Reads messages from standard input once joined; prints plain lines or JSON Lines."""

    def __init__(self, reactor: IReactorFDSet, *, json: bool, errors: TextIO) -> None:
        self._json = json
        self._errors = errors
        self._streams = _StandardStreams()
        stdio = StandardIO(self._streams, reactor=reactor)  # type: ignore[no-untyped-call]
        self._stdio = cast(_StandardIO, stdio)
        # Input waits until we joined; output can go at once (the history replay).
        self._stdio.pauseProducing()

    def ask_nickname(self, problem: str | None) -> Deferred[str]:
        """There is nobody to ask: the program ends with status 1, saying C{problem}."""
        return fail(NoNicknameError(problem or "a nickname is needed: give --nick"))

    def ask_password(self, question: str) -> Deferred[str]:
        """There is nobody to ask: the program ends with status 1, saying why."""
        why = question.split("\n", 1)[0]
        return fail(NoNicknameError(f"{why}: give --password-file or {PASSWORD_VARIABLE}"))

    def joined(self, session: Session) -> None:
        """Start reading input for C{session}."""
        self._streams.session = session
        self._stdio.resumeProducing()

    def status(self, text: str | None) -> None:
        """Say a new status on standard error, a line each (a log, not a screen)."""
        if text is not None:
            self._remark(text)

    def show(self, item: Shown) -> None:
        """Print a received item on standard output, a local notice on standard error."""
        if isinstance(item, LocalNotice):
            self._remark(item.text)
        elif self._json and isinstance(item, ChatMessage | Notice | Marked):
            # The packet as it came: about a room other than the default, it names it.
            packet = item.item.packet if isinstance(item, Marked) else item.packet
            line = escape_json_line(dump_json(packet).decode("utf-8"))
            self._stdio.write(line.encode("utf-8") + b"\n")
        else:
            self._stdio.write(plain(render(item, one_line=True)).encode("utf-8") + b"\n")

    def _remark(self, text: str) -> None:
        self._errors.write(f"{PROGRAM}: {text}\n")
        self._errors.flush()

    def close(self) -> Deferred[None]:
        """Flush standard output, then fire."""
        self._stdio.loseConnection()
        return self._streams.closed
