"""End to end: a real irssi in tmux chats through `twistd -n chat --irc-port ...` with a
word-packet client (docs/irc.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import pytest_twisted

from tests.client.processes import Tmux, eventually
from tests.loopback import connect
from tests.test_twistd import start_twistd

pytestmark = pytest.mark.skipif(
    shutil.which("irssi") is None or shutil.which("tmux") is None,
    reason="IRSSI IS NOT INSTALLED (`make test-tools` installs it with apt-get): "
    "the IRC door's end-to-end test did not run",
)


@pytest_twisted.ensureDeferred
async def test_irssi_sees_history_and_chats_with_a_terminal_client(tmp_path: Path) -> None:
    server = start_twistd(
        tmp_path,
        "--irc-port",
        "tcp:0:interface=127.0.0.1",
        "--irc-server-name",
        "irc.test",
        "--shutdown-grace",
        "0",
    )
    bob = await connect(await server.listening)
    await bob.join("bob")
    bob.send_json({"message": "said before irssi came"})
    await bob.next_chat()
    irc_port = await eventually(lambda: server.ports.get("IrcFactory"), "the IRC door's port")

    irssi = Tmux(tmp_path)
    home = tmp_path / "irssi"
    home.mkdir()
    # irssi paces its own commands 2.2 s apart after a burst of 5, and always queues the
    # three queries that sync a channel (MODE #chat, WHO #chat, MODE #chat b) behind that
    # pace, whatever the server: 7 to 10 s on any server. Without the pacing, the channel
    # syncs as soon as the server has answered each of them.
    (home / "config").write_text(
        'settings = { "irc/core" = { cmds_max_at_once = "100"; cmd_queue_speed = "0"; }; };\n'
    )
    irssi.start(["irssi", f"--home={home}", "-c", "127.0.0.1", "-p", str(irc_port), "-n", "alice"])
    try:
        await irssi.shows_line("Welcome to the chatproto network, alice!alice@chatproto")
        await irssi.shows_line("#chat is this server's room for everyone")
        irssi.type("/window goto #chat")
        irssi.keys("Enter")
        await irssi.shows_line("said before irssi came")
        # Every sync query answered, and the MODE +i irssi sends on connecting confirmed.
        await irssi.shows_line("Join to #chat was synced in")
        await irssi.shows_line("[alice(+i)]")
        irssi.type("/join #other")  # another room, which irssi syncs as any channel
        irssi.keys("Enter")
        await irssi.shows_line("Join to #other was synced in")
        irssi.type("/window goto #chat")
        irssi.keys("Enter")
        assert (await bob.until_event("join"))["user"] == "alice"

        irssi.type("hello from irssi")
        irssi.keys("Enter")
        said = await bob.next_chat()
        assert (said["nickname"], said["message"]) == ("alice", "hello from irssi")

        bob.send_json({"message": "hello back, alice"})
        screen = await irssi.shows_line("hello back, alice")
        assert any("bob> hello back, alice" in line for line in screen), screen

        irssi.type("/quit")
        irssi.keys("Enter")
        leave = await bob.until_event("leave")
        assert (leave["user"], leave["reason"]) == ("alice", "bye")
    finally:
        irssi.stop()
        server.transport.signalProcess("TERM")
        await server.ended
    assert b"Traceback" not in server.output
