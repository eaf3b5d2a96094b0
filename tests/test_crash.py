"""Crashes (issue 4, item 4): SIGKILL the real `twistd chat` while messages flow.

docs/protocol.md section 6: every accepted message is stored before anyone sees it,
so after a crash and a restart every message any client received is replayable
with the same id, timestamp, nickname and text; a torn last line is cut before
anything is appended; and nothing appended after that repair is lost either.

These tests run the installed plugin (`make install` after changing chatproto/).
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import DeferredList
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ProcessDone, ProcessExitedAlready, ProcessTerminated
from twisted.internet.task import deferLater

from chatproto.fdlimit import raise_open_file_limit
from tests.loopback import RawClient, connect
from tests.test_twistd import TwistdProcess, start_twistd

#: Options of every server here: no rate limit, so the clients can flood; quick SIGINT.
OPTIONS = ("--rate", "0", "--shutdown-grace", "0")
#: Messages each talker keeps in flight, unechoed: some are always in flight at the kill.
WINDOW = 8
#: The kill comes once the first talker has received this many messages.
KILL_AFTER = 150
#: How long a reconnect storm may take until every client is greeted.
STORM_SECONDS = 3.0
#: What a crash mid-append could leave: a record without its end and newline.
TORN = b'{"id":999999,"timestamp":"2026-11-24T03:30:44.123Z","nickname":"ghost","mess'


class Talker:
    """A joined client that keeps L{WINDOW} messages in flight and records every chat packet."""

    def __init__(self, client: RawClient, nickname: str) -> None:
        self.client = client
        self.nickname = nickname
        self.sent = 0
        self.echoed = 0
        self.chats: list[dict[str, Any]] = []

    def top_up(self) -> None:
        """Send messages until L{WINDOW} of them are waiting for their echo."""
        while self.sent - self.echoed < WINDOW:
            self.client.send_json({"message": f"{self.nickname} says {self.sent}"})
            self.sent += 1

    def record(self, packet: Any) -> None:
        """Keep a received chat packet (notices are not stored, so they are not kept)."""
        if isinstance(packet, dict) and "id" in packet:
            self.chats.append(packet)
            if packet["nickname"] == self.nickname:
                self.echoed += 1

    def take_queued(self) -> None:
        """Record every frame already received, without waiting."""
        while self.client.frames.pending:
            self.record(self.client.frames.pending.pop(0))


def signal_process(server: TwistdProcess, name: str) -> None:
    """Send the signal C{name} ("KILL", "INT") to the server process."""
    assert server.transport is not None
    server.transport.signalProcess(name)


@pytest.fixture
def twistd(tmp_path: Path) -> Iterator[Callable[..., TwistdProcess]]:
    """Start servers in tmp_path with L{OPTIONS}; any still running at the end is killed."""
    started: list[TwistdProcess] = []

    def start(*extra: str) -> TwistdProcess:
        server = start_twistd(tmp_path, *OPTIONS, *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        if not server.ended.called and server.transport is not None:
            with contextlib.suppress(ProcessExitedAlready):
                server.transport.signalProcess("KILL")
            pytest_twisted.blockon(server.ended)


async def join_talker(port: int, nickname: str) -> Talker:
    """Connect and join; the replay and welcome are not part of the talk."""
    client = await connect(port)
    await client.join(nickname)
    return Talker(client, nickname)


async def talk_then_kill(server: TwistdProcess, talkers: list[Talker]) -> None:
    """Flood from every talker, SIGKILL the server mid-flow, collect what each received."""
    first = talkers[0]
    while len(first.chats) < KILL_AFTER:
        for talker in talkers:
            talker.take_queued()
            talker.top_up()
        first.record(await first.client.next())
    signal_process(server, "KILL")
    for talker in talkers:
        await talker.client.closed()
        talker.take_queued()
    ended = await server.ended
    assert isinstance(ended, ProcessTerminated) and ended.signal == signal.SIGKILL
    assert b" says " not in server.output  # message bodies are never logged


async def replay_all(port: int, nickname: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Join with `since` 0: every retained message, then the welcome."""
    client = await connect(port)
    after = await client.join(json.dumps({"nickname": nickname, "since": 0}))
    client.send("BYE")
    await client.closed()
    return after[:-1], after[-1]


