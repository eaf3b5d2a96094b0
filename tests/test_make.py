"""End to end: `make run` and `make client` do what the README says, as printed."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import DEADLINE

ROOT = Path(__file__).parent.parent
STAMP = ROOT / ".venv" / ".installed"

pytestmark = pytest.mark.skipif(
    not STAMP.exists(), reason="needs the .venv that `make install` builds"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        port: int = probe.getsockname()[1]
        return port


def _make(*arguments: str, **options: Any) -> subprocess.Popen[str]:
    """Run make in the repository; `-o` keeps it from reinstalling .venv under the suite."""
    return subprocess.Popen(
        ["make", "--no-print-directory", "-o", str(STAMP.relative_to(ROOT)), *arguments],
        cwd=ROOT,
        text=True,
        start_new_session=True,
        **options,
    )


def _read_until(server: subprocess.Popen[str], marker: str) -> str:
    """What the server printed up to C{marker}, within the deadline (read unbuffered, so
    select() sees every byte that is not yet read)."""
    assert server.stdout is not None
    descriptor = server.stdout.fileno()
    output = b""
    deadline = time.monotonic() + DEADLINE
    while marker.encode() not in output:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([descriptor], [], [], max(left, 0))
        chunk = os.read(descriptor, 65536) if ready else b""
        if not chunk:
            raise AssertionError(f"no {marker!r} within {DEADLINE} s:\n{output.decode()}")
        output += chunk
    return output.decode()


def test_make_run_says_where_it_listens_and_every_printed_way_in_works(tmp_path: Path) -> None:
    """Loopback-only doors (as README shows), on free ports: `make run` beside another
    server (on the default ports) does not collide, and the banner's commands work."""
    port, ws_port, irc_port = _free_port(), _free_port(), _free_port()
    server = _make(
        "run",
        f"PORT=tcp:{port}:interface=127.0.0.1",
        f"WS_PORT=tcp:{ws_port}:interface=127.0.0.1",
        f"IRC_PORT=tcp:{irc_port}:interface=127.0.0.1",
        f"HISTORY={tmp_path / 'h.jsonl'}",
        "SERVER_ARGS=--shutdown-grace 0",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output = _read_until(server, "IrcFactory starting on")
        banner = output[: output.index("starting up")]
        assert "chatproto: serving on this machine only." in banner
        make_client = f"make client PORT=tcp:{port}:interface=127.0.0.1"
        assert f"terminal client: {make_client}   (or: " in banner
        direct = re.search(r"\(or: (\S+/chatproto-client [^)]*)\)", banner)
        assert direct is not None, banner
        assert direct.group(1) == f".venv/bin/chatproto-client 127.0.0.1 {port}"
        url = re.search(r"browser: open (\S+)", banner)
        assert url is not None and url.group(1) == f"http://127.0.0.1:{ws_port}/", banner
        irc = re.search(r"IRC client: /connect (\S+) (\d+),", banner)
        assert irc is not None and irc.groups() == ("127.0.0.1", str(irc_port)), banner

        client = _make(
            "-s",
            *make_client.split()[2:],
            "client",
            "CLIENT_ARGS=--nick probe",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        said, _ = client.communicate("hello from make client\n", timeout=DEADLINE)
        assert client.returncode == 0, said
        assert "<probe> hello from make client" in said

        command = [str(ROOT / direct.group(1).split()[0]), "--nick", "direct"]
        said = subprocess.run(
            [*command, *direct.group(1).split()[1:]],
            input="hello from the printed command\n",
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        ).stdout
        assert "<direct> hello from the printed command" in said
        with urllib.request.urlopen(url.group(1), timeout=DEADLINE) as page:
            assert b"<html" in page.read()
        with socket.create_connection((irc.group(1), int(irc.group(2))), DEADLINE) as user:
            user.sendall(b"NICK ircprobe\r\nUSER ircprobe 0 * :probe\r\n")
            assert b" 001 ircprobe " in _receive_until(user, b" 001 ")
    finally:
        os.killpg(server.pid, signal.SIGINT)
        rest, _ = server.communicate(timeout=DEADLINE)
    assert "Traceback" not in rest


def _receive_until(peer: socket.socket, marker: bytes) -> bytes:
    """What C{peer} sent up to C{marker} (its timeout bounds each read)."""
    received = b""
    while marker not in received:
        chunk = peer.recv(4096)
        assert chunk, received
        received += chunk
    return received
