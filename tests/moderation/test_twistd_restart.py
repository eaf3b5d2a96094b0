"""End to end: bans, founders and redactions of a real `twistd chat` survive a restart."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted

from tests.accounts.test_wire import greeted, logged_in
from tests.loopback import connect
from tests.moderation.test_loopback import in_room
from tests.test_twistd import start_twistd

OPTIONS = ("--accounts-db", "a.db", "--operators", "root", "--shutdown-grace", "0")


@pytest_twisted.ensureDeferred
async def test_a_ban_and_a_redaction_survive_a_restart(tmp_path: Path) -> None:
    server = start_twistd(tmp_path, *OPTIONS)
    port = await server.listening
    root = await connect(port)
    await root.join("root")
    root.send_json({"command": "register", "password": "a long password"})
    await root.until_event("registered")
    assert (await in_room(root, "#r"))["operators"] == ["root"]
    root.send_json({"command": "ban", "room": "#r", "mask": "bob", "comment": "troll"})
    await root.until_event("moderation")
    root.send_json({"message": "the secret is 4242"})
    message_id = (await root.next_chat())["id"]
    root.send_json({"message": "kept"})
    await root.next_chat()
    root.send_json({"command": "redact", "id": message_id})
    await root.until_event("redact")
    assert b"4242" not in (tmp_path / "h.jsonl").read_bytes()
    server.transport.signalProcess("TERM")
    await server.ended

    again = start_twistd(tmp_path, *OPTIONS)
    port = await again.listening
    bob = await connect(port)
    replay = await bob.join("bob")
    assert [frame.get("message") for frame in replay if "id" in frame] == ["kept"]
    bob.send_json({"command": "join", "room": "#r"})
    refused = await bob.until_event("error")
    assert (refused["code"], refused["room"]) == ("banned", "#r")
    root = await greeted(await connect(port))
    await logged_in(root, {"nickname": "root", "password": "a long password"})
    assert (await in_room(root, "#r"))["operators"] == ["root"]
    root.send_json({"command": "bans", "room": "#r"})
    listed = await root.until_event("bans")
    assert [(ban["mask"], ban["comment"]) for ban in listed["bans"]] == [("bob", "troll")]
    again.transport.signalProcess("TERM")
    await again.ended
    assert b"Traceback" not in server.output + again.output
    assert b"event_kind" not in again.output
