"""Reconnect after a real server restart: said, retried with backoff, no duplicate, no gap."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted

from chatproto.client.testing import start_server
from tests.client.fake_server import FakeServer, ScriptedConnection
from tests.client.processes import spawn_pipe_client
from tests.client.test_pipe import chat_from
from tests.loopback import connect


@pytest_twisted.ensureDeferred
async def test_rejoins_after_a_restart_with_no_duplicate_and_no_gap(tmp_path: Path) -> None:
    first = await start_server(tmp_path / "history.jsonl")
    port = first.port
    alice = await connect(port)
    await alice.join("alice")
    alice.send_json({"message": "m1"})
    bot = spawn_pipe_client("--nick", "bot", "127.0.0.1", str(port))
    await bot.output_line(lambda line: line.endswith("<alice> m1"), "m1")
    await first.stop()
    await bot.output_line(lambda line: "Welcome!" in line, "the welcome")

    bot.send("said while away\n")
    second = await start_server(tmp_path / "history.jsonl")
    side_door = second.port
    alice = await connect(side_door)
    await alice.join("alice")
    alice.send_json({"message": "m2"})
    alice.send_json({"message": "m3"})
    await chat_from(alice, "alice")
    await chat_from(alice, "alice")
    await second.listen(port)
    assert await chat_from(alice, "bot") == "said while away"
    alice.send_json({"message": "m4"})
    await bot.output_line(lambda line: line.endswith("<alice> m4"), "m4")
    bot.end_input()
    assert await bot.exit_status() == 0
    await second.stop()

    chat = [line.split("] ", 1)[1] for line in bot.lines() if "> m" in line or "<bot>" in line]
    assert "!!! Server closing in 0 seconds" in bot.lines()[2]
    assert chat == [
        "<alice> m1",
        "<alice> m2",
        "<alice> m3",
        "<bot> said while away",
        "<alice> m4",
    ]
    replayed = [line.startswith("(history)") for line in bot.lines() if "<alice> m" in line]
    assert replayed == [True, True, True, False]
    notices = bot.stderr.decode().splitlines()
    assert notices[0] == "chatproto-client: The server shut down."
    assert notices[1].startswith(f"chatproto-client: Reconnecting to 127.0.0.1:{port} in ")
    assert notices[-1] == f"chatproto-client: Connected to 127.0.0.1:{port} again."


def join(connection: ScriptedConnection, token: str) -> None:
    """READY, then a welcome carrying C{token} (last_id 3)."""
    connection.send_text("READY")
    connection.send_packet(
        {
            "nickname": "server",
            "timestamp": "2026-11-24T03:30:44.123Z",
            "event": "welcome",
            "message": "Welcome",
            "users": ["bot"],
            "last_id": 3,
            "first_id": 1,
            "resume_token": token,
        }
    )


@pytest_twisted.ensureDeferred
async def test_a_rejoin_carries_the_resume_token() -> None:
    server = FakeServer()
    port = await server.listen()
    try:
        bot = spawn_pipe_client("--nick", "bot", "127.0.0.1", str(port))
        first = await server.accept()
        first.send_text("HELLO")
        first.send_text("NICK")
        assert await first.next_frame() == "bot"
        join(first, "token-1")
        first.close()
        second = await server.accept()
        second.send_text("HELLO")
        second.send_text("NICK")
        assert await second.next_packet() == {"nickname": "bot", "since": 3, "token": "token-1"}
        join(second, "token-2")
        bot.end_input()
        assert await second.next_frame() == "BYE"
        second.close()
        assert await bot.exit_status() == 0
    finally:
        await server.stop()
