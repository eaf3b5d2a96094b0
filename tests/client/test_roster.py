"""Who is online, followed from the server's notices (what Tab completes)."""

from __future__ import annotations

from typing import Any

from chatproto.client.incoming import Notice, classify
from chatproto.client.roster import MAX_NAMES, Roster
from tests.client.fakes import notice


def heard(roster: Roster, event: str, **fields: Any) -> None:
    item = classify(notice(event, **fields))
    assert isinstance(item, Notice)
    roster.heard(item)


def test_welcome_join_leave_and_who() -> None:
    roster = Roster()
    heard(roster, "welcome", users=["alice", "bob"])
    heard(roster, "join", user="Carol")
    heard(roster, "leave", user="BOB", reason="bye")
    assert roster.names() == ["alice", "Carol"]
    heard(roster, "who", users=["dave", 7, "alice"])
    assert roster.names() == ["dave", "alice"]
    heard(roster, "error", code="x")
    heard(roster, "join")
    assert roster.names() == ["dave", "alice"]


def test_a_server_cannot_make_the_list_grow_without_bound() -> None:
    roster = Roster()
    for n in range(MAX_NAMES + 5):
        heard(roster, "join", user=f"u{n}")
    assert len(roster.names()) == MAX_NAMES
