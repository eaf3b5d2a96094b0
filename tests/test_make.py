"""End to end: `make run` and `make client` do what the README says, as printed."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import time
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


def test_make_run_says_where_it_listens_and_make_client_gets_in(tmp_path: Path) -> None:
    port, ws_port = _free_port(), _free_port()
    server = _make(
        "run",
        f"PORT=tcp:{port}",
        f"WS_PORT=tcp:{ws_port}",
        f"HISTORY={tmp_path / 'h.jsonl'}",
        "SERVER_ARGS=--shutdown-grace 0",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output = _read_until(server, "WordPacketFactory starting on")
        banner = output[: output.index("starting up")]
        assert "on all interfaces, without TLS" in banner
        assert f"make client PORT=tcp:{port}" in banner
        assert f".venv/bin/chatproto-client localhost {port}" in banner
        assert f"browser: open http://localhost:{ws_port}/" in banner

        client = _make(
            "-s",
            "client",
            f"PORT=tcp:{port}",
            "CLIENT_ARGS=--nick probe",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        said, _ = client.communicate("hello from make client\n", timeout=DEADLINE)
        assert client.returncode == 0, said
        assert "<probe> hello from make client" in said
    finally:
        os.killpg(server.pid, signal.SIGINT)
        rest, _ = server.communicate(timeout=DEADLINE)
    assert "Traceback" not in rest
