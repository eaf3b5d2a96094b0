"""End to end: `twistd -n chat --ws-port ...` serves the page and the WebSocket door."""

from __future__ import annotations

import re
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.web.client import Agent, readBody

from tests.loopback import DEADLINE, connect
from tests.test_twistd import TwistdProcess, start_twistd
from tests.websocket_client import connect_ws


async def logged_port(server: TwistdProcess, pattern: bytes) -> int:
    """The port a line of the server's log names, polled until it appears (with a deadline)."""
    deadline = reactor.seconds() + DEADLINE
    while (found := re.search(pattern, server.output)) is None:
        assert reactor.seconds() < deadline, server.output
        tick: Deferred[None] = Deferred()
        reactor.callLater(0.05, tick.callback, None)
        await tick
    return int(found.group(1))


@pytest_twisted.ensureDeferred
async def test_browser_door_and_tcp_door_in_one_twistd(tmp_path: Path) -> None:
    server = start_twistd(
        tmp_path, "--ws-port", "tcp:0:interface=127.0.0.1", "--shutdown-grace", "1"
    )
    port = await server.listening
    ws_port = await logged_port(server, rb"Site starting on (\d+)")

    page = await Agent(reactor).request(b"GET", f"http://127.0.0.1:{ws_port}/".encode())
    assert page.code == 200
    assert b"<html" in await readBody(page)

    tcp = await connect(port)
    await tcp.join("terminal")
    browser = await connect_ws(ws_port, origin=f"http://127.0.0.1:{ws_port}")
    await browser.join("browser")
    browser.send_json({"message": "from the browser"})
    assert (await tcp.next_chat())["message"] == "from the browser"
    tcp.send_json({"message": "from the terminal"})
    assert [(await browser.next_chat())["message"] for _ in range(2)] == [
        "from the browser",
        "from the terminal",
    ]

    server.transport.signalProcess("TERM")
    assert (await browser.until_event("shutdown"))["grace"] == 1
    await browser.closed()
    assert browser.close_code == 1001
    await tcp.closed()
    await server.ended
    assert b"Traceback" not in server.output
