"""Running the real client program for integration tests: in a pipe, or in tmux as a person."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

#: The working tree, so `python -m chatproto.client` runs this checkout's code.
ROOT = Path(__file__).resolve().parents[2]
#: How long a test waits for something to happen before failing (a deadline, not a sleep).
DEADLINE = 15.0
#: How often a deadline poll looks again.
POLL = 0.02

T = TypeVar("T")


def client_argv(*args: str) -> list[str]:
    """The command line that runs the client with C{args}."""
    return [sys.executable, "-m", "chatproto.client", *args]


def client_env(**extra: str) -> dict[str, str]:
    """The environment for a client: UTC local time, UTF-8, plus C{extra}."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return env | {"TZ": "UTC", "LC_ALL": "C.UTF-8"} | extra


async def eventually(
    probe: Callable[[], T], what: str | Callable[[], str], deadline: float = DEADLINE
) -> T:
    """Poll C{probe} until it returns something true; fail after C{deadline} seconds."""
    end = reactor.seconds() + deadline
    while True:
        result = probe()
        if result:
            return result
        if reactor.seconds() > end:
            described = what() if callable(what) else what
            raise AssertionError(f"gave up after {deadline} s waiting for {described}")
        await deferLater(reactor, POLL, lambda: None)


class PipeClient(ProcessProtocol):
    """The client with pipes for standard input, output and error."""

    def __init__(self) -> None:
        self.stdout = b""
        self.stderr = b""
        self.ended: Deferred[int] = Deferred()

    def outReceived(self, data: bytes) -> None:
        self.stdout += data

    def errReceived(self, data: bytes) -> None:
        self.stderr += data

    def processEnded(self, reason: Failure) -> None:
        self.ended.callback(reason.value.exitCode)

    def lines(self) -> list[str]:
        """Standard output so far, line by line."""
        return self.stdout.decode("utf-8").splitlines()

    def send(self, text: str) -> None:
        """Write C{text} to the client's standard input."""
        self.transport.write(text.encode("utf-8"))

    def end_input(self) -> None:
        """Close the client's standard input."""
        self.transport.closeStdin()

    async def output_line(self, predicate: Callable[[str], bool], what: str) -> str:
        """The first output line for which C{predicate} holds, once it was printed."""

        def found() -> str | None:
            return next((line for line in self.lines() if predicate(line)), None)

        return await eventually(found, lambda: f"{what} in output {self.lines()!r}")

    async def exit_status(self) -> int:
        """The exit status, once the client ended."""
        self.ended.addTimeout(DEADLINE, reactor)
        return await self.ended


def spawn_pipe_client(*args: str, env: dict[str, str] | None = None) -> PipeClient:
    """Start the client in pipe mode (its standard input is a pipe)."""
    return spawn_program(client_argv(*args), env=env)


def spawn_program(
    argv: list[str], *, env: dict[str, str] | None = None, path: Path = ROOT
) -> PipeClient:
    """Start C{argv} in C{path} with pipes for its standard streams (this checkout's
    code importable: C{PYTHONPATH} is the working tree)."""
    program = PipeClient()
    environment = (env or client_env()) | {"PYTHONPATH": str(ROOT)}
    reactor.spawnProcess(program, argv[0], argv, env=environment, path=str(path))
    return program


def run_client(*args: str, timeout: float = DEADLINE) -> subprocess.CompletedProcess[str]:
    """Run the client to its end without a reactor, standard input empty."""
    return subprocess.run(
        client_argv(*args),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=client_env(),
        check=False,
    )


class Tmux:
    """A private tmux server with one window running a command, read as a person sees it."""

    def __init__(self, directory: Path, width: int = 100, height: int = 30) -> None:
        self._socket = str(directory / "tmux.sock")
        self.width = width
        self.height = height

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", self._socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def start(self, argv: list[str], **env: str) -> None:
        """Run C{argv} with C{env} added (and C{NO_COLOR} unset, unless given) in a new
        window; when it ends, its exit status stays on screen."""
        exports = " ".join(f"{name}={_quote(value)}" for name, value in env.items())
        command = " ".join(_quote(arg) for arg in argv)
        shell = (
            f"cd {_quote(str(ROOT))} && env -u NO_COLOR {exports} {command};"
            ' echo "[exit status $?]"'
        )
        self._tmux(
            "-f", "/dev/null", "new-session", "-d", "-s", "chat",
            "-x", str(self.width), "-y", str(self.height), shell,
            ";", "set-option", "-g", "remain-on-exit", "on",
        )  # fmt: skip

    def keys(self, *keys: str) -> None:
        """Type keys (tmux key names such as C-c and Enter, or literal text with -l)."""
        self._tmux("send-keys", "-t", "chat", *keys)

    def type(self, text: str) -> None:
        """Type C{text} literally."""
        self._tmux("send-keys", "-t", "chat", "-l", text)

    def enter(self, line: str) -> None:
        """Type C{line} literally, then press Enter."""
        self.type(line)
        self.keys("Enter")

    def screen(self) -> list[str]:
        """The visible lines, trailing blanks removed."""
        lines = self._tmux("capture-pane", "-p", "-t", "chat").rstrip("\n").split("\n")
        return [line.rstrip() for line in lines]

    def painted(self) -> str:
        """The visible text with the terminal's colour and attribute escapes, as tmux has it."""
        return self._tmux("capture-pane", "-p", "-e", "-t", "chat")

    def title(self) -> str:
        """The pane's title (what an OSC title sequence would change)."""
        return self._tmux("display-message", "-p", "-t", "chat", "#{pane_title}").strip()

    async def shows(self, predicate: Callable[[list[str]], bool], what: str) -> list[str]:
        """The screen, once C{predicate} holds for it."""

        def check() -> list[str] | None:
            screen = self.screen()
            return screen if predicate(screen) else None

        return await eventually(check, lambda: f"{what} on screen:\n" + "\n".join(self.screen()))

    async def shows_line(self, text: str) -> list[str]:
        """The screen, once a line contains C{text}."""
        return await self.shows(lambda screen: any(text in line for line in screen), repr(text))

    def stop(self) -> None:
        """Kill the tmux server and whatever runs in it."""
        subprocess.run(
            ["tmux", "-S", self._socket, "kill-server"], capture_output=True, check=False
        )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
