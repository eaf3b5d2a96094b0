"""The WebSocket door (docs/protocol.md section 9) over real loopback sockets.

A raw WebSocket client (autobahn's, speaking only what section 9 says) chats
in the same room as word-packet clients.
"""

from __future__ import annotations

import time

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.web.client import Agent, readBody

from chatproto.core.config import RoomConfig
from tests.conftest import RunningServer, serving
from tests.loopback import DEADLINE, connect, connect_raw
from tests.test_slow_reader import flood_until_dropped, kernel_send_buffer_max, stop_reading
from tests.websocket_client import UPGRADE_REQUEST, WebSocketClient, connect_ws


async def joined_ws(server: RunningServer, nickname: str) -> WebSocketClient:
    """A WebSocket client joined as C{nickname}."""
    client = await connect_ws(server.ws_port)
    await client.join(nickname)
    return client


@pytest_twisted.ensureDeferred
async def test_handshake_selects_the_subprotocol_retry_then_ready(
    chat_server: RunningServer,
) -> None:
    client = await connect_ws(chat_server.ws_port)
    assert client.websocket_protocol_in_use == "chatproto.v1"
    assert [await client.next(), await client.next()] == ["HELLO", "NICK"]
    client.send("not valid")
    assert await client.next() == "RETRY"
    client.send("alice")
    assert await client.next() == "READY"
    welcome = await client.until_event("welcome")
    assert welcome["users"] == ["alice"]
    assert len(welcome["resume_token"]) >= 22  # 128 bits in URL-safe base64
    client.send("BYE")
    await client.closed()
    assert client.close_code == 1000


@pytest_twisted.ensureDeferred
async def test_a_client_that_offers_no_subprotocol_is_served(chat_server: RunningServer) -> None:
    client = await connect_ws(chat_server.ws_port, protocols=[])
    assert client.websocket_protocol_in_use is None
    await client.join("plain")


@pytest_twisted.ensureDeferred
async def test_chat_both_ways_with_a_word_packet_client(chat_server: RunningServer) -> None:
    tcp = await connect(chat_server.port)
    await tcp.join("alice")
    ws = await joined_ws(chat_server, "bob")
    assert (await tcp.until_event("join"))["user"] == "bob"
    tcp.send_json({"message": "hello from tcp"})
    ws.send_json({"message": "héllo from the browser"})
    for client in (tcp, ws):
        got = [await client.next_chat(), await client.next_chat()]
        assert [(p["id"], p["nickname"]) for p in got] == [(1, "alice"), (2, "bob")]
        assert got[1]["message"] == "héllo from the browser"


@pytest_twisted.ensureDeferred
async def test_nicknames_collide_across_doors(chat_server: RunningServer) -> None:
    tcp = await connect(chat_server.port)
    await tcp.join("alice")
    ws = await connect_ws(chat_server.ws_port)
    assert [await ws.next(), await ws.next()] == ["HELLO", "NICK"]
    ws.send("ALICE")
    assert await ws.next() == "RETRY"
    tcp.send("BYE")
    await tcp.closed()
    ws.send("ALICE")
    assert await ws.next() == "READY"


@pytest_twisted.ensureDeferred
async def test_replay_then_resume_without_gap_or_duplicate(chat_server: RunningServer) -> None:
    tcp = await connect(chat_server.port)
    await tcp.join("alice")
    for n in range(3):
        tcp.send_json({"message": f"m{n}"})
        await tcp.next_chat()
    ws = await connect_ws(chat_server.ws_port)
    after = await ws.join("bob")
    assert [p["message"] for p in after if p.get("history")] == ["m0", "m1", "m2"]
    token = after[-1]["resume_token"]
    for n in range(3, 5):
        tcp.send_json({"message": f"m{n}"})
        await tcp.next_chat()
    ws.transport.abortConnection()  # the browser's network drops
    again = await connect_ws(chat_server.ws_port)
    assert [await again.next(), await again.next()] == ["HELLO", "NICK"]
    again.send_json({"nickname": "bob", "since": 3, "token": token})
    assert await again.next() == "READY"
    replayed = []
    while (frame := await again.next()).get("event") != "welcome":
        replayed.append((frame["id"], frame["message"]))
    assert replayed == [(4, "m3"), (5, "m4")]


@pytest_twisted.ensureDeferred
async def test_private_messages_cross_doors(chat_server: RunningServer) -> None:
    tcp = await connect(chat_server.port)
    await tcp.join("alice")
    ws = await joined_ws(chat_server, "bob")
    ws.send_json({"message": "psst", "to": "ALICE"})
    for client in (tcp, ws):
        packet = await client.next_chat()
        assert (packet["nickname"], packet["to"], packet["message"]) == ("bob", "alice", "psst")
        assert "id" not in packet


@pytest_twisted.ensureDeferred
async def test_binary_is_malformed_and_the_connection_stays(chat_server: RunningServer) -> None:
    ws = await connect_ws(chat_server.ws_port)
    assert [await ws.next(), await ws.next()] == ["HELLO", "NICK"]
    ws.send_bytes(b"alice", binary=True)
    assert await ws.next() == "RETRY"
    ws.send("alice")
    assert await ws.next() == "READY"
    await ws.until_event("welcome")
    ws.send_bytes(b'{"message": "hi"}', binary=True)
    error = await ws.next()
    assert (error["event"], error["code"]) == ("error", "malformed")
    ws.send_bytes(b'{"message": "\xff"}')  # text that is not UTF-8: malformed too
    assert (await ws.next())["code"] == "malformed"
    ws.send_json({"message": "still here"})
    assert (await ws.next_chat())["message"] == "still here"


