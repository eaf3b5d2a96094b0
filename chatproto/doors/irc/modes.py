"""Channel modes on the IRC door: the letters a room has (docs/protocol.md section 14)
and the reading of a C{MODE #room} line's mode string and arguments.

Each letter is one of the room's moderation settings or lists, named by the command the
core knows it by:

    b  list      a ban (`ban` / `unban`, with a mask: L{chatproto.doors.irc.masks})
    q  list      a mute (`mute` / `unmute`, with a nickname)
    o  status    a room operator (`op` / `deop`), shown as `@`
    v  status    a voiced member (`voice` / `devoice`), shown as `+`
    t  flag      only operators set the topic (`topic-lock`)
    m  flag      only operators and voiced members speak (`moderated`)
    n  flag      only members speak: always on, as the room has no other way

Reading never decides anything: it says which changes a line asks for, which lists it
asks to see, and what it got wrong; the core's policy decides who may do what.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

#: List modes (RPL_ISUPPORT CHANMODES type A): with an argument a change.
LIST_MODES: Final = "bq"
#: The list modes whose list a MODE without an argument asks for (367/368). The mutes
#: are not listed: the core keeps them by nickname keys, not as they were written.
LISTED_MODES: Final = "b"
#: Status modes: each gives a member a prefix in NAMES and WHO (RPL_ISUPPORT PREFIX).
STATUS_MODES: Final = "ov"
#: The prefix each status mode gives, highest first.
PREFIXES: Final = {"o": "@", "v": "+"}
#: Modes without an argument that can be switched (CHANMODES type D).
SWITCHED_MODES: Final = "mt"
#: A mode without an argument that every room has, always: only members speak.
ALWAYS_ON: Final = "n"
#: Every channel mode letter (RPL_MYINFO).
CHANNEL_MODE_LETTERS: Final = "".join(
    sorted(LIST_MODES + STATUS_MODES + SWITCHED_MODES + ALWAYS_ON)
)
#: Changes with an argument that one MODE line may ask for (RPL_ISUPPORT MODES): each is
#: an action of the core announced to the whole room, and one line counts once against
#: the rate limit. Those past it are ignored.
MAX_MODE_CHANGES: Final = 4
#: The RPL_ISUPPORT tokens of the modes: CHANMODES, PREFIX, MODES, and the account
#: extban (C{$a:account}) as EXTBAN and ACCOUNTEXTBAN.
MODE_TOKENS: Final = (
    f"CHANMODES={LIST_MODES},,,{''.join(sorted(SWITCHED_MODES + ALWAYS_ON))}",
    f"PREFIX=({STATUS_MODES}){''.join(PREFIXES[letter] for letter in STATUS_MODES)}",
    f"MODES={MAX_MODE_CHANGES}",
    "EXTBAN=$,a",
    "ACCOUNTEXTBAN=a",
)


@dataclass(frozen=True)
class ModeChange:
    """One change a MODE line asks for: C{letter} set (C{adding}) or unset, with its
    C{argument} (a mask or nickname; None for a switched mode)."""

    adding: bool
    letter: str
    argument: str | None = None

    @property
    def text(self) -> str:
        """The change as a mode string shows it: C{+b}, C{-o}."""
        return ("+" if self.adding else "-") + self.letter


@dataclass
class ModeRequest:
    """What one MODE line of a channel asks for.

    C{changes}: the changes, in order (at most L{MAX_MODE_CHANGES} with an argument);
    C{lists}: the list modes asked to be shown, each once; C{unknown}: letters no room has,
    each once (472); C{missing}: modes given without the argument they need (461).
    """

    changes: list[ModeChange] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def read_modes(words: Sequence[str]) -> ModeRequest:
    """Read a mode string and its arguments (C{MODE #room +ob-v mask nick nick}).

    Arguments are taken in order by the letters that need one (list and status modes);
    C{b} without one left asks for its list. A switched mode is changed once
    however often it repeats; C{n} is always on and changes nothing.
    """
    request = ModeRequest()
    if not words:
        return request
    modes, arguments = words[0], list(words[1:])
    adding = True
    with_argument = 0
    for letter in modes:
        if letter in "+-":
            adding = letter == "+"
        elif letter in LIST_MODES or letter in STATUS_MODES:
            argument = arguments.pop(0) if arguments else None
            if not argument:
                _asked(request, letter)
            elif with_argument < MAX_MODE_CHANGES:
                with_argument += 1
                request.changes.append(ModeChange(adding, letter, argument))
        elif letter in SWITCHED_MODES:
            change = ModeChange(adding, letter)
            if all(made.letter != letter for made in request.changes):
                request.changes.append(change)
        elif letter != ALWAYS_ON and letter not in request.unknown:
            request.unknown.append(letter)
    return request


def _asked(request: ModeRequest, letter: str) -> None:
    """A list or status mode without its argument: a list request, or a missing argument."""
    if letter in LISTED_MODES:
        if letter not in request.lists:
            request.lists.append(letter)
    elif letter not in request.missing:
        request.missing.append(letter)


def mode_string(modes: Sequence[str]) -> str:
    """The modes a room has now (C{+mnt}), as 324 shows them: C{n}, and each switched
    mode in C{modes} that is on."""
    return "+" + "".join(sorted({ALWAYS_ON, *modes}))
