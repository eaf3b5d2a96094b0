"""The program's edges: bad arguments and unreachable servers give one line, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.client.processes import DEADLINE, ROOT, client_env, run_client


def one_line_of_stderr(done: subprocess.CompletedProcess[str]) -> str:
    """The single line the program wrote to standard error."""
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    return line


def unused_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        ([], "chatproto-client: the following arguments are required: HOST|ENDPOINT"),
        (["h", "http"], "chatproto-client: argument PORT: port must be a number, not 'http'"),
        (["--nick", "x\x07", "h", "1"], "chatproto-client: --nick: a nickname cannot contain"),
        (["h", "1"], "chatproto-client: standard input is not a terminal: pipe mode needs --nick"),
        (["--tls", "--ca", "/nonexistent.pem", "--nick", "b", "h", "1"], "chatproto-client: --ca"),
    ],
)
def test_bad_arguments(argv: list[str], complaint: str) -> None:
    done = run_client(*argv)
    assert done.returncode == 2
    assert one_line_of_stderr(done).startswith(complaint)


def test_a_ca_file_that_is_not_a_certificate(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("hello\n")
    done = run_client("--tls", "--ca", str(bogus), "--nick", "b", "h", "1")
    assert done.returncode == 2
    assert one_line_of_stderr(done) == f"chatproto-client: --ca {bogus}: not a PEM certificate"


def test_an_unreachable_server() -> None:
    port = unused_port()
    done = run_client("--nick", "bot", "127.0.0.1", str(port))
    assert done.returncode == 1
    assert one_line_of_stderr(done).startswith(
        f"chatproto-client: cannot connect to 127.0.0.1:{port}"
    )
    assert done.stdout == ""


def test_help() -> None:
    done = run_client("--help")
    assert done.returncode == 0
    assert done.stdout.startswith(
        "usage: chatproto-client [options] HOST [PORT]\n"
        "       chatproto-client [options] ENDPOINT\n"
    )
    assert "--timeout SECONDS" in done.stdout


def test_the_installed_console_script() -> None:
    script = Path(sys.executable).parent / "chatproto-client"
    done = subprocess.run(
        [str(script), "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=client_env(),
        timeout=DEADLINE,
        check=False,
    )
    assert done.returncode == 0
    assert "HOST [PORT]" in done.stdout
