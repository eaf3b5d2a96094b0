"""End to end: the installed `twistd chat` plugin in a real process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectError, ProcessDone, ProcessTerminated
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure

from tests.certs import make_certificate
from tests.loopback import DEADLINE, connect

BIN = Path(sys.executable).parent


class TwistdProcess(ProcessProtocol):
    """Runs `twistd -n chat`, finds the port it listens on, reports how it ended."""

    def __init__(self) -> None:
        self.output = b""
        self.listening: Deferred[int] = Deferred()
        self.ended: Deferred[BaseException] = Deferred()
        #: The port of each door's factory that logged it is listening, by factory name.
        self.ports: dict[str, int] = {}

    def outReceived(self, data: bytes) -> None:
        self.output += data
        for name, port in re.findall(rb"(\w+)(?: \(TLS\))? starting on (\d+)", self.output):
            self.ports[name.decode()] = int(port)
        if "WordPacketFactory" in self.ports and not self.listening.called:
            self.listening.callback(self.ports["WordPacketFactory"])

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
    loaded = f"History file {tmp_path / 'h.jsonl'}: loaded 2 messages; new messages get ids from 3"
    assert loaded.encode() in again.output
    again.transport.signalProcess("INT")
    await again.ended


@pytest_twisted.ensureDeferred
async def test_accounts_through_twistd(tmp_path: Path) -> None:
    server = start_twistd(tmp_path, "--accounts-db", "a.db", "--shutdown-grace", "0")
    port = await server.listening
    alice = await connect(port)
    await alice.join("alice")
    alice.send_json({"command": "register", "password": "a long password"})
    assert (await alice.until_event("registered"))["account"] == "alice"
    assert (tmp_path / "a.db").stat().st_mode & 0o777 == 0o600
    again = await connect(port)
    assert [await again.next(), await again.next()] == ["HELLO", "NICK"]
    again.send_json({"nickname": "alice", "password": "a long password"})
    assert await again.next() == "READY"
    assert (await again.until_event("welcome"))["account"] == "alice"
    await alice.closed()  # its place is taken by the same account
    server.transport.signalProcess("TERM")
    await server.ended
    assert b"accounts in a.db" in server.output
    assert b"a long password" not in server.output
    assert b"Traceback" not in server.output


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


#: Start-up mistakes: the options given, and the one line that must end the output
#: (more usage errors are in test_service).
STARTUP_MISTAKES = {
    "port out of range": (["--port", "99999"], "--port '99999': the port must be from 0 to 65535"),
    "unix socket in a missing directory": (
        ["--port", "unix:/nonexistent/dir/chat.sock"],
        "--port 'unix:/nonexistent/dir/chat.sock': No such file or directory:"
        " /nonexistent/dir/chat.sock.lock",
    ),
    "unknown interface": (
        ["--port", "tcp:0:interface=999.1.1.1"],
        "--port 'tcp:0:interface=999.1.1.1': cannot listen on 999.1.1.1 port 0: ",
    ),
    "port in use": (
        ["--port", "tcp:{busy}:interface=127.0.0.1"],
        "--port 'tcp:{busy}:interface=127.0.0.1': cannot listen on 127.0.0.1 port {busy}:"
        " Address already in use",
    ),
    "TLS key not a key": (
        ["--port", "ssl:0:privateKey={dir}/junk.pem:certKey={dir}/cert.pem"],
        "--port 'ssl:0:privateKey={dir}/junk.pem:certKey={dir}/cert.pem':"
        " not a usable TLS key or certificate (",
    ),
    "TLS key of another certificate": (
        ["--port", "ssl:0:privateKey={dir}/other/key.pem:certKey={dir}/cert.pem"],
        "--port 'ssl:0:privateKey={dir}/other/key.pem:certKey={dir}/cert.pem':"
        " Certificate public and private keys do not match.",
    ),
    "rate below its range": (["--rate", "-1"], "--rate must be >= 0, got -1"),
    "port not a number": (
        ["--port", "tcp:notaport"],
        "--port 'tcp:notaport': the port must be a number, got 'notaport'",
    ),
    "accounts directory missing": (
        ["--accounts-db", "{dir}/missing/a.db"],
        "--accounts-db '{dir}/missing/a.db': its directory '{dir}/missing' does not exist",
    ),
    "history directory missing": (
        ["--history-file", "{dir}/missing/h.jsonl"],
        "--history-file '{dir}/missing/h.jsonl': its directory '{dir}/missing' does not exist",
    ),
}


#: twistd's options that daemonize, for the mistake a daemon must report too.
DAEMON = ["--pidfile=daemon.pid", "--logfile=daemon.log"]


class StartupRun(NamedTuple):
    """How a twistd with a start-up mistake ended."""

    line: str  # what its output must end with
    output: str
    status: int
    workdir: Path


@pytest.fixture(scope="module")
def startup_mistakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StartupRun]:
    """Run `twistd -n chat` once for every start-up mistake, and a daemonizing twistd for
    the first ("daemon"), all at once so that the suite stays fast."""
    workdir = tmp_path_factory.mktemp("mistakes")
    (workdir / "other").mkdir()
    make_certificate(workdir)
    make_certificate(workdir / "other")
    (workdir / "junk.pem").write_text("not a key\n")
    runs = {name: (["--pidfile=", "-n"], *mistake) for name, mistake in STARTUP_MISTAKES.items()}
    runs["daemon"] = (DAEMON, *next(iter(STARTUP_MISTAKES.values())))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        fill = {"busy": busy.getsockname()[1], "dir": workdir}
        running = {}
        for number, (name, (runner, options, line)) in enumerate(runs.items()):
            command = [str(BIN / "twistd"), *runner, "chat"]
            command += ["--history-file", f"h{number}.jsonl", "--shutdown-grace", "0"]
            command += [option.format(**fill) for option in options]
            process = subprocess.Popen(
                command, cwd=workdir, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            running[name] = (line.format(**fill), process)
        ended = {}
        for name, (line, process) in running.items():
            try:
                output = process.communicate(timeout=60)[0]
            except subprocess.TimeoutExpired:  # it started: the mistake went unnoticed
                process.kill()
                output = process.communicate()[0]
            ended[name] = StartupRun(line, output, process.returncode, workdir)
    return ended


@pytest.mark.parametrize("mistake", list(STARTUP_MISTAKES))
def test_startup_mistake_is_one_line_naming_the_option(
    startup_mistakes: dict[str, StartupRun], mistake: str
) -> None:
    line, output, status, _ = startup_mistakes[mistake]
    assert status == 1, output
    assert "Traceback" not in output
    last = output.rstrip("\n").rsplit("\n", 1)[-1]
    # After the log prefix (listen errors) or the program's name (usage errors).
    assert line in last, output
    assert last.split(line, 1)[0].endswith(("] ", ": ")), last
    assert "backlog" not in output  # the endpoint as typed, nothing appended


@pytest.mark.parametrize(
    "runner", [["twistd", "--pidfile=", "-n"], ["twist"]], ids=["twistd", "twist"]
)
def test_a_usage_mistake_is_one_line_and_the_usage_only_with_help(
    tmp_path: Path, runner: list[str]
) -> None:
    command = [str(BIN / runner[0]), *runner[1:], "chat"]
    mistake = subprocess.run(
        [*command, "--port", "tcp:notaport"], capture_output=True, text=True, cwd=tmp_path
    )
    assert (mistake.returncode, mistake.stdout) == (1, "")
    assert mistake.stderr == (
        f"{runner[0]} chat: --port 'tcp:notaport': the port must be a number, got 'notaport'\n"
    )
    unknown = subprocess.run([*command, "--prot", "1"], capture_output=True, text=True)
    assert (unknown.returncode, unknown.stderr) == (
        1,
        f"{runner[0]} chat: option --prot not recognized\n",
    )
    usage = subprocess.run([*command, "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert usage.returncode == 0
    assert "--shutdown-grace=" in usage.stdout


def test_a_daemon_reports_a_refused_listen_and_exits(
    startup_mistakes: dict[str, StartupRun],
) -> None:
    """twistd without -n waits for its daemon to start: it is told the reason at once,
    and the daemon leaves its one line in the log and no pid file."""
    line, output, status, workdir = startup_mistakes["daemon"]
    assert status == 1, output
    assert output.startswith("An error has occurred: ")
    assert line in output
    assert not (workdir / "daemon.pid").exists()
    log = (workdir / "daemon.log").read_text()
    assert log.rstrip("\n").rsplit("\n", 1)[-1].endswith(f"#critical] {line}")
    assert "Traceback" not in output + log


def test_a_file_that_is_no_account_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_text("not a database\n")
    run = subprocess.run(
        [str(BIN / "twistd"), "--pidfile=", "-n", "chat", "--port", "tcp:0:interface=127.0.0.1",
         "--history-file", "h.jsonl", "--accounts-db", "junk.db"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == "--accounts-db 'junk.db': file is not a database\n"


@pytest_twisted.ensureDeferred
async def test_second_server_on_the_same_history_file_is_refused(tmp_path: Path) -> None:
    server = start_twistd(tmp_path, "--shutdown-grace", "0")
    await server.listening
    assert server.transport is not None
    holder = server.transport.pid
    second = subprocess.run(
        [str(BIN / "twistd"), "--pidfile=", "-n", "chat", "--port", "tcp:0:interface=127.0.0.1",
         "--history-file", "h.jsonl"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert second.returncode == 1
    assert second.stdout == ""
    locked = f"history file 'h.jsonl' is locked by process {holder}"
    assert second.stderr == f"{locked} (another chat server on this file?)\n"
    trim = subprocess.run(
        [str(BIN / "chatproto-history"), "trim", "--keep", "1", "h.jsonl"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert trim.returncode == 1
    assert f"is locked by process {holder}" in trim.stderr
    assert trim.stderr.count("\n") == 1
    server.transport.signalProcess("TERM")
    await server.ended


@pytest_twisted.ensureDeferred
async def test_second_sigint_during_the_grace_stops_at_once(tmp_path: Path) -> None:
    server = start_twistd(tmp_path, "--shutdown-grace", "600")
    alice = await connect(await server.listening)
    await alice.join("alice")
    assert server.transport is not None
    server.transport.signalProcess("INT")
    assert (await alice.until_event("shutdown"))["grace"] == 600
    server.transport.signalProcess("INT")
    await alice.closed()  # within DEADLINE, far less than the grace
    ended = await server.ended
    assert isinstance(ended, ProcessDone | ProcessTerminated)
    assert ended.signal == signal.SIGINT or ended.exitCode == 0, server.output
    assert b"Traceback" not in server.output
    assert b"closing every connection now" in server.output


@pytest_twisted.ensureDeferred
async def test_with_nobody_connected_there_is_no_grace(tmp_path: Path) -> None:
    server = start_twistd(tmp_path, "--shutdown-grace", "600")
    alice = await connect(await server.listening)
    await alice.join("alice")  # the reactor runs: SIGINT is its to handle
    alice.send("BYE")
    await alice.closed()  # the server closed it, so it no longer counts it
    assert server.transport is not None
    server.transport.signalProcess("INT")
    await server.ended  # within its DEADLINE, far less than the grace
    assert b"shutting down now: nobody is connected" in server.output
    assert b"Traceback" not in server.output


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
