"""A real `twist --log-format json chat` process: what `/metrics` and `/healthz` say
while people chat, and that every event it logs carries `event_kind`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest_twisted

from tests.loopback import connect
from tests.operations.web import get, metrics_port
from tests.test_twistd import BIN, _spawn_twistd

PASSWORD = "correct horse battery"


def sample(exposition: str, name: str) -> float:
    """The value of the sample C{name} (with its labels, as written) in C{exposition}."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", exposition, re.MULTILINE)
    assert found is not None, f"{name} not in the metrics"
    return float(found.group(1))


@pytest_twisted.ensureDeferred
async def test_metrics_move_and_every_logged_event_has_a_kind(tmp_path: Path) -> None:
    server = _spawn_twistd(
        tmp_path,
        ["chat", "--port", "tcp:0:interface=127.0.0.1", "--history-file", "h.jsonl",
         "--accounts-db", "a.db", "--metrics-port", "tcp:0:interface=127.0.0.1",
         "--rate", "0", "--shutdown-grace", "0"],
        runner=[str(BIN / "twist"), "--log-format", "json"],
    )  # fmt: skip
    port = await server.listening
    metrics = await metrics_port(server)
    assert await get(metrics, "/healthz") == (200, "ok\n")
    status, before = await get(metrics, "/metrics")
    assert status == 200
    assert sample(before, 'chatproto_messages_accepted_total{kind="public"}') == 0

    alice = await connect(port)
    await alice.join("alice")
    alice.send_json({"command": "register", "password": PASSWORD})
    await alice.until_event("registered")
    bob = await connect(port)
    await bob.join("bob")
    alice.send_json({"message": "hello"})
    assert (await bob.next_chat())["message"] == "hello"
    bob.send_json({"message": ""})
    assert (await bob.until_event("error"))["code"] == "empty"
    carol = await connect(port)
    assert [await carol.next(), await carol.next()] == ["HELLO", "NICK"]
    carol.send_json({"nickname": "carol", "account": "alice", "password": "wrong password"})
    assert (await carol.next())["code"] == "auth-failed"
    assert await carol.next() == "RETRY"
    carol.send_json({"nickname": "carol", "account": "alice", "password": PASSWORD})
    assert await carol.next() == "READY"

    alice.send_json({"command": "join", "room": "#r"})  # she made it: she operates it
    await alice.until_event("welcome")
    bob.send_json({"command": "join", "room": "#r"})
    await bob.until_event("welcome")
    alice.send_json({"command": "kick", "room": "#r", "user": "bob"})
    assert (await bob.until_event("leave"))["reason"] == "kicked"

    _, after = await get(metrics, "/metrics")
    assert sample(after, 'chatproto_messages_accepted_total{kind="public"}') == 1
    assert sample(after, "chatproto_deliveries_total") == 2  # bob's and alice's own copy
    assert sample(after, 'chatproto_refusals_total{code="empty"}') == 1
    assert sample(after, 'chatproto_logins_total{result="ok"}') == 1
    assert sample(after, 'chatproto_logins_total{result="failed"}') == 1
    assert sample(after, 'chatproto_moderation_actions_total{action="kick"}') == 1
    assert sample(after, 'chatproto_connections{door="tcp"}') == 3
    assert sample(after, "chatproto_members") == 3
    assert sample(after, "chatproto_rooms") == 2
    assert sample(after, "chatproto_store_write_seconds_count") == 1
    assert sample(after, "process_open_fds") > 0
    assert (await get(metrics, "/elsewhere"))[0] == 404

    bob.send("BYE")
    await bob.closed()
    server.transport.signalProcess("TERM")
    await server.ended
    lines = server.output.decode().splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    ours = [event for event in events if event["log_namespace"].startswith("chatproto")]
    assert [event for event in ours if "event_kind" not in event] == []
    kinds = {event["event_kind"] for event in ours}
    assert {"start", "join", "error", "login", "moderation", "leave", "shutdown"} <= kinds
    assert "hello" not in server.output.decode()  # bodies are never logged
