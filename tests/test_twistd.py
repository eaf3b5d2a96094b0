"""End to end: the installed `twistd chat` plugin in a real process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectError, ProcessDone, ProcessTerminated
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure

from tests.loopback import DEADLINE, connect

BIN = Path(sys.executable).parent


class TwistdProcess(ProcessProtocol):
    """Runs `twistd -n chat`, finds the port it listens on, reports how it ended."""

    def __init__(self) -> None:
        self.output = b""
        self.listening: Deferred[int] = Deferred()
        self.ended: Deferred[BaseException] = Deferred()

    def outReceived(self, data: bytes) -> None:
        self.output += data
        found = re.search(rb"WordPacketFactory starting on (\d+)", self.output)
        if found and not self.listening.called:
            self.listening.callback(int(found.group(1)))

    errReceived = outReceived

    def processEnded(self, reason: Failure) -> None:
        # The exception, not the Failure: a Failure passed to callback() errbacks.
        self.ended.callback(reason.value)


def start_twistd(workdir: Path, *options: str) -> TwistdProcess:
    """Start the chat plugin on an ephemeral loopback port in C{workdir}."""
    args = ["-n", "chat", "--port", "tcp:0:interface=127.0.0.1", "--history-file", "h.jsonl"]
    return _spawn_twistd(workdir, [*args, *options])


def _spawn_twistd(
    workdir: Path, arguments: list[str], runner: list[str] | None = None
) -> TwistdProcess:
    process = TwistdProcess()
    args = [*(runner or [str(BIN / "twistd"), "--pidfile="]), *arguments]
    reactor.spawnProcess(process, args[0], args, env=dict(os.environ), path=str(workdir))
    process.listening.addTimeout(DEADLINE, reactor)
    process.ended.addTimeout(DEADLINE * 3, reactor)
    return process


@pytest_twisted.ensureDeferred
async def test_chat_through_twistd_then_sigterm(tmp_path: Path) -> None:
    server = start_twistd(tmp_path, "--shutdown-grace", "2")
    port = await server.listening
    alice = await connect(port)
    await alice.join("alice")
    bob = await connect(port)
    await bob.join("bob")
    alice.send_json({"message": "hello from alice"})
    assert (await bob.next_chat())["message"] == "hello from alice"

    server.transport.signalProcess("TERM")
    notice = await alice.until_event("shutdown")
    assert (notice["grace"], notice["message"]) == (2, "Server closing in 2 seconds")
    assert (await bob.until_event("shutdown"))["grace"] == 2
    # The listener stops at once; the joined keep being served through the grace.
    try:
        late = await connect(port)
    except ConnectError:
        pass
    else:
        raise AssertionError(f"still accepting after SIGTERM: {late}")
    bob.send_json({"message": "during the grace"})
    assert (await alice.next_chat())["message"] == "during the grace"
    await alice.closed()
    await bob.closed()
    ended = await server.ended
    assert isinstance(ended, ProcessDone | ProcessTerminated)
    assert ended.signal == signal.SIGTERM or ended.exitCode == 0, server.output
    assert b"Traceback" not in server.output
    assert b"hello from alice" not in server.output  # bodies are not logged

    # A restart continues the ids and replays what was said.
    again = start_twistd(tmp_path, "--shutdown-grace", "0")
    carol = await connect(await again.listening)
    replay = await carol.join("carol")
    assert [(p["id"], p["message"]) for p in replay[:-1]] == [
        (1, "hello from alice"),
        (2, "during the grace"),
    ]
    carol.send_json({"message": "after restart"})
    assert (await carol.next_chat())["id"] == 3
    again.transport.signalProcess("INT")
    await again.ended


@pytest_twisted.ensureDeferred
async def test_the_service_inside_an_existing_twistd_application(tmp_path: Path) -> None:
    example = (Path(__file__).parent.parent / "docs" / "examples" / "chat.tac").read_text()
    tac = example.replace("tcp:10328:interface=127.0.0.1", "tcp:0:interface=127.0.0.1")
    (tmp_path / "chat.tac").write_text(tac.replace('"5"', '"0"'))
    server = _spawn_twistd(tmp_path, ["-ny", "chat.tac"])
    alice = await connect(await server.listening)
    await alice.join("alice")
    alice.send_json({"message": "from a .tac"})
    assert (await alice.next_chat())["id"] == 1
    server.transport.signalProcess("TERM")
    assert (await alice.until_event("shutdown"))["grace"] == 0
    await alice.closed()
    await server.ended
    assert (tmp_path / "chat-history.jsonl").read_bytes().count(b"from a .tac") == 1


def test_bad_option_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    for bad in (["--max-message-bytes", "0"], ["--port", "bogus:1"], ["--fsync", "sometimes"]):
        result = subprocess.run(
            [str(BIN / "twistd"), "--pidfile=", "-n", "chat", *bad],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert result.returncode != 0
        assert "Traceback" not in result.stderr + result.stdout, bad
        assert bad[0] in result.stderr + result.stdout, (bad, result.stderr)


@pytest_twisted.ensureDeferred
async def test_chat_through_twist(tmp_path: Path) -> None:
    twist = [str(BIN / "twist"), "--log-format=text"]
    args = ["chat", "--port", "tcp:0:interface=127.0.0.1", "--shutdown-grace", "0"]
    server = _spawn_twistd(tmp_path, args, runner=twist)
    alice = await connect(await server.listening)
    await alice.join("alice")
    alice.send_json({"message": "via twist"})
    assert (await alice.next_chat())["message"] == "via twist"
    server.transport.signalProcess("TERM")
    await alice.closed()
    await server.ended
    assert (tmp_path / "chat-history.jsonl").exists()


def test_twist_knows_the_plugin(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "twist"), "chat", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0
    assert "--sendq-bytes" in result.stdout
