"""Something that is not a chat server: the client gives up after --timeout, in both modes,
with one line saying why (it never sits at "Connecting..." forever)."""

from __future__ import annotations

import pytest_twisted

from tests.client.fake_server import FakeServer
from tests.client.processes import Tmux, client_argv, spawn_pipe_client


@pytest_twisted.ensureDeferred
async def test_a_server_that_says_nothing(tmux: Tmux) -> None:
    server = FakeServer()
    port = await server.listen()
    try:
        bot = spawn_pipe_client("--timeout", "0.5", "--nick", "bot", "127.0.0.1", str(port))
        silent = await server.accept()
        assert await bot.exit_status() == 1
        assert bot.stderr.decode() == (
            f"chatproto-client: no chat server at 127.0.0.1:{port}: no HELLO/NICK within 0.5 s"
            " (--timeout); it sent nothing\n"
        )
        assert bot.stdout == b""
        await silent.closed

        tmux.start(client_argv("--timeout", "0.5", "127.0.0.1", str(port)), TZ="UTC")
        await server.accept()
        screen = await tmux.shows_line("[exit status 1]")
        assert f"chatproto-client: no chat server at 127.0.0.1:{port}: no HELLO/NICK" in (
            " ".join(screen)
        )
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_a_server_that_speaks_http_and_never_closes() -> None:
    server = FakeServer()
    port = await server.listen()
    try:
        bot = spawn_pipe_client("--timeout", "0.5", "--nick", "bot", "127.0.0.1", str(port))
        web = await server.accept()
        web.send_unframed(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\n")
        assert await bot.exit_status() == 1
        assert bot.stderr.decode() == (
            f"chatproto-client: no chat server at 127.0.0.1:{port}: no HELLO/NICK within 0.5 s"
            " (--timeout); it sent b'HTTP/1.1 400 Bad Request\\r\\nConten'\n"
        )
    finally:
        await server.stop()
