"""The real server for browser tests: `twistd -n chat` with the WebSocket door, in a process,
and a blocking TCP client to chat with the pages through the other door."""

from __future__ import annotations

import json
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

#: How long a test waits for something to happen before failing (a deadline, not a sleep).
DEADLINE = 15.0
#: How often a deadline poll looks again.
POLL = 0.02

BIN = Path(sys.executable).parent
LISTENING = {
    "tcp": re.compile(rb"WordPacketFactory starting on (\d+)"),
    "web": re.compile(rb"Site starting on (\d+)"),
}

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, deadline: float = DEADLINE) -> T:
    """Poll C{probe} until it returns something true; fail after C{deadline} seconds."""
    end = time.monotonic() + deadline
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > end:
            raise AssertionError(f"gave up after {deadline} s waiting for {what}")
        time.sleep(POLL)  # a poll interval under a deadline, not a synchronising sleep


class ChatServer:
    """`twistd -n chat` on loopback ports with a history file in C{workdir}; it can stop and
    start again on the same ports, as a restarted server does."""

    def __init__(self, workdir: Path, *options: str) -> None:
        self.workdir = workdir
        self.options = options
        self.ports = {"tcp": 0, "web": 0}
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def url(self) -> str:
        """Where a browser finds the web client."""
        return f"http://127.0.0.1:{self.ports['web']}/"

    @property
    def log(self) -> bytes:
        """What the current run has logged so far."""
        return self._log_path().read_bytes()

    def _log_path(self) -> Path:
        return self.workdir / f"server-{self.runs}.log"

    def start(self) -> None:
        """Start the server and wait until both doors listen."""
        self.runs += 1
        args = [
            str(BIN / "twistd"), "--pidfile=", "-n", "chat",
            "--port", f"tcp:{self.ports['tcp']}:interface=127.0.0.1",
            "--ws-port", f"tcp:{self.ports['web']}:interface=127.0.0.1",
            "--history-file", "history.jsonl", "--shutdown-grace", "0", *self.options,
        ]  # fmt: skip
        with self._log_path().open("wb") as log:
            self.process = subprocess.Popen(
                args, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
            )
        for door, pattern in LISTENING.items():
            found = eventually(partial(self._listening, pattern), f"the {door} door to listen")
            self.ports[door] = int(found.group(1))

    def _listening(self, pattern: re.Pattern[bytes]) -> re.Match[bytes] | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited: {self.log.decode(errors='replace')}")
        return pattern.search(self.log)

    def stop(self) -> None:
        """SIGTERM, and wait until the process has ended (cleanly)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=DEADLINE)
        self.process = None
        assert status in (0, -signal.SIGTERM), self.log
        assert b"Traceback" not in self.log, self.log.decode(errors="replace")

    def kill(self) -> None:
        """End the process, whatever state it is in (for test teardown)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=DEADLINE)
            self.process = None


def _welcome_of(frame: dict[str, Any], room: str) -> bool:
    return frame.get("event") == "welcome" and frame.get("room") == room


class TcpChatter:
    """A person on the TCP door, written from docs/protocol.md: blocking, one frame at a time."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.nickname = ""
        self.buffer = b""

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def next(self) -> Any:
        """The next frame: a control word as str, a JSON packet as a dict."""
        (length,) = struct.unpack("!H", self._read(2))
        text = self._read(length).decode("utf-8")
        return json.loads(text) if text.startswith("{") else text

    def send(self, text: str) -> None:
        """Send one frame."""
        data = text.encode("utf-8")
        self.sock.sendall(struct.pack("!H", len(data)) + data)

    def say(self, message: str, to: str | None = None, room: str | None = None) -> dict[str, Any]:
        """Send a chat packet (private when C{to} is given, in C{room} when given); return the
        server's copy (what arrives before it is skipped)."""
        packet = (
            {"message": message} | ({"to": to} if to else {}) | ({"room": room} if room else {})
        )
        self.send(json.dumps(packet))
        return dict(self.until(lambda frame: self._mine(frame) and frame["message"] == message))

    def join_room(self, room: str) -> dict[str, Any]:
        """Join C{room}; return its welcome (its replay before it is skipped)."""
        self.send(json.dumps({"command": "join", "room": room}))
        return dict(self.until(lambda frame: isinstance(frame, dict) and _welcome_of(frame, room)))

    def _mine(self, frame: Any) -> bool:
        return (
            isinstance(frame, dict) and "event" not in frame and frame["nickname"] == self.nickname
        )

    def join(self, nickname: str) -> list[Any]:
        """Handshake as C{nickname}; return what follows READY up to the welcome."""
        assert [self.next(), self.next()] == ["HELLO", "NICK"]
        self.send(nickname)
        answer = self.next()
        assert answer == "READY", answer
        self.nickname = nickname
        frames = [self.next()]
        while frames[-1].get("event") != "welcome":
            frames.append(self.next())
        return frames

    def until(self, wanted: Callable[[Any], bool]) -> Any:
        """The first frame for which C{wanted} holds, skipping the others."""
        while not wanted(frame := self.next()):
            pass
        return frame

    def chat(self) -> dict[str, Any]:
        """The next chat packet (public or private), skipping notices."""
        return dict(self.until(lambda frame: isinstance(frame, dict) and "event" not in frame))

    def close(self) -> None:
        """Leave with BYE and close the socket."""
        with suppress(OSError):  # the server may have gone away already
            self.send("BYE")
        self.sock.close()
