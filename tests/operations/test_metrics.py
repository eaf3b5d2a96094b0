"""The metrics of docs/protocol.md section 15, counted from a room on a fake clock."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from twisted.internet.task import Clock

from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.operations.metrics import (
    Metrics,
    ModerationCounting,
    RoomCollector,
    process_registry,
)
from tests.fakes import FakeClient, MemoryHistory, MemoryRoomStores
from tests.irc.fakes import FakeIrcClient


def metered_room(**limits: Any) -> tuple[Hall, Clock, CollectorRegistry]:
    """A room on a fake clock whose observer counts into a registry of its own."""
    clock = Clock()
    clock.advance(1_800_000_000)
    registry = process_registry()
    hall = Hall(
        RoomConfig(**limits),
        MemoryHistory(),
        clock,
        room_stores=MemoryRoomStores(),
        observer=Metrics(registry),
    )
    registry.register(RoomCollector(hall))
    return hall, clock, registry


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """A sample's value now (0 when it has none yet)."""
    return registry.get_sample_value(name, labels) or 0.0


def test_messages_deliveries_and_what_the_room_holds() -> None:
    hall, _, registry = metered_room(rate=0)
    alice, bob, carol = (FakeClient(hall, port=40000 + n) for n in range(3))
    alice.join("alice")
    bob.join("bob")  # carol is still choosing a nickname
    alice.send_json({"message": "one"})
    alice.send_json({"message": "two"})
    bob.send_json({"to": "alice", "message": "psst"})
    alice.send_json({"message": ""})
    alice.received()

    assert value(registry, "chatproto_messages_accepted_total", kind="public") == 2
    assert value(registry, "chatproto_messages_accepted_total", kind="private") == 1
    # Two public messages to two members (the sender's copy included), one private
    # message to its recipient and its sender's copy.
    assert value(registry, "chatproto_deliveries_total") == 2 * 2 + 2
    assert value(registry, "chatproto_refusals_total", code="empty") == 1
    assert value(registry, "chatproto_store_write_seconds_count") == 2
    assert value(registry, "chatproto_fanout_turn_seconds_count") >= 1
    assert value(registry, "chatproto_connections", door="tcp") == 3
    assert value(registry, "chatproto_connections", door="irc") == 0
    assert value(registry, "chatproto_members") == 2
    assert value(registry, "chatproto_rooms") == 1
    assert value(registry, "process_cpu_seconds_total") > 0
    carol.drop()


def test_a_member_that_joins_mid_turn_is_counted_for_what_it_is_sent() -> None:
    hall, _, registry = metered_room(rate=0)
    alice, bob = FakeClient(hall), FakeClient(hall, port=40001)
    alice.join("alice")
    alice.send_json({"message": "before bob"})  # in bob's replay, not delivered live
    bob.join("bob")
    alice.send_json({"message": "after bob"})
    alice.received()
    bob.received()
    assert value(registry, "chatproto_deliveries_total") == 1 + 2


def test_a_sender_that_does_not_hear_its_own_is_not_counted_for_them() -> None:
    hall, _, registry = metered_room(rate=0)
    alice, bob = FakeIrcClient(hall), FakeClient(hall, port=40001)
    alice.register("alice")  # an IRC client without echo-message
    bob.join("bob")
    alice.send("PRIVMSG #chat :one", "PRIVMSG #chat :two")
    bob.send_json({"message": "three"})
    heard = [line for line in alice.lines() if " PRIVMSG " in line]
    assert heard == [":bob!bob@chatproto PRIVMSG #chat :three"]
    bob.received()
    assert value(registry, "chatproto_deliveries_total") == 2 + 2


def test_drops_by_reason() -> None:
    hall, clock, registry = metered_room(rate=1, burst=1, flood_errors=2, handshake_timeout=5)
    flooder, silent = FakeClient(hall), FakeClient(hall, port=40001)
    flooder.join("flooder")
    for n in range(3):
        flooder.send_json({"message": f"{n}"})
    clock.advance(5)
    assert flooder.closed and silent.closed
    assert value(registry, "chatproto_drops_total", reason="flood") == 1
    assert value(registry, "chatproto_drops_total", reason="timeout") == 1
    assert value(registry, "chatproto_refusals_total", code="rate-limited") == 2


def test_moderation_actions_are_counted_off_the_audit_log() -> None:
    registry = process_registry()
    counting = ModerationCounting(Metrics(registry))
    counting({"event_kind": "moderation", "action": "kick", "by": "alice", "user": "bob"})
    counting({"event_kind": "moderation", "action": "found", "by": "alice"})
    counting({"event_kind": "join", "action": "kick"})
    assert value(registry, "chatproto_moderation_actions_total", action="kick") == 1
    assert b'action="found"' not in generate_latest(registry)


def test_no_label_holds_a_nickname_or_a_room_name() -> None:
    hall, _, registry = metered_room(rate=0)
    alice = FakeClient(hall)
    alice.join("alice")
    alice.send_json({"command": "join", "room": "#secret-plans"})
    alice.send_json({"message": "hi", "room": "#secret-plans"})
    alice.received()
    exposition = generate_latest(registry)
    assert value(registry, "chatproto_rooms") == 2
    assert b"alice" not in exposition
    assert b"secret-plans" not in exposition


def test_the_histograms_buckets_are_cumulative_and_hold_their_bound() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    for seconds in (0.0001, 0.0003, 2.0):
        metrics.turn_ended(seconds)
    name = "chatproto_fanout_turn_seconds"
    assert value(registry, f"{name}_bucket", le="0.0001") == 1  # a bound holds itself
    assert value(registry, f"{name}_bucket", le="0.0005") == 2
    assert value(registry, f"{name}_bucket", le="1.0") == 2
    assert value(registry, f"{name}_bucket", le="+Inf") == 3
    assert value(registry, f"{name}_count") == 3
    assert value(registry, f"{name}_sum") == 2.0004
    text = generate_latest(registry).decode()
    assert f'{name}_bucket{{le="0.00025"}} 1.0' in text
