"""The examples in docs/examples, run as real processes against a real server."""

from __future__ import annotations

import json
import signal
import sys
import textwrap
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol, serverFromString

from chatproto.client.api import ChatClient
from chatproto.client.testing import LoopbackServer, start_server
from chatproto.doors.websocket.protocol import ChatWebSocketFactory
from chatproto.doors.websocket.site import chat_site
from tests.certs import make_certificate
from tests.client.processes import ROOT, PipeClient, client_env, eventually, spawn_program
from tests.client.test_pipe import chat_from
from tests.conftest import RunningServer
from tests.loopback import RawClient, connect

EXAMPLES = ROOT / "docs" / "examples"
TWISTD = Path(sys.executable).parent / "twistd"


def run_example(name: str, *args: str, path: Path = ROOT) -> PipeClient:
    """Start docs/examples/C{name} with C{args}."""
    return spawn_program([sys.executable, str(EXAMPLES / name), *args], path=path)


async def said(server: LoopbackServer, nickname: str, *texts: str) -> None:
    """C{nickname} joins, says C{texts}, waits for their receipts and leaves."""
    speaker = await connect(server.port)
    await speaker.join(nickname)
    for text in texts:
        speaker.send_json({"message": text})
        await chat_from(speaker, nickname)
    speaker.send("BYE")
    await speaker.closed()


def logged(path: Path) -> list[dict[str, object]]:
    """The complete lines of the log bot's file."""
    if not path.exists():
        return []
    *complete, _ = path.read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in complete]


@pytest_twisted.ensureDeferred
async def test_the_echo_bot_answers_ping_and_leaves_on_sigterm() -> None:
    server = await start_server()
    try:
        bot = run_example("echo_bot.py", server.endpoint, "--nick", "pongbot")
        await bot.output_line(lambda line: line.startswith("joined as pongbot"), "the join")
        alice = await connect(server.port)
        await alice.join("alice")
        alice.send_json({"message": "!ping"})
        assert await chat_from(alice, "pongbot") == "pong"
        bot.transport.signalProcess(signal.SIGTERM)
        leave = await alice.until_event("leave")
        assert (leave["user"], leave["reason"]) == ("pongbot", "bye")
        assert await bot.exit_status() == 0
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_the_echo_bot_answers_in_the_room_it_was_asked_in() -> None:
    server = await start_server()
    try:
        bot = run_example(
            "echo_bot.py", server.endpoint, "--nick", "pongbot", "--room", "#rust", "--room", "#go"
        )
        await bot.output_line(lambda line: line.startswith("joined #go as pongbot"), "the joins")
        alice = await connect(server.port)
        await alice.join("alice")
        alice.send_json({"command": "join", "room": "#go"})
        await alice.until_event("welcome")
        for room in ("#go", None):
            alice.send_json({"message": "!ping"} | ({} if room is None else {"room": room}))
            while (pong := await alice.next_chat())["nickname"] != "pongbot":
                pass
            assert (pong.get("room"), pong["message"]) == (room, "pong")
        bot.transport.signalProcess(signal.SIGTERM)
        assert await bot.exit_status() == 0
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_the_echo_bot_says_why_it_cannot_join_a_room() -> None:
    server = await start_server()
    try:
        bot = run_example("echo_bot.py", server.endpoint, "--room", "not a room")
        assert await bot.exit_status() == 1
        [line] = bot.stderr.decode().splitlines()
        assert "cannot join not a room: " in line and "(bad-room)" in line
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_the_log_bot_logs_one_room_and_resumes_it(tmp_path: Path) -> None:
    log = tmp_path / "rust.jsonl"
    server = await start_server()
    try:
        alice = ChatClient("alice")
        await alice.connect(server.endpoint)
        await alice.join("#rust")
        await alice.send("r1", room="#rust")
        bot = run_example("log_bot.py", server.endpoint, str(log), "--room", "#rust")
        await bot.output_line(lambda line: line.startswith("logging #rust"), "the join")
        await alice.send("not logged: the default room")
        await alice.send("r2", room="#rust")
        await eventually(lambda: len(logged(log)) == 2, "r1 and r2 logged")
        bot.transport.signalProcess(signal.SIGKILL)
        await bot.ended
        await alice.send("r3", room="#rust")
        bot = run_example("log_bot.py", server.endpoint, str(log), "--room", "#rust")
        await bot.output_line(lambda line: line.startswith("logging #rust"), "the join")
        await alice.send("r4", room="#rust")
        await eventually(lambda: len(logged(log)) == 4, lambda: f"four lines in {logged(log)}")
        bot.transport.signalProcess(signal.SIGTERM)
        assert await bot.exit_status() == 0
        await alice.leave()
    finally:
        await server.stop()
    lines = logged(log)
    assert [(line["id"], line["message"]) for line in lines] == [
        (1, "r1"),
        (2, "r2"),
        (3, "r3"),
        (4, "r4"),
    ]


@pytest_twisted.ensureDeferred
async def test_the_echo_bot_says_in_one_line_when_nothing_listens() -> None:
    server = await start_server()
    endpoint = server.endpoint
    await server.stop()
    bot = run_example("echo_bot.py", endpoint)
    assert await bot.exit_status() == 1
    [line] = bot.stderr.decode().splitlines()
    assert f"cannot connect to {endpoint}: " in line


