"""A throwaway redis-server for tests: its own port and directory, no persistence unless asked."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

#: How long Redis may take to start or stop (a deadline, not a sleep).
START_DEADLINE = 10.0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """redis-server on 127.0.0.1:C{port} with its files in C{directory}.

    C{durable}: an append-only file fsynced on every write, so a restart keeps
    everything Redis acknowledged (docs/scaling.md). C{tls}: a certificate (for
    localhost) and its key: Redis then serves TLS only, on C{port}.
    """

    def __init__(
        self, directory: Path, durable: bool = False, tls: tuple[Path, Path] | None = None
    ) -> None:
        self.directory = directory
        self.tls = tls
        self.port = free_port()
        # A unix socket path must be short (108 bytes): not under pytest's long tmp_path.
        self.socket = Path(tempfile.mkdtemp(prefix="redis-")) / "redis.sock"
        self.durable = durable
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The --redis URL of this server."""
        if self.tls:
            return f"rediss://localhost:{self.port}/0"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start redis-server and wait until it answers."""
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else []
        ports = ["--port", str(self.port)]
        if self.tls:
            cert, key = self.tls
            ports = [
                "--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(cert),
                "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
                "--tls-auth-clients", "no",
            ]  # fmt: skip
        self.socket.parent.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server", *ports, "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", *persistence,
                "--dir", str(self.directory), "--logfile", "redis.log",
                "--unixsocket", str(self.socket), "--unixsocketperm", "700",
            ],
            stdout=subprocess.DEVNULL,
            cwd=self.directory,
        )  # fmt: skip
        deadline = time.monotonic() + START_DEADLINE
        while not self.answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start: {self.log()}")
            time.sleep(0.01)  # waiting for another process to be ready, not synchronising tests

    def answers(self) -> bool:
        """Whether Redis answers PING now."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as plain:
                sock = plain
                if self.tls:
                    context = ssl.create_default_context(cafile=self.tls[0])
                    sock = context.wrap_socket(plain, server_hostname="localhost")
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop Redis (SIGTERM: it writes its append-only file and exits)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(START_DEADLINE)
        self.process = None
        shutil.rmtree(self.socket.parent, ignore_errors=True)

    def log(self) -> str:
        """Redis's own log."""
        path = self.directory / "redis.log"
        return path.read_text() if path.exists() else ""
