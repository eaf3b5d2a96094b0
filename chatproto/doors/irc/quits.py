"""One QUIT per quitter: a member that leaves the server leaves each of its rooms, and
the hall tells each room (docs/protocol.md section 12), but an IRC client shows a QUIT
once, however many channels it shares with the quitter (section 10).

The hall gives every room's `leave` of one departure the same timestamp; the codec
writes each as the same QUIT line but for its C{@time} tag. L{QuitFilter} sits on one
client's output: it lets the first QUIT of a nickname through and drops the next ones
until that nickname is seen joining again (a JOIN line from it, or in the names of a
room the client enters), which it must be before it can quit again. It remembers at
most L{REMEMBERED_QUITTERS} nicknames, the newest: the rooms' leaves of one departure
arrive together, so a forgotten one costs at most a repeated QUIT.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Final

#: Quitters one client's filter remembers (a bound: docs/irc.md).
REMEMBERED_QUITTERS: Final = 256
_QUIT: Final = b" QUIT "
_JOIN: Final = b" JOIN "
_LINE_END: Final = b"\r\n"


def _command_and_source(line: bytes) -> tuple[bytes, bytes]:
    """The command and the source's nickname of one line the server wrote."""
    if line.startswith(b"@"):
        line = line.partition(b" ")[2]
    if not line.startswith(b":"):
        return b"", b""
    source, _, rest = line[1:].partition(b" ")
    return rest.partition(b" ")[0], source.partition(b"!")[0]


class _LastScan:
    """Whether the last bytes given to L{_scan} hold QUIT and JOIN lines.

    Fan-out hands every member of a door the same bytes object for a turn, so
    one scan serves them all: scanning per member cost a quarter of the IRC
    door's fan-out time (docs/performance.md). The object is kept, so its
    identity cannot be taken by other bytes.
    """

    __slots__ = ("data", "has_join", "has_quit")

    def __init__(self) -> None:
        self.data = b""
        self.has_quit = False
        self.has_join = False


_LAST_SCAN = _LastScan()


def _scan(data: bytes) -> _LastScan:
    """Whether C{data} holds QUIT and JOIN lines (one scan per bytes object)."""
    last = _LAST_SCAN
    if last.data is not data:
        last.data = data
        last.has_quit = _QUIT in data
        last.has_join = _JOIN in data
    return last


def unfiltered(data: bytes) -> bool:
    """Whether no client's filter changes C{data}: it holds no QUIT line, nor a JOIN
    line that makes a remembered quitter news again."""
    scanned = _scan(data)
    return not (scanned.has_quit or scanned.has_join)


class QuitFilter:
    """Drops a client's repeated QUITs of one departure (see the module docstring)."""

    def __init__(self) -> None:
        # Made at the first QUIT this client is shown (most never see one while idle).
        self._quitters: OrderedDict[bytes, None] | None = None

    @property
    def remembers(self) -> bool:
        """Whether some nickname was shown quitting and not seen joining since."""
        return bool(self._quitters)

    def seen(self, nicknames: Iterable[str]) -> None:
        """C{nicknames} are in a room the client enters: a QUIT of theirs is news again."""
        quitters = self._quitters
        if quitters:
            for nickname in nicknames:
                quitters.pop(nickname.encode("utf-8"), None)

    def filter(self, data: bytes) -> bytes:
        """C{data} (whole lines) without the QUITs of nicknames already shown quitting."""
        scanned = _scan(data)
        quitters = self._quitters
        if not scanned.has_quit and not (quitters and scanned.has_join):
            return data  # the common case: nothing to do
        if quitters is None:
            quitters = self._quitters = OrderedDict()
        kept = []
        for line in data.split(_LINE_END)[:-1]:
            command, nickname = _command_and_source(line)
            if command == b"QUIT":
                if nickname in quitters:
                    continue
                quitters[nickname] = None
                if len(quitters) > REMEMBERED_QUITTERS:
                    quitters.popitem(last=False)
            elif command == b"JOIN":
                quitters.pop(nickname, None)
            kept.append(line + _LINE_END)
        return b"".join(kept)