@pytest_twisted.ensureDeferred
async def test_the_log_bot_resumes_after_being_killed_without_gaps_or_duplicates(
    tmp_path: Path,
) -> None:
    log = tmp_path / "room.jsonl"
    server = await start_server()
    try:
        await said(server, "alice", "m1", "m2")
        bot = run_example("log_bot.py", server.endpoint, str(log))
        await eventually(lambda: len(logged(log)) == 2, "m1 and m2 logged")
        bot.transport.signalProcess(signal.SIGKILL)
        await bot.ended
        await said(server, "alice", "m3", "m4")
        with log.open("a", encoding="utf-8") as torn:
            torn.write('{"id": 99, "timest')  # killed in the middle of a line

        bot = run_example("log_bot.py", server.endpoint, str(log))
        await said(server, "alice", "m5")
        await eventually(lambda: len(logged(log)) == 5, lambda: f"five lines in {logged(log)}")
        bot.transport.signalProcess(signal.SIGTERM)
        assert await bot.exit_status() == 0
    finally:
        await server.stop()
    lines = logged(log)
    assert [line["message"] for line in lines] == ["m1", "m2", "m3", "m4", "m5"]
    ids = [int(str(line["id"])) for line in lines]
    assert ids == sorted(set(ids))
    assert {line["nickname"] for line in lines} == {"alice"}


@pytest_twisted.ensureDeferred
async def test_the_tac_runs_a_bot_beside_the_server(tmp_path: Path) -> None:
    socket = tmp_path / "chat.sock"
    env = {"CHAT_LISTEN": f"unix:{socket}", "CHAT_ENDPOINT": f"unix:{socket}"}
    twistd = spawn_program(
        [str(TWISTD), "--pidfile=", "-ny", str(EXAMPLES / "bot.tac")],
        env=client_env(**env),
        path=tmp_path,
    )
    alice = await eventually_connected(socket)
    welcome = (await alice.join("alice"))[-1]
    if "echobot" not in welcome["users"]:
        assert (await alice.until_event("join"))["user"] == "echobot"
    alice.send_json({"message": "!ping"})
    assert await chat_from(alice, "echobot") == "pong"
    twistd.transport.signalProcess(signal.SIGTERM)
    leave = await alice.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("echobot", "bye")
    alice.send("BYE")
    await alice.closed()
    await twistd.ended


async def eventually_connected(socket: Path) -> RawClient:
    """A raw client on the Unix socket C{socket}, once something listens there."""
    await eventually(socket.exists, f"a server listening on {socket}")
    endpoint = UNIXClientEndpoint(reactor, str(socket))
    return await connectProtocol(endpoint, RawClient())


@pytest_twisted.ensureDeferred
async def test_the_echo_bot_over_wss_checks_the_certificate(
    chat_server: RunningServer, tmp_path: Path
) -> None:
    cert, key = make_certificate(tmp_path)
    site = chat_site(ChatWebSocketFactory(chat_server.room))
    listening = await serverFromString(
        reactor, f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"
    ).listen(site)
    url = f"wss://localhost:{listening.getHost().port}/chat"
    try:
        untrusting = run_example("echo_bot.py", url)
        assert await untrusting.exit_status() == 1
        assert "certificate verify failed" in untrusting.stderr.decode()

        trusting = spawn_program(
            [sys.executable, str(EXAMPLES / "echo_bot.py"), url, "--nick", "wssbot"],
            env=client_env(SSL_CERT_FILE=str(cert)),
        )
        await trusting.output_line(lambda line: line.startswith("joined as wssbot"), "the join")
        trusting.transport.signalProcess(signal.SIGTERM)
        assert await trusting.exit_status() == 0
    finally:
        await listening.stopListening()


def fifteen_line_bot() -> str:
    """The code of docs/client-api.md's "A bot in 15 lines", as written there."""
    doc = (ROOT / "docs" / "client-api.md").read_text(encoding="utf-8")
    section = doc.split("\n## A bot in 15 lines\n", 1)[1].split("\n## ", 1)[0]
    block = section.split(":\n\n", 1)[1].split("\n\n`", 1)[0]
    return textwrap.dedent(block) + "\n"


@pytest_twisted.ensureDeferred
async def test_the_bot_in_the_guide_runs_as_written(tmp_path: Path) -> None:
    code = fifteen_line_bot()
    assert len([line for line in code.splitlines() if line.strip()]) <= 15
    script = tmp_path / "pingbot.py"
    script.write_text(code, encoding="utf-8")
    server = await start_server()
    try:
        alice = await connect(server.port)
        await alice.join("alice")
        bot = spawn_program([sys.executable, str(script), server.endpoint], path=tmp_path)
        assert (await alice.until_event("join"))["user"] == "pingbot"
        alice.send_json({"message": "!ping"})
        assert await chat_from(alice, "pingbot") == "pong"
        bot.transport.signalProcess(signal.SIGINT)
        leave = await alice.until_event("leave")
        assert (leave["user"], leave["reason"]) == ("pingbot", "bye")
        assert await bot.exit_status() == 0
    finally:
        await server.stop()
