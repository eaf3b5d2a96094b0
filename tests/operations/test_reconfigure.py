"""New limits applied to a running room (a reload, docs/protocol.md section 15): new
connections and frames meet them; nobody already connected is cut off for them."""

from __future__ import annotations

from dataclasses import replace

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