def assert_replayable(replay: list[dict[str, Any]], talkers: list[Talker]) -> None:
    """Ids 1..N without a gap, and each message any talker received is there, unchanged."""
    assert [packet["id"] for packet in replay] == list(range(1, len(replay) + 1))
    by_id = {}
    for packet in replay:
        assert packet.pop("history") is True  # marked as replayed, otherwise as broadcast
        by_id[packet["id"]] = packet
    for talker in talkers:
        assert talker.chats, talker.nickname
        for packet in talker.chats:
            assert by_id.get(packet["id"]) == packet, (talker.nickname, packet)


def history_lines(path: Path) -> list[dict[str, Any]]:
    """The history file's records; every line must be a whole JSON object."""
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


async def stop(server: TwistdProcess) -> None:
    """SIGINT and wait for a clean exit."""
    signal_process(server, "INT")
    ended = await server.ended
    assert isinstance(ended, ProcessDone | ProcessTerminated)
    assert ended.exitCode == 0 or ended.signal == signal.SIGINT, server.output
    assert b"Traceback" not in server.output


@pytest_twisted.ensureDeferred
async def test_sigkill_while_messages_flow_loses_nothing_any_client_received(
    twistd: Callable[..., TwistdProcess],
) -> None:
    server = twistd()
    port = await server.listening
    talkers = [await join_talker(port, "alice"), await join_talker(port, "bob")]
    await talk_then_kill(server, talkers)

    again = twistd()
    port = await again.listening
    replay, welcome = await replay_all(port, "carol")
    assert_replayable(replay, talkers)
    assert (welcome["first_id"], welcome["last_id"]) == (1, len(replay))
    # Ids continue after the crash.
    dave = await join_talker(port, "dave")
    dave.client.send_json({"message": "after the crash"})
    assert (await dave.client.next_chat())["id"] == len(replay) + 1
    await stop(again)
    assert b"cut a torn" not in again.output  # whole lines only: a kill does not tear a write


@pytest_twisted.ensureDeferred
async def test_torn_line_is_cut_and_nothing_appended_after_the_repair_is_lost(
    tmp_path: Path, twistd: Callable[..., TwistdProcess]
) -> None:
    history = tmp_path / "h.jsonl"
    server = twistd()
    port = await server.listening
    before = [await join_talker(port, "alice")]
    await talk_then_kill(server, before)
    kept = history.read_bytes()
    with history.open("ab") as file:  # as if the crash had come in the middle of a write
        file.write(TORN)

    # First restart: the torn line is cut, and logged, before anything is appended.
    repaired = twistd()
    port = await repaired.listening
    assert history.read_bytes() == kept
    replay, _ = await replay_all(port, "carol")
    assert_replayable(replay, before)
    after = [await join_talker(port, "bob"), await join_talker(port, "dave")]
    await talk_then_kill(repaired, after)
    assert b"cut a torn last line of %d bytes" % len(TORN) in repaired.output

    # Second restart: what was appended after the repair is all there, with no corrupt line.
    final = twistd()
    port = await final.listening
    replay, welcome = await replay_all(port, "erin")
    assert_replayable(replay, before + after)
    assert min(packet["id"] for t in after for packet in t.chats) > len(kept.splitlines())
    await stop(final)
    assert b"corrupt" not in final.output and b"cut a torn" not in final.output
    assert [record["id"] for record in history_lines(history)] == list(
        range(1, welcome["last_id"] + 1)
    )


@pytest_twisted.ensureDeferred
async def test_reconnect_storm_after_a_restart_gets_every_client_greeted(
    twistd: Callable[..., TwistdProcess],
) -> None:
    """After a crash, every client reconnects at once; each must be greeted promptly.

    A connection the kernel completed but could not queue for accept() (the
    backlog is full) looks open to the client, which then waits for HELLO; the
    kernel retries a few times and gives up, and that client hears nothing.
    """
    clients = 1000
    if (raise_open_file_limit() or 0) < clients + 100:
        pytest.skip("needs an open-file limit above the number of clients")
    server = twistd()
    port = await server.listening
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    storm = [connectProtocol(endpoint, RawClient()) for _ in range(clients)]
    connected = [client for _, client in await DeferredList(storm, fireOnOneErrback=True)]
    deadline = time.monotonic() + STORM_SECONDS
    greeted = 0
    while time.monotonic() < deadline:
        greeted = sum(len(client.frames.pending) >= 2 for client in connected)
        if greeted == clients:
            break
        await deferLater(reactor, 0.05)  # let the reactor turn; the deadline bounds it
    for client in connected:
        assert client.transport is not None
        client.transport.abortConnection()  # type: ignore[attr-defined]
    signal_process(server, "KILL")
    await server.ended
    assert greeted == clients, f"{clients - greeted} of {clients} never got HELLO and NICK"
