"""What a person types becomes a message or a command."""

from __future__ import annotations

import pytest

from chatproto.client.commands import (
    Announce,
    Bans,
    Help,
    Ids,
    Join,
    Me,
    Mistake,
    Moderate,
    Part,
    Quit,
    Redact,
    Rooms,
    Say,
    Setting,
    Switch,
    Topic,
    Who,
    parse_command,
)


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("hello", Say("hello")),
        ("  spaced  ", Say("  spaced  ")),
        ("/who", Who()),
        ("/quit", Quit()),
        ("/help", Help()),
        ("/msg bob hi there", Say("hi there", to="bob")),
        ("//etc/passwd", Say("/etc/passwd")),
        ("/WHO", Who()),
        ("/Quit", Quit()),
        ("/MSG bob hi", Say("hi", to="bob")),
        ("/me waves", Me("waves")),
        ("/Me  waves twice ", Me("waves twice")),
        ("", None),
        ("   ", None),
        ("/join #rust", Join("#rust")),
        ("/JOIN  #rust ", Join("#rust")),
        ("/part", Part(None)),
        ("/part #rust", Part("#rust")),
        ("/switch", Switch(None)),
        ("/switch #rust", Switch("#rust")),
        ("/rooms", Rooms()),
        ("/topic", Topic(None)),
        ("/topic crabs and  more ", Topic("crabs and  more")),
        ("/topic -", Topic("")),
        ("/kick bob", Moderate("kick", "bob")),
        ("/KICK bob  stop  that ", Moderate("kick", "bob", comment="stop  that")),
        ("/mute bob", Moderate("mute", "bob")),
        ("/mute bob 60", Moderate("mute", "bob", seconds=60)),
        ("/unmute bob", Moderate("unmute", "bob")),
        ("/ban 10.0.0.0/8", Moderate("ban", "10.0.0.0/8")),
        ("/ban bob 600 spam", Moderate("ban", "bob", seconds=600, comment="spam")),
        ("/ban account:bob go away", Moderate("ban", "account:bob", comment="go away")),
        ("/unban bob", Moderate("unban", "bob")),
        ("/bans", Bans()),
        ("/redact 42", Redact(42)),
        ("/op bob", Moderate("op", "bob")),
        ("/deop bob", Moderate("deop", "bob")),
        ("/voice bob", Moderate("voice", "bob")),
        ("/devoice bob", Moderate("devoice", "bob")),
        ("/announce restart at noon ", Announce("restart at noon")),
        ("/ids", Ids()),
        ("/topic-lock on", Setting("topic-lock", True)),
        ("/moderated off", Setting("moderated", False)),
    ],
)
def test_parse(line: str, command: object) -> None:
    assert parse_command(line) == command


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("/msg", "usage: /msg NICK TEXT"),
        ("/msg bob", "usage: /msg NICK TEXT"),
        ("/msg bob   ", "usage: /msg NICK TEXT"),
        ("/me ", "usage: /me TEXT"),
        ("/Who me", "/Who takes no arguments"),
        ("/FROB x", "unknown command /FROB; /help lists the commands"),
        ("/join", "usage: /join #ROOM"),
        ("/join rust", "usage: /join #ROOM"),
        ("/join #a #b", "usage: /join #ROOM"),
        ("/part rust", "usage: /part [#ROOM]"),
        ("/switch #a b", "usage: /switch [#ROOM]"),
        ("/rooms all", "/rooms takes no arguments"),
        ("/kick", "usage: /kick NICK [COMMENT]"),
        ("/mute bob soon", "usage: /mute NICK [SECONDS]"),
        ("/mute bob 0", "usage: /mute NICK [SECONDS]"),
        ("/op", "usage: /op NICK"),
        ("/deop bob carol", "usage: /deop NICK"),
        ("/ban", "usage: /ban MASK [SECONDS] [COMMENT]"),
        ("/unban", "usage: /unban MASK"),
        ("/redact x", "usage: /redact ID (/ids shows the ids)"),
        ("/announce  ", "usage: /announce TEXT"),
        ("/bans #rust", "/bans takes no arguments"),
        ("/moderated", "usage: /moderated on|off"),
        ("/topic-lock yes", "usage: /topic-lock on|off"),
    ],
)
def test_mistakes_are_explained(line: str, reason: str) -> None:
    assert parse_command(line) == Mistake(reason)