@pytest_twisted.ensureDeferred
async def test_over_max_message_bytes_is_too_long_and_over_a_frame_closes_1009(
    chat_server: RunningServer,
) -> None:
    ws = await joined_ws(chat_server, "big")
    ws.send_json({"message": "x" * 5000})
    assert (await ws.next())["code"] == "too-long"
    ws.send("x" * 65536)
    await ws.closed()
    assert ws.close_code == 1009


@pytest_twisted.ensureDeferred
async def test_origins_same_origin_by_default(chat_server: RunningServer) -> None:
    port = chat_server.ws_port
    await connect_ws(port, origin=f"http://127.0.0.1:{port}")  # the page's own origin
    await connect_ws(port)  # no Origin: a program, not a page
    with pytest.raises(ConnectionError, match="403"):
        await connect_ws(port, origin="http://evil.example")


@serving(RoomConfig(), origins=frozenset({"https://chat.example.org"}))
@pytest_twisted.ensureDeferred
async def test_configured_origins_replace_the_default(custom_server: RunningServer) -> None:
    port = custom_server.ws_port
    await connect_ws(port, origin="https://chat.example.org")
    with pytest.raises(ConnectionError, match="403"):
        await connect_ws(port, origin=f"http://127.0.0.1:{port}")


@serving(RoomConfig(rate=1, burst=2, flood_errors=3))
@pytest_twisted.ensureDeferred
async def test_rate_limit_then_flood_closes_1008(custom_server: RunningServer) -> None:
    ws = await joined_ws(custom_server, "fast")
    for n in range(5):
        ws.send_json({"message": f"m{n}"})
    assert [(await ws.next_chat())["message"] for _ in range(2)] == ["m0", "m1"]
    error = await ws.until_event("error")
    assert error["code"] == "rate-limited"
    assert 0 < error["retry_after"] <= 1
    await ws.closed()
    assert ws.close_code == 1008


@serving(RoomConfig(max_clients=1))
@pytest_twisted.ensureDeferred
async def test_server_full_closes_1013(custom_server: RunningServer) -> None:
    ws = await connect_ws(custom_server.ws_port)  # its place passes from HTTP to the chat
    await ws.join("alice")
    assert custom_server.room.connection_count() == 1
    tcp = await connect(custom_server.port)
    assert (await tcp.next())["code"] == "server-full"
    full = await connect_ws(custom_server.ws_port)  # let in past the limit, to be told why
    assert (await full.next())["code"] == "server-full"
    await full.closed()
    assert full.close_code == 1013
    assert custom_server.room.connection_count() == 1


@pytest_twisted.ensureDeferred
async def test_shutdown_notice_then_close_1001(chat_server: RunningServer) -> None:
    ws = await joined_ws(chat_server, "alice")
    chat_server.room.announce_shutdown(5)
    assert (await ws.until_event("shutdown"))["grace"] == 5
    chat_server.room.close_all()
    await ws.closed()
    assert ws.close_code == 1001


@pytest_twisted.ensureDeferred
async def test_served_page_carries_the_security_headers(chat_server: RunningServer) -> None:
    response = await Agent(reactor).request(
        b"GET", f"http://127.0.0.1:{chat_server.ws_port}/".encode()
    )
    body = await readBody(response)
    headers = response.headers
    assert response.code == 200
    assert b"<html" in body
    policy = headers.getRawHeaders(b"content-security-policy")[0]
    assert b"default-src 'self'" in policy and b"connect-src 'self'" in policy
    assert headers.getRawHeaders(b"x-content-type-options") == [b"nosniff"]
    assert headers.getRawHeaders(b"content-type")[0].startswith(b"text/html")


@serving(RoomConfig(), ping_interval=0.5)
@pytest_twisted.ensureDeferred
async def test_a_connection_that_answers_no_ping_is_dropped(
    custom_server: RunningServer,
) -> None:
    peer = await connect_raw(custom_server.ws_port)
    peer.send(UPGRADE_REQUEST)  # and then never a pong
    await peer.closed()
    assert b"101 Switching Protocols" in peer.received
    assert b"\x89" in peer.received  # it was pinged (opcode 9) before it was dropped


SENDQ_BYTES = 128 * 1024


@serving(RoomConfig(rate=0, sendq_bytes=SENDQ_BYTES, history_replay=0))
@pytest_twisted.ensureDeferred
async def test_slow_websocket_reader_is_dropped_while_others_get_everything(
    custom_server: RunningServer,
) -> None:
    flood_server = custom_server
    started = time.monotonic()
    slow = await joined_ws(flood_server, "slow")
    watcher = await joined_ws(flood_server, "watcher")
    flooder = await connect(flood_server.port)
    await flooder.join("flooder")
    assert (await slow.until_event("join"))["user"] == "watcher"
    assert (await slow.until_event("join"))["user"] == "flooder"
    bound = stop_reading(slow) + kernel_send_buffer_max() + 2 * SENDQ_BYTES + (1 << 20)
    sent, _, leave = await flood_until_dropped(flooder, bound, started + 3 * DEADLINE)
    assert (leave["user"], leave["reason"]) == ("slow", "slow")
    got: list[str] = []
    while len(got) < len(sent):  # the watcher gets every message, in order
        packet = await watcher.next()
        if "id" in packet:
            got.append(packet["message"])
    assert got == sent
