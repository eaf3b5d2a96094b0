"""New limits applied to a running room (a reload, docs/protocol.md section 15): new
connections and frames meet them; nobody already connected is cut off for them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from chatproto.core.nicknames import holding_key
from chatproto.operations.reload import Reloader
from chatproto.service import Options
from tests.fakes import FakeClient, make_room


def test_a_lower_limit_cuts_nobody_off_and_holds_for_new_connections() -> None:
    hall, _, _ = make_room(max_clients=3, rate=0)
    members = [FakeClient(hall, port=40000 + n) for n in range(3)]
    for n, member in enumerate(members):
        member.join(f"user{n}")
    for member in members:
        member.received()  # the others' joins
    hall.reconfigure(replace(hall.config, max_clients=1, max_message_bytes=5, motd="new"))

    late = FakeClient(hall, port=40009)
    assert late.received()[0]["code"] == "server-full"
    assert late.closed
    members[0].send_json({"message": "too long now"})
    assert [frame["code"] for frame in members[0].received()] == ["too-long"]
    members[0].send_json({"message": "short"})
    assert [frame["message"] for frame in members[1].received()] == ["short"]
    assert not any(member.closed for member in members)


def test_a_reload_applies_the_files_operators_and_limits_but_not_the_command_lines(
    tmp_path: Path,
) -> None:
    config = tmp_path / "chat.toml"
    config.write_text('operators = ["alice"]\nrate = 5\nburst = 5\n')
    options = Options()
    options.parseOptions(
        ["--config", str(config), "--burst", "7", "--history-file", str(tmp_path / "h.jsonl"),
         "--accounts-db", str(tmp_path / "a.db")]
    )  # fmt: skip
    hall, _, _ = make_room(**{"operators": frozenset(options["operators"])})
    reloader = Reloader(options, hall, [])
    config.write_text('operators = ["alice", "bob"]\nrate = 2\nburst = 1\nport = "tcp:1"\n')
    reloader.reload()
    assert hall.config.operators == {"alice", "bob"}
    assert hall.moderation.operators == {holding_key("alice"), holding_key("bob")}
    assert (hall.config.rate, hall.config.burst) == (2.0, 7)  # --burst stays: given
    assert options["port"] == "tcp:10328"  # where to listen changes only at a restart

    config.write_text('operators = ["not a nickname"]\n')
    reloader.reload()
    assert hall.config.operators == {"alice", "bob"}
