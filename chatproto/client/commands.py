"""What a person typed: a message or one of the slash commands (in any letter case)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

HELP: Final = """\
Type a line and press Enter to send it to everyone in the current room
(the prompt names it; lines of other rooms start with [#room]).
  /join #ROOM      join a room (it is made if it does not exist) and talk there
  /part [#ROOM]    leave a room (the current one by default)
  /switch [#ROOM]  talk in another room you are in (none: the default room);
                   Alt+1 is the default room, Alt+2 to Alt+9 the others in join order
  /rooms           list the rooms on the server
  /topic [TEXT]    show the current room's topic, or set it ("/topic -" clears it)
  /msg NICK TEXT   send TEXT to NICK only
  /me TEXT         send "* yournick TEXT" (an action, as IRC shows it)
  /who             list who is in the current room
  /register        register your nickname with a password (asked for, not shown)
  /ids             show (or hide again) the id of each message, for /redact
  /redact ID       remove message ID of the current room (yours; operators: any)
Operators of the current room (docs/protocol.md section 14):
  /kick NICK [COMMENT]            make NICK leave the room (it may come back)
  /mute NICK [SECONDS]            NICK's messages reach nobody (until /unmute NICK)
  /ban MASK [SECONDS] [COMMENT]   ban a nickname, account:NAME, address or CIDR block
  /unban MASK      lift a ban          /bans    list the room's bans
  /op NICK, /deop NICK             make NICK an operator, or no longer
  /voice NICK, /devoice NICK       let NICK speak while the room is moderated, or not
  /topic-lock on|off               only operators set the topic, or anyone again
  /moderated on|off                only operators and voiced members speak, or anyone
  /announce TEXT   say TEXT to everyone on the server (server operators)
  /quit            leave (Ctrl+D and Ctrl+C too)
  /help            show this help
  //TEXT           send TEXT that starts with a slash
Commands work in any case (/MSG, /Who). Tab completes nicknames, rooms and commands.
Up and Down recall earlier lines; the usual line-editing keys work."""

#: Every command's name, for completion.
COMMAND_NAMES: Final = (
    "announce",
    "ban",
    "bans",
    "deop",
    "devoice",
    "help",
    "ids",
    "join",
    "kick",
    "me",
    "moderated",
    "msg",
    "mute",
    "op",
    "part",
    "quit",
    "redact",
    "register",
    "rooms",
    "switch",
    "topic",
    "topic-lock",
    "unban",
    "unmute",
    "voice",
    "who",
)
#: The moderation commands that name a member and nothing else.
MEMBER_ACTIONS: Final = frozenset({"unmute", "op", "deop", "voice", "devoice"})
#: The argument of C{/topic} that clears the topic.
CLEAR_TOPIC: Final = "-"


@dataclass(frozen=True)
class Say:
    """Send C{text} to everyone, or to C{to} only."""

    text: str
    to: str | None = None


@dataclass(frozen=True)
class Me:
    """Send an action: the text C{* nick text} (docs/protocol.md section 10 maps IRC's
    ACTION to the same text)."""

    text: str


@dataclass(frozen=True)
class Who:
    """Ask who is in the current room."""


@dataclass(frozen=True)
class Join:
    """Join C{room} and make it the current room."""

    room: str


@dataclass(frozen=True)
class Part:
    """Leave C{room} (C{None}: the current room)."""

    room: str | None


@dataclass(frozen=True)
class Switch:
    """Make C{room} (C{None}: the default room) the current room."""

    room: str | None


@dataclass(frozen=True)
class Rooms:
    """List the rooms on the server."""


@dataclass(frozen=True)
class Topic:
    """Show the current room's topic (C{text} C{None}) or set it (empty: clear it)."""

    text: str | None


@dataclass(frozen=True)
class Register:
    """Register the nickname held, with a password asked for without echo."""


@dataclass(frozen=True)
class Quit:
    """Leave the chat."""


@dataclass(frozen=True)
class Help:
    """Show L{HELP}."""


@dataclass(frozen=True)
class Moderate:
    """A moderation command (C{action}: its name in docs/protocol.md section 14) about
    C{target}, a nickname or a ban mask, in the current room."""

    action: str
    target: str
    seconds: int | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Setting:
    """Switch the current room's C{topic-lock} or C{moderated} on or off."""

    action: str
    on: bool


@dataclass(frozen=True)
class Bans:
    """List the current room's bans."""


@dataclass(frozen=True)
class Redact:
    """Redact message C{id} of the current room."""

    id: int


@dataclass(frozen=True)
class Announce:
    """Say C{text} to everyone on the server."""

    text: str


@dataclass(frozen=True)
class Ids:
    """Show the ids of messages from now on, or stop."""


@dataclass(frozen=True)
class Mistake:
    """A line that cannot be carried out; C{reason} says why, for a person."""

    reason: str


Command = (
    Say
    | Me
    | Who
    | Join
    | Part
    | Switch
    | Rooms
    | Topic
    | Register
    | Quit
    | Help
    | Moderate
    | Setting
    | Bans
    | Redact
    | Announce
    | Ids
    | Mistake
)


def _room_argument(name: str, rest: str, *, optional: bool) -> str | Mistake | None:
    """The one C{#room} argument of C{/name}, C{None} when optional and absent, or what
    is wrong with it."""
    words = rest.split()
    usage = Mistake(f"usage: /{name} [#ROOM]" if optional else f"usage: /{name} #ROOM")
    if not words:
        return None if optional else usage
    if len(words) > 1 or not words[0].startswith("#"):
        return usage
    return words[0]


def _positive_number(word: str) -> int | None:
    """C{word} as a whole number above 0 (seconds, an id), or C{None} when it is not one."""
    return int(word) if word.isascii() and word.isdigit() and int(word) > 0 else None


def _moderation(name: str, rest: str) -> Command | None:
    """A moderation command (C{None} when C{name} is not one)."""
    words = rest.split()
    if name in MEMBER_ACTIONS:
        return Moderate(name, words[0]) if len(words) == 1 else Mistake(f"usage: /{name} NICK")
    if name == "kick":
        if not words:
            return Mistake("usage: /kick NICK [COMMENT]")
        comment = rest.strip()[len(words[0]) :].strip()
        return Moderate("kick", words[0], comment=comment or None)
    if name == "mute":
        seconds = _positive_number(words[1]) if len(words) == 2 else None
        if not 1 <= len(words) <= 2 or (len(words) == 2 and seconds is None):
            return Mistake("usage: /mute NICK [SECONDS]")
        return Moderate("mute", words[0], seconds=seconds)
    if name == "ban":
        if not words:
            return Mistake("usage: /ban MASK [SECONDS] [COMMENT]")
        after = rest.strip()[len(words[0]) :].strip()
        seconds = _positive_number(words[1]) if len(words) > 1 else None
        if seconds is not None:
            after = after[len(words[1]) :].strip()
        return Moderate("ban", words[0], seconds=seconds, comment=after or None)
    if name == "unban":
        return Moderate(name, words[0]) if len(words) == 1 else Mistake("usage: /unban MASK")
    if name == "redact":
        if len(words) != 1 or _positive_number(words[0]) is None:
            return Mistake("usage: /redact ID (/ids shows the ids)")
        return Redact(int(words[0]))
    if name in ("topic-lock", "moderated"):
        if words not in (["on"], ["off"]):
            return Mistake(f"usage: /{name} on|off")
        return Setting(name, words[0] == "on")
    if name == "announce":
        return Announce(rest.strip()) if rest.strip() else Mistake("usage: /announce TEXT")
    return None


def parse_command(line: str) -> Command | None:
    """What C{line} asks for; C{None} for a blank line, which sends nothing."""
    if not line.strip():
        return None
    if line.startswith("//"):
        return Say(line[1:])
    if not line.startswith("/"):
        return Say(line)
    typed, _, rest = line[1:].partition(" ")
    name = typed.casefold()
    if name == "msg":
        nick, _, text = rest.strip().partition(" ")
        if not nick or not text.strip():
            return Mistake("usage: /msg NICK TEXT")
        return Say(text, to=nick)
    if name == "me":
        if not rest.strip():
            return Mistake("usage: /me TEXT")
        return Me(rest.strip())
    if name in ("join", "part", "switch"):
        room = _room_argument(name, rest, optional=name != "join")
        if isinstance(room, Mistake):
            return room
        if name == "join":
            assert room is not None
            return Join(room)
        return Part(room) if name == "part" else Switch(room)
    if name == "topic":
        text = rest.strip()
        return Topic(None if not text else "" if text == CLEAR_TOPIC else text)
    moderation = _moderation(name, rest)
    if moderation is not None:
        return moderation
    simple: dict[str, Command] = {
        "who": Who(),
        "quit": Quit(),
        "help": Help(),
        "rooms": Rooms(),
        "register": Register(),
        "bans": Bans(),
        "ids": Ids(),
    }
    if name not in simple:
        return Mistake(f"unknown command /{typed}; /help lists the commands")
    if rest.strip():
        return Mistake(f"/{typed} takes no arguments")
    return simple[name]
