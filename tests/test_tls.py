"""The server behind an `ssl:` endpoint description, with a certificate made in the test."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted
from twisted.internet import reactor, ssl
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    connectProtocol,
    wrapClientTLS,
)

from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.doors.tcp.protocol import WordPacketFactory
from chatproto.doors.websocket.protocol import ChatWebSocketFactory
from chatproto.doors.websocket.site import chat_site
from chatproto.service import Options
from tests.certs import make_certificate
from tests.conftest import server_endpoint
from tests.fakes import MemoryHistory
from tests.loopback import RawClient
from tests.websocket_client import connect_ws


@pytest_twisted.ensureDeferred
async def test_chat_over_tls_with_hostname_check(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    options = Options()
    options.parseOptions(
        ["--port", f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
         "--history-file", str(tmp_path / "h.jsonl")]
    )  # fmt: skip
    room = Hall(RoomConfig(), MemoryHistory(), reactor)
    port = await server_endpoint(options["port"]).listen(WordPacketFactory(room))
    try:
        trust = ssl.Certificate.loadPEM(cert.read_bytes())

        async def client_for(hostname: str) -> RawClient:
            tls = ssl.optionsForClientTLS(hostname, trustRoot=trust)
            tcp = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
            return await connectProtocol(wrapClientTLS(tls, tcp), RawClient())

        alice = await client_for("localhost")
        await alice.join("alice")
        alice.send_json({"message": "secret"})
        assert (await alice.next_chat())["message"] == "secret"

        impostor = await client_for("example.com")  # the certificate does not name it
        await impostor.closed()  # the handshake fails: not even HELLO gets through
        assert impostor.frames.pending == []
    finally:
        room.close_all()
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_client_that_never_starts_tls_is_cut_at_the_handshake_timeout(
    tmp_path: Path,
) -> None:
    cert, key = make_certificate(tmp_path)
    description = f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"
    room = Hall(RoomConfig(handshake_timeout=0.2, max_clients=1), MemoryHistory(), reactor)
    port = await server_endpoint(description).listen(WordPacketFactory(room))
    try:
        tcp = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        silent = await connectProtocol(tcp, RawClient())  # speaks no TLS at all
        await silent.closed()
    finally:
        room.close_all()
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_the_web_door_over_tls_hands_its_place_to_the_chat_socket(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    room = Hall(RoomConfig(max_clients=1), MemoryHistory(), reactor)
    endpoint = f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"
    port = await server_endpoint(endpoint).listen(chat_site(ChatWebSocketFactory(room)))
    try:
        trust = ssl.Certificate.loadPEM(cert.read_bytes())
        tls = ssl.optionsForClientTLS("localhost", trustRoot=trust)
        client = await connect_ws(port.getHost().port, tls=tls)
        await client.join("alice")  # the one place passed from HTTPS to the chat socket
        assert room.connection_count() == 1
        client.send_json({"message": "over wss"})
        assert (await client.next_chat())["message"] == "over wss"
    finally:
        room.close_all()
        await port.stopListening()
