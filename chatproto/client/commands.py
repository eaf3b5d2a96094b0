"""What a person typed: a message or one of the slash commands (in any letter case)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

HELP: Final = """\
Type a line and press Enter to send it to everyone.
  /msg NICK TEXT   send TEXT to NICK only
  /me TEXT         send "* yournick TEXT" (an action, as IRC shows it)
  /who             list who is online
  /quit            leave (Ctrl+D and Ctrl+C too)
  /help            show this help
  //TEXT           send TEXT that starts with a slash
Commands work in any case (/MSG, /Who). Tab completes nicknames and commands.
Up and Down recall earlier lines; the usual line-editing keys work."""

#: Every command's name, for completion.
COMMAND_NAMES: Final = ("help", "me", "msg", "quit", "who")


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
    """Ask who is online."""


@dataclass(frozen=True)
class Quit:
    """Leave the chat."""


@dataclass(frozen=True)
class Help:
    """Show L{HELP}."""


@dataclass(frozen=True)
class Mistake:
    """A line that cannot be carried out; C{reason} says why, for a person."""

    reason: str


Command = Say | Me | Who | Quit | Help | Mistake


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
    simple: dict[str, Command] = {"who": Who(), "quit": Quit(), "help": Help()}
    if name not in simple:
        return Mistake(f"unknown command /{typed}; /help lists the commands")
    if rest.strip():
        return Mistake(f"/{typed} takes no arguments")
    return simple[name]
