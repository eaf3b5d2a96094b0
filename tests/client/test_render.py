"""How received items look: `[HH:MM] nick: text` in local time, notices apart, escapes visible."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from chatproto.client.incoming import ChatMessage, classify
from chatproto.client.render import Level, LocalNotice, Marked, Numbered, plain, render

STAMP = "2026-11-24T03:30:44.123Z"


@pytest.fixture(autouse=True)
def india_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time UTC+05:30, so a test sees the conversion from the server's UTC."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def shown(packet: dict[str, Any], *, one_line: bool = False) -> str:
    return plain(render(classify(packet), one_line=one_line))


def chat(**fields: Any) -> dict[str, Any]:
    return {"id": 1, "timestamp": STAMP, "nickname": "bob", "message": "hi"} | fields


def notice(event: str, **fields: Any) -> dict[str, Any]:
    packet = {"nickname": "server", "timestamp": STAMP, "event": event, "message": "m"}
    return packet | fields


def test_live_message_in_local_time() -> None:
    assert shown(chat()) == "[09:00] <bob> hi"


def test_history_is_marked() -> None:
    assert shown(chat(history=True)) == "(history) [09:00] <bob> hi"


def test_private_message() -> None:
    assert shown(chat(to="al")) == "[09:00] <bob -> al> (private) hi"


def test_missing_time() -> None:
    assert shown(chat(timestamp="soon")) == "[--:--] <bob> hi"


def test_multi_line_message_is_indented_on_a_terminal_and_escaped_in_one_line() -> None:
    assert shown(chat(message="a\nb\tc")) == "[09:00] <bob> a\n    b    c"
    assert shown(chat(message="a\nb\tc"), one_line=True) == "[09:00] <bob> a\\nb\\tc"


def test_escape_sequences_in_nickname_and_text_are_shown_not_obeyed() -> None:
    line = render(classify(chat(nickname="\x1b[2Jx", message="\x1b]0;pwn\x07")))
    assert plain(line) == "[09:00] <\\x1b[2Jx> \\x1b]0;pwn\\x07"
    assert ("class:escaped", "\\x1b") in line


def test_notices() -> None:
    assert (
        shown(notice("welcome", users=["al", "bob"])) == "[09:00] *** Welcome! Online (2): al, bob"
    )
    assert shown(notice("who", users=["al"])) == "[09:00] *** Online (1): al"
    assert shown(notice("join", user="bob")) == "[09:00] *** bob joined"
    assert shown(notice("leave", user="bob", reason="bye")) == "[09:00] *** bob left"
    assert (
        shown(notice("leave", user="bob", reason="slow"))
        == "[09:00] *** bob was disconnected (too slow to keep up)"
    )
    assert shown(notice("leave", user="bob", reason="\x07")) == "[09:00] *** bob left (\\x07)"
    assert (
        shown(notice("error", code="too-long", message="at most 4096 bytes"))
        == "[09:00] !!! at most 4096 bytes (too-long)"
    )
    assert shown(notice("shutdown", message="Server closing in 5 seconds")) == (
        "[09:00] !!! Server closing in 5 seconds"
    )


def test_room_notices() -> None:
    assert shown(notice("welcome", room="#rust", users=["al"], topic="crabs")) == (
        "[09:00] *** Welcome to #rust! Online (1): al | Topic: crabs"
    )
    assert shown(notice("topic", room="#rust", user="al", topic="crabs")) == (
        "[09:00] *** al set the topic: crabs"
    )
    assert shown(notice("topic", user="al", topic="")) == "[09:00] *** al cleared the topic"
    assert shown(notice("leave", user="bob", reason="part")) == "[09:00] *** bob left the room"
    rooms = [
        {"room": "#chat", "users": 2, "topic": ""},
        {"room": "#rust", "users": 1, "topic": "x"},
    ]
    assert shown(notice("rooms", rooms=rooms)) == "[09:00] *** Rooms (2): #chat (2); #rust (1) x"


def test_moderation_notices() -> None:
    def said(event: str, **fields: Any) -> str:
        return shown(notice(event, **fields))

    assert said("welcome", users=["al", "bob"], operators=["bob"]) == (
        "[09:00] *** Welcome! Online (2): al, @bob"
    )
    assert said("leave", user="al", reason="kicked", by="bob", comment="spam") == (
        "[09:00] *** al was kicked by bob (spam)"
    )
    assert said("leave", user="al", reason="banned", by="bob") == "[09:00] *** al was banned by bob"
    assert said("moderation", action="mute", by="bob", user="al", seconds=60) == (
        "[09:00] *** bob muted al for 60 s"
    )
    assert said("moderation", action="ban", by="bob", mask="10.0.0.0/8", comment="bots") == (
        "[09:00] *** bob banned 10.0.0.0/8 (bots)"
    )
    assert said("moderation", action="op", by="bob", user="al") == (
        "[09:00] *** bob made an operator: al"
    )
    assert said("moderation", action="topic-lock", by="bob", on=True) == (
        "[09:00] *** bob locked the topic (only operators set it)"
    )
    assert said("moderation", action="moderated", by="bob", on=False) == (
        "[09:00] *** bob made the room unmoderated"
    )
    assert said("moderation", action="frob", by="bob", message="bob frobbed") == (
        "[09:00] *** bob frobbed"
    )
    assert said("redact", id=42, by="bob", comment="oops") == (
        "[09:00] *** bob redacted message #42 (oops)"
    )
    bans = [
        {"mask": "al", "by": "bob", "comment": "spam", "until": "2026-11-24T04:00:00Z"},
        {"mask": "10.0.0.0/8", "by": "bob", "until": None},
    ]
    assert said("bans", bans=bans) == (
        "[09:00] *** Bans (2): al by bob until 09:30 (spam); 10.0.0.0/8 by bob"
    )
    assert said("bans", bans=[]) == "[09:00] *** Bans (0)"
    announced = render(classify(notice("announce", message="restart at noon")))
    assert plain(announced) == "[09:00] !!! Announcement: restart at noon"
    assert "class:announce" in {style for style, _ in announced}


def test_ids_are_shown_when_asked() -> None:
    message = classify(chat(id=42))
    assert isinstance(message, ChatMessage)
    assert plain(render(Numbered(message))) == "[09:00] #42 <bob> hi"
    assert plain(render(Marked("#rust", Numbered(message)))) == "[#rust] [09:00] #42 <bob> hi"


def test_other_rooms_are_marked_with_their_name() -> None:
    message = classify(chat(room="#rust"))
    assert plain(render(Marked("#rust", message))) == "[#rust] [09:00] <bob> hi"
    assert plain(render(Marked(None, message))) == "[default] [09:00] <bob> hi"
    assert plain(render(Marked("#\x1b", message))).startswith("[#\\x1b] ")


def test_notices_look_different_from_chat() -> None:
    styles = {style for style, _ in render(classify(notice("join", user="bob")))}
    assert "class:join" in styles
    assert "class:text" not in styles
    error_styles = {style for style, _ in render(classify(notice("error", code="x")))}
    assert "class:error" in error_styles


def test_local_notice() -> None:
    assert plain(render(LocalNotice(Level.WARNING, "Connection lost."))) == "--- Connection lost."


@pytest.mark.parametrize("nickname", ["***", "!!!", "---", "*** bob", "(history)", "[09:00]"])
def test_no_nickname_can_pass_for_a_notice_or_a_status_line(nickname: str) -> None:
    line = shown(chat(nickname=nickname, message="bob joined"))
    assert line == f"[09:00] <{nickname}> bob joined"
    for impostor in ("[09:00] *** ", "[09:00] !!! ", "--- ", "(history) "):
        assert not line.startswith(impostor)
