"""End to end: at shutdown a real `twistd` process sends every connection of every door
its closing bytes before it exits (docs/protocol.md sections 8-10)."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted
from twisted.internet import reactor, ssl
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol, wrapClientTLS
from twisted.internet.error import ConnectionDone

from tests.certs import make_certificate
from tests.irc.clients import connect_irc
from tests.loopback import RawClient
from tests.test_twistd import start_twistd
from tests.test_websocket_twistd import logged_port
from tests.websocket_client import connect_ws

#: Enough connections per door that closing bytes queued behind one another would be lost
#: if the process exited as soon as it had queued them.
PER_DOOR = 4


@pytest_twisted.ensureDeferred
async def test_every_door_gets_its_closing_bytes_before_the_process_exits(
    tmp_path: Path,
) -> None:
    cert, key = make_certificate(tmp_path)
    server = start_twistd(
        tmp_path,
        "--port", f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
        "--ws-port", "tcp:0:interface=127.0.0.1",
        "--irc-port", "tcp:0:interface=127.0.0.1",
        "--irc-server-name", "irc.test",
        "--shutdown-grace", "0",
    )  # fmt: skip
    tls_port = await server.listening
    ws_port = await logged_port(server, rb"Site starting on (\d+)")
    irc_port = await logged_port(server, rb"IrcFactory starting on (\d+)")

    trust = ssl.optionsForClientTLS("localhost", ssl.Certificate.loadPEM(cert.read_bytes()))
    terminals = []
    for number in range(PER_DOOR):
        tcp = TCP4ClientEndpoint(reactor, "127.0.0.1", tls_port)
        terminal = await connectProtocol(wrapClientTLS(trust, tcp), RawClient())
        await terminal.join(f"terminal{number}")
        terminals.append(terminal)
    browsers = [await connect_ws(ws_port) for _ in range(PER_DOOR)]
    for number, browser in enumerate(browsers[1:]):  # the first is still choosing
        await browser.join(f"browser{number}")
    irc_users = [await connect_irc(irc_port) for _ in range(PER_DOOR)]
    for number, irc_user in enumerate(irc_users):
        await irc_user.register(f"irc{number}")

    server.transport.signalProcess("TERM")
    for terminal in terminals:
        await terminal.closed()
        assert terminal.end_reason is not None
        assert terminal.end_reason.check(ConnectionDone), terminal.end_reason  # close_notify
    for browser in browsers:
        await browser.closed()
    assert [browser.close_code for browser in browsers] == [1001] * PER_DOOR
    for irc_user in irc_users:
        closing = await irc_user.until(lambda line: line.startswith("ERROR "))
        assert closing[-1] == "ERROR :Closing link (Server shutting down)"
        await irc_user.closed()
    await server.ended
    assert b"Traceback" not in server.output
