"""The interactive client in a real terminal (tmux), as a person uses it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest_twisted

from chatproto.client.api import ChatClient
from chatproto.client.testing import start_server
from tests.client.fake_server import FakeServer
from tests.client.processes import Tmux, client_argv
from tests.client.test_pipe import alice_said, chat_from
from tests.conftest import RunningServer
from tests.loopback import connect


def prompt_line(screen: list[str]) -> str:
    """Where the prompt and the half-typed input are: the last non-blank line above the
    status line (if one is showing)."""
    return [line for line in screen if line and not line.startswith("Reconnecting to ")][-1]


@pytest_twisted.ensureDeferred
async def test_join_through_retry_chat_while_typing_and_leave_with_ctrl_c(
    chat_server: RunningServer, tmux: Tmux
) -> None:
    alice = await alice_said(chat_server.port, "before you came")

    tmux.start(client_argv("127.0.0.1", str(chat_server.port)), TZ="UTC", LC_ALL="C.UTF-8")
    await tmux.shows_line("Nickname:")
    tmux.enter("alice")
    await tmux.shows_line("--- The nickname alice is taken.")
    tmux.enter("carol")
    screen = await tmux.shows_line("*** Welcome! Online (2): alice, carol")
    history = next(i for i, line in enumerate(screen) if "<alice> before you came" in line)
    assert screen[history].startswith("(history) [")
    assert history < next(i for i, line in enumerate(screen) if "Welcome!" in line)
    await alice.until_event("join")

    half = "half typed é 日本語 ✓"
    tmux.type(half)
    await tmux.shows(lambda s: prompt_line(s) == f"carol> {half}", "the half-typed line")
    for n in range(5):
        alice.send_json({"message": f"incoming {n}"})
    # Printing above the prompt erases and redraws it: wait for the redrawn screen.
    screen = await tmux.shows(
        lambda s: (
            any("<alice> incoming 4" in line for line in s) and prompt_line(s) == f"carol> {half}"
        ),
        "incoming 4 above the half-typed line",
    )
    incoming = [line.split("] ", 1)[1] for line in screen if "<alice> incoming" in line]
    assert incoming == [f"<alice> incoming {n}" for n in range(5)]

    tmux.enter(" sent")
    echo = await alice.next_chat()
    while echo["nickname"] == "alice":
        echo = await alice.next_chat()
    assert (echo["nickname"], echo["message"]) == ("carol", f"{half} sent")
    screen = await tmux.shows_line(f"<carol> {half} sent")
    assert not any(line.startswith(f"carol> {half}") for line in screen)

    tmux.keys("Up")
    await tmux.shows(lambda s: prompt_line(s) == f"carol> {half} sent", "the recalled line")
    tmux.keys("C-u")
    tmux.enter("/WHO")
    await tmux.shows_line("*** Online (2): alice, carol")

    tmux.type("/me waves at AL")
    tmux.keys("Tab")
    await tmux.shows(lambda s: prompt_line(s) == "carol> /me waves at alice", "the completion")
    tmux.keys("Enter")
    await tmux.shows_line("<carol> * carol waves at alice")

    tmux.keys("C-c")
    leave = await alice.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("carol", "bye")
    await tmux.shows_line("[exit status 0]")


@pytest_twisted.ensureDeferred
async def test_a_hostile_server_cannot_drive_the_terminal(tmux: Tmux) -> None:
    server = FakeServer()
    port = await server.listen()
    try:
        tmux.start(client_argv("--nick", "eve", "127.0.0.1", str(port)), TZ="UTC")
        mallory = await server.accept()
        await tmux.shows_line("--- Connecting to")
        title = tmux.title()
        mallory.send_text("HELLO")
        mallory.send_text("NICK")
        # The JSON form: a terminal can ask for a password if the server wants one.
        assert await mallory.next_frame() == '{"nickname":"eve"}'
        mallory.send_text("READY")
        mallory.send_packet(
            {
                "id": 1,
                "timestamp": "2026-11-24T03:30:44.123Z",
                "nickname": "\x1b]0;PWNED\x07mallory",
                "message": "\x1b[2J\x1b[H\x1b[31mred\x1b[0m \x9b2J \u202eevil",
            }
        )
        mallory.send_raw(b"\x1b]2;raw title\x07\xff")
        mallory.send_text("\x1bc")
        mallory.send_packet(
            {
                "nickname": "server",
                "timestamp": "2026-11-24T03:30:45.000Z",
                "event": "welcome",
                "message": "hi",
                "users": ["\x1b[8mghost", "eve"],
            }
        )
        screen = await tmux.shows_line("*** Welcome!")
        assert (
            "[03:30] <\\x1b]0;PWNED\\x07mallory> \\x1b[2J\\x1b[H\\x1b[31mred\\x1b[0m \\x9b2J"
            " \\u202eevil"
        ) in screen
        assert "!!! The server sent something unreadable: b'\\x1b]2;raw title\\x07\\xff'" in screen
        assert "!!! The server sent something unreadable: \\x1bc" in screen
        assert "[03:30] *** Welcome! Online (2): \\x1b[8mghost, eve" in screen
        assert screen[0].startswith("--- Connecting to")
        assert tmux.title() == title
        assert re.search(r"\x1b\[[\d;]*[39]\dm", tmux.painted()), "colours on a terminal"

        tmux.keys("C-d")
        assert await mallory.next_frame() == "BYE"
        mallory.close()
        await tmux.shows_line("[exit status 0]")
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_after_a_restart_rejoins_and_asks_when_the_nickname_was_taken(
    tmp_path: Path, tmux: Tmux
) -> None:
    history = tmp_path / "history.jsonl"
    first = await start_server(history)
    port = first.port
    argv = client_argv("--nick", "carol", "127.0.0.1", str(port))
    tmux.start(argv, TZ="UTC", NO_COLOR="1")
    await tmux.shows_line("*** Welcome! Online (1): carol")
    await first.stop()
    await tmux.shows_line("--- The server shut down.")
    tmux.enter("said offline")
    await tmux.shows_line("--- Not connected; sent once we are back: said offline")
    tmux.type("draft")
    await tmux.shows(lambda s: prompt_line(s) == "carol> draft", "the draft")
    reconnecting = f"Reconnecting to 127.0.0.1:{port} in "
    screen = await tmux.shows_line("(attempt 2)...")
    assert [line for line in screen if reconnecting in line] == [
        next(line for line in screen if "(attempt 2)" in line)
    ], "one status line, updated"

    second = await start_server(history)
    thief = await connect(second.port)
    await thief.join("carol")
    await second.listen(port)
    await tmux.shows_line("--- The nickname carol is taken.")
    await tmux.shows(lambda s: prompt_line(s) == "Nickname:", "the nickname question")
    tmux.enter("caroline")
    await tmux.shows_line("*** Welcome! Online (2): carol, caroline")
    await tmux.shows(lambda s: prompt_line(s) == "caroline> draft", "the draft, back")
    tmux.keys("Enter")
    await tmux.shows_line("] <caroline> draft")
    said = []
    while len(said) < 2:
        packet = await thief.next_chat()
        if packet["nickname"] == "caroline":
            said.append(packet["message"])
    assert said == ["said offline", "draft"], "the pending line went first, once"
    assert "\x1b[3" not in tmux.painted(), "NO_COLOR is set: no colours"

    tmux.keys("C-d")
    leave = await thief.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("caroline", "bye")
    await tmux.shows_line("[exit status 0]")
    await second.stop()


@pytest_twisted.ensureDeferred
async def test_rooms_join_switch_and_lines_of_other_rooms_marked(
    chat_server: RunningServer, tmux: Tmux
) -> None:
    alice = await connect(chat_server.port)
    await alice.join("alice")
    tmux.start(client_argv("--nick", "carol", "127.0.0.1", str(chat_server.port)), TZ="UTC")
    await tmux.shows_line("*** Welcome! Online (2): alice, carol")

    tmux.enter("/join #rust")
    await tmux.shows_line("*** Welcome to #rust! Online (1): @carol")  # its creator operates it
    await tmux.shows(lambda s: prompt_line(s) == "carol #rust>", "the room in the prompt")
    tmux.enter("hello rust")
    await tmux.shows_line("] <carol> hello rust")
    alice.send_json({"command": "join", "room": "#rust"})
    replayed = await alice.next_chat()
    assert (replayed["room"], replayed["message"]) == ("#rust", "hello rust")
    alice.send_json({"message": "in the default room"})
    await tmux.shows_line("[default] [")
    screen = tmux.screen()
    assert any(
        re.match(r"\[default\] \[\d\d:\d\d\] <alice> in the default room", line) for line in screen
    )

    tmux.keys("M-1")
    await tmux.shows(lambda s: prompt_line(s) == "carol>", "the default room's prompt")
    tmux.enter("back home")
    home = await chat_from(alice, "carol")
    assert home == "back home"
    alice.send_json({"message": "crabs!", "room": "#rust"})
    await tmux.shows_line("[#rust] [")
    tmux.type("/switch #R")
    tmux.keys("Tab")
    await tmux.shows(lambda s: prompt_line(s) == "carol> /switch #rust", "the room completed")
    tmux.keys("Enter")
    await tmux.shows(lambda s: prompt_line(s) == "carol #rust>", "back in #rust")
    tmux.enter("/topic crabs only")
    await tmux.shows_line("*** carol set the topic: crabs only")
    tmux.enter("/rooms")
    await tmux.shows_line("*** Rooms (2): #chat (2); #rust (2) crabs only")
    tmux.enter("/part")
    await tmux.shows_line("--- Talking in the default room now.")
    leave = await alice.until_event("leave")
    assert (leave["user"], leave["room"], leave["reason"]) == ("carol", "#rust", "part")

    tmux.keys("C-d")
    await tmux.shows_line("[exit status 0]")


@pytest_twisted.ensureDeferred
async def test_a_registered_nickname_asks_for_the_password_without_echo(tmux: Tmux) -> None:
    server = FakeServer()
    port = await server.listen()
    try:
        tmux.start(client_argv("--nick", "alice", "127.0.0.1", str(port)), TZ="UTC")
        peer = await server.accept()
        peer.send_text("HELLO")
        peer.send_text("NICK")
        assert await peer.next_frame() == '{"nickname":"alice"}'
        error = {"nickname": "server", "timestamp": "2026-01-01T00:00:00.000Z", "event": "error"}
        peer.send_packet(error | {"code": "account-required", "message": "alice is registered"})
        peer.send_text("RETRY")
        await tmux.shows_line("Password:")
        tmux.type("secret words")
        await tmux.shows(lambda s: prompt_line(s) == "Password: ************", "the stars")
        tmux.keys("Enter")
        sent = await peer.next_frame()
        assert sent == '{"nickname":"alice","password":"secret words"}'
        assert "secret words" not in tmux.painted()
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_an_operator_moderates_from_the_terminal(tmux: Tmux) -> None:
    server = await start_server()
    bob = ChatClient("bob")
    try:
        argv = client_argv("--nick", "alice", "127.0.0.1", str(server.port))
        tmux.start(argv, TZ="UTC", LC_ALL="C.UTF-8")
        await tmux.shows_line("*** Welcome!")
        tmux.enter("/join #rust")
        await tmux.shows_line("--- Talking in #rust now.")
        await bob.connect(server.endpoint)
        await bob.join("#rust")
        tmux.enter("/ids")
        await tmux.shows_line("--- Message ids are shown")
        said = await bob.send("hello", room="#rust")
        await tmux.shows_line(f"#{said.id} <bob> hello")
        tmux.enter("/who")
        await tmux.shows_line("*** Online (2): @alice, bob")
        tmux.enter("/mute bob 30")
        await tmux.shows_line("*** alice muted bob for 30 s")
        tmux.enter("/kick bob bye now")
        await tmux.shows_line("*** bob was kicked by alice (bye now)")
        tmux.enter("/announce hello all")
        await tmux.shows_line("(not-permitted)")  # only server operators announce
        tmux.keys("C-d")
        await tmux.shows_line("[exit status 0]")
    finally:
        await bob.leave()
        await server.stop()
