"""What a person typed: a message or one of the slash commands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

HELP: Final = """\
Type a line and press Enter to send it to everyone.
  /msg NICK TEXT   send TEXT to NICK only
  /who             list who is online
  /quit            leave (Ctrl+D and Ctrl+C too)
  /help            show this help
  //TEXT           send TEXT that starts with a slash
Up and Down recall earlier lines; the usual line-editing keys work."""


@dataclass(frozen=True)
class Say:
    """Send C{text} to everyone, or to C{to} only."""

    text: str
    to: str | None = None


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


Command = Say | Who | Quit | Help | Mistake


def parse_command(line: str) -> Command | None:
    """What C{line} asks for; C{None} for a blank line, which sends nothing."""
    if not line.strip():
        return None
    if line.startswith("//"):
        return Say(line[1:])
    if not line.startswith("/"):
        return Say(line)
    name, _, rest = line[1:].partition(" ")
    if name == "msg":
        nick, _, text = rest.strip().partition(" ")
        if not nick or not text.strip():
            return Mistake("usage: /msg NICK TEXT")
        return Say(text, to=nick)
    simple: dict[str, Command] = {"who": Who(), "quit": Quit(), "help": Help()}
    if name not in simple:
        return Mistake(f"unknown command /{name}; /help lists the commands")
    if rest.strip():
        return Mistake(f"/{name} takes no arguments")
    return simple[name]
