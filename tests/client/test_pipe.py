"""Pipe mode against the real server: a bot is a shell pipeline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString

from tests.certs import make_certificate
from tests.client.processes import spawn_pipe_client
from tests.conftest import RunningServer
from tests.loopback import RawClient, connect

LINE = re.compile(r"^\[\d\d:\d\d\] ")


async def alice_said(port: int, text: str) -> RawClient:
    """alice, joined on C{port}, once the server accepted her message C{text}."""
    alice = await connect(port)
    await alice.join("alice")
    alice.send_json({"message": text})
    await alice.next_chat()
    return alice


async def chat_from(raw: RawClient, nickname: str) -> str:
    """The text of the next chat packet C{raw} receives from C{nickname}."""
    while True:
        packet = await raw.next_chat()
        if packet["nickname"] == nickname:
            return str(packet["message"])


@pytest_twisted.ensureDeferred
async def test_lines_in_messages_out_bye_after_everything_was_sent(
    chat_server: RunningServer,
) -> None:
    alice = await connect(chat_server.port)
    await alice.join("alice")
    bot = spawn_pipe_client("--nick", "bot", "127.0.0.1", str(chat_server.port))
    await alice.until_event("join")

    bot.send("first line\n")
    assert await chat_from(alice, "bot") == "first line"
    alice.send_json({"message": "hello\x20bot\nsecond line of it"})
    await bot.output_line(lambda line: "<alice> hello bot" in line, "alice's message")

    bot.send("é 日本語\r\n\n/who is literal\n" + "".join(f"burst {n}\n" for n in range(30)))
    bot.end_input()
    assert await bot.exit_status() == 0
    received = [await chat_from(alice, "bot") for _ in range(32)]
    assert received == ["é 日本語", "/who is literal"] + [f"burst {n}" for n in range(30)]
    leave = await alice.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("bot", "bye")

    lines = bot.lines()
    assert lines[0] == "[" + lines[0][1:6] + "] *** Welcome! Online (2): alice, bot"
    assert all(LINE.match(line) for line in lines)
    assert not any("!!!" in line for line in lines), "rate limits are handled, not shown"
    assert any(line.endswith("<alice> hello bot\\nsecond line of it") for line in lines)
    assert sum(line.endswith("<bot> burst 29") for line in lines) == 1
    assert bot.stderr == b""


@pytest_twisted.ensureDeferred
async def test_json_lines(chat_server: RunningServer) -> None:
    await alice_said(chat_server.port, "old news")
    bot = spawn_pipe_client("--json", "--nick", "bot", "127.0.0.1", str(chat_server.port))
    bot.send("hi\n")
    bot.end_input()
    assert await bot.exit_status() == 0
    packets = [json.loads(line) for line in bot.lines()]
    assert [p.get("message") for p in packets if "event" not in p] == ["old news", "hi"]
    assert packets[0]["history"] is True
    assert [p["event"] for p in packets if "event" in p] == ["welcome"]


@pytest_twisted.ensureDeferred
async def test_a_taken_nickname_ends_pipe_mode_non_zero(chat_server: RunningServer) -> None:
    alice = await connect(chat_server.port)
    await alice.join("alice")
    bot = spawn_pipe_client("--nick", "ALICE", "127.0.0.1", str(chat_server.port))
    assert await bot.exit_status() == 1
    assert bot.stderr.decode() == "chatproto-client: The nickname ALICE is taken.\n"


@pytest_twisted.ensureDeferred
async def test_no_reconnect_ends_non_zero_when_the_server_goes(
    chat_server: RunningServer,
) -> None:
    bot = spawn_pipe_client("--no-reconnect", "--nick", "bot", "127.0.0.1", str(chat_server.port))
    await bot.output_line(lambda line: "Welcome!" in line, "the welcome")
    chat_server.room.close_all()
    assert await bot.exit_status() == 1
    assert bot.stderr.decode() == (
        "chatproto-client: Connection lost (closed by the server);"
        " not reconnecting (--no-reconnect)\n"
    )


@pytest_twisted.ensureDeferred
async def test_tls_with_a_private_ca(chat_server: RunningServer, tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    listening = await serverFromString(
        reactor, f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"
    ).listen(chat_server.factory)
    port = str(listening.getHost().port)
    try:
        bot = spawn_pipe_client("--tls", "--ca", str(cert), "--nick", "bot", "127.0.0.1", port)
        bot.send("over tls\n")
        bot.end_input()
        assert await bot.exit_status() == 0
        assert bot.lines()[-1].endswith("] <bot> over tls")

        untrusting = spawn_pipe_client("--tls", "--nick", "bot", "127.0.0.1", port)
        assert await untrusting.exit_status() == 1
        [complaint] = untrusting.stderr.decode().splitlines()
        assert complaint.startswith(
            f"chatproto-client: the connection to 127.0.0.1:{port} ended before we joined ("
        )
        assert "certificate verify failed" in complaint
    finally:
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_a_bot_on_a_unix_socket_without_the_history(
    chat_server: RunningServer, tmp_path: Path
) -> None:
    alice = await alice_said(chat_server.port, "old news")
    socket_path = tmp_path / "chat.sock"
    listening = await serverFromString(reactor, f"unix:{socket_path}").listen(chat_server.factory)
    try:
        bot = spawn_pipe_client("--no-history", "--nick", "bot", f"unix:{socket_path}")
        bot.send("hi\n")
        bot.end_input()
        assert await bot.exit_status() == 0
        assert await chat_from(alice, "bot") == "hi"
        [welcome, said] = [line.split("] ", 1)[1] for line in bot.lines()]
        assert (welcome, said) == ("*** Welcome! Online (2): alice, bot", "<bot> hi")
    finally:
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_room_sends_every_line_to_that_room_and_json_names_the_room(
    chat_server: RunningServer,
) -> None:
    alice = await connect(chat_server.port)
    await alice.join("alice")
    alice.send_json({"command": "join", "room": "#ops"})
    await alice.until_event("welcome")
    bot = spawn_pipe_client(
        "--json", "--room", "#ops", "--nick", "bot", "127.0.0.1", str(chat_server.port)
    )
    while (await alice.until_event("join")).get("room") != "#ops":
        pass
    bot.send("deploying\n")
    deploying = await alice.next_chat()
    assert (deploying["nickname"], deploying["room"], deploying["message"]) == (
        "bot",
        "#ops",
        "deploying",
    )
    alice.send_json({"message": "in the default room"})
    alice.send_json({"message": "ack", "room": "#ops"})
    await bot.output_line(lambda line: '"ack"' in line, "alice's ack")
    bot.end_input()
    assert await bot.exit_status() == 0
    said = [json.loads(line) for line in bot.lines()]
    chat = [(p.get("room"), p["message"]) for p in said if "event" not in p]
    assert chat == [("#ops", "deploying"), (None, "in the default room"), ("#ops", "ack")]


@pytest_twisted.ensureDeferred
async def test_a_room_the_server_refuses_ends_pipe_mode_non_zero(
    chat_server: RunningServer,
) -> None:
    bot = spawn_pipe_client("--room", "#a,b", "--nick", "bot", "127.0.0.1", str(chat_server.port))
    bot.send("never sent\n")
    assert await bot.exit_status() == 1
    assert "cannot join #a,b: " in bot.stderr.decode()
    assert "(bad-room)" in bot.stderr.decode()
