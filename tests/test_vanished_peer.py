"""End to end: a peer that vanishes without a FIN loses its nickname (docs/protocol.md 2.6).

The vanishing client lives on a test host of our own: a network namespace joined
to this one by a veth pair. Once it has joined, its side of the link goes down,
so the server's packets reach nobody and nothing ever answers; the server's TCP
keepalive and user timeout (set short here) must drop it, announce its `leave`
with reason `disconnected` and free its nickname, in a silent room.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted

from tests.loopback import connect
from tests.test_twistd import start_twistd

NAMESPACE = f"chatproto-test-{os.getpid()}"
HOST_SIDE, TEST_SIDE = f"cpv{os.getpid() % 100000}a", f"cpv{os.getpid() % 100000}b"
SERVER_ADDRESS, CLIENT_ADDRESS = "10.213.77.1", "10.213.77.2"

#: The vanishing client: joins as `ghost`, says so, then waits forever without reading.
GHOST = """
import socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def frame():
    size = struct.unpack(">H", s.recv(2, socket.MSG_WAITALL))[0]
    return s.recv(size, socket.MSG_WAITALL)
assert frame() == b"HELLO" and frame() == b"NICK"
s.sendall(struct.pack(">H", 5) + b"ghost")
assert frame() == b"READY"
print("joined", flush=True)
sys.stdin.read()
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def test_host() -> Iterator[str]:
    """A network namespace with an address of its own, reachable from here; its name."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to make a test host (network namespace)")
    try:
        _ip("netns", "add", NAMESPACE)
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot make a network namespace here: {e.stderr.decode().strip()}")
    try:
        _ip("link", "add", HOST_SIDE, "type", "veth", "peer", "name", TEST_SIDE)
        _ip("link", "set", TEST_SIDE, "netns", NAMESPACE)
        _ip("addr", "add", f"{SERVER_ADDRESS}/30", "dev", HOST_SIDE)
        _ip("link", "set", HOST_SIDE, "up")
        inside = ("netns", "exec", NAMESPACE, "ip")
        _ip(*inside, "addr", "add", f"{CLIENT_ADDRESS}/30", "dev", TEST_SIDE)
        _ip(*inside, "link", "set", TEST_SIDE, "up")
        yield NAMESPACE
    finally:
        subprocess.run(["ip", "link", "del", HOST_SIDE], capture_output=True)
        subprocess.run(["ip", "netns", "del", NAMESPACE], capture_output=True)


@pytest_twisted.ensureDeferred
async def test_a_vanished_peer_is_dropped_and_its_nickname_freed(
    tmp_path: Path, test_host: str
) -> None:
    server = start_twistd(
        tmp_path,
        "--port", f"tcp:0:interface={SERVER_ADDRESS}",
        "--keepalive-idle", "1", "--keepalive-interval", "1", "--keepalive-count", "2",
        "--shutdown-grace", "0",
    )  # fmt: skip
    port = await server.listening
    watcher = await connect(port, SERVER_ADDRESS)
    await watcher.join("watcher")
    ghost = subprocess.Popen(
        ["ip", "netns", "exec", test_host, sys.executable, "-c", GHOST, SERVER_ADDRESS, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert (await watcher.until_event("join"))["user"] == "ghost"
        _ip("netns", "exec", test_host, "ip", "link", "set", TEST_SIDE, "down")  # gone
        leave = await watcher.until_event("leave")  # within the test's deadline (10 s)
        assert (leave["user"], leave["reason"]) == ("ghost", "disconnected")
        again = await connect(port, SERVER_ADDRESS)
        await again.join("ghost")  # the nickname is free
    finally:
        ghost.kill()
        ghost.wait()
        server.transport.signalProcess("TERM")
        await server.ended
