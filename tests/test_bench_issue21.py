"""Issue 21's table and goals in `make bench` (bench/issue21.py, bench/run_bench.py): what
they print from given medians; no timing."""

from __future__ import annotations

import re
from pathlib import Path

from bench.adapters import ChatAdapter
from bench.issue21 import goal_lines, goal_report, logins_lines, summary_table
from bench.loadgen import Door, LoadGenerator, Probe
from bench.run_bench import Target, idle_figures, with_room_for_idle_clients

#: Medians of a run at N=1000: our three doors, the IRC peers and the Go hub.
MEDS: dict[str, dict[str, float]] = {
    "chatproto": {
        "joins.joins_per_s": 4271.0,
        "joins.inflight": 100.0,
        "joins.handshake_p50_ms": 9.5,
        "joins.handshake_p99_ms": 37.2,
        "joins.gen_cpu": 0.35,
        "rss.kib_per_client": 2.9,
        "idle10k.kib_per_client": 3.24,
        "idle10k.gen_cpu": 0.5,
        "latency.p99_ms": 9.9,
        "latency.gen_cpu": 0.04,
    },
    "chatproto-ws": {
        "joins.joins_per_s": 2100.0,
        "joins.inflight": 100.0,
        "joins.handshake_p99_ms": 19.0,
        "joins.gen_cpu": 0.2,
        "idle10k.kib_per_client": 5.5,
        "idle10k.gen_cpu": 0.4,
    },
    "chatproto-irc": {
        "joins.joins_per_s": 1500.0,
        "joins.inflight": 32.0,
        "joins.handshake_p99_ms": 15.0,
        "latency.p99_ms": 12.8,
        "latency.gen_cpu": 0.05,
    },
    "ngircd": {"latency.p99_ms": 9.3, "latency.gen_cpu": 0.04, "joins.inflight": 8.0},
    "inspircd": {"latency.p99_ms": 14.0, "latency.gen_cpu": 0.04},
    "go-ws": {"joins.joins_per_s": 7767.0, "joins.gen_cpu": 0.5},
}


def cells(table: str) -> dict[str, list[str]]:
    """A printed table's rows by label: its cells (columns are two spaces or more apart)."""
    lines = table.splitlines()
    rows = [re.split(r"\s{2,}", line.strip()) for line in [lines[0], *lines[2:]]]
    return {row[0]: row[1:] for row in rows}


def test_summary_table_has_a_column_per_door_and_peer_with_the_generator_cpu_beside() -> None:
    rows = cells(summary_table(MEDS))
    assert rows["figure"] == [
        "chatproto TCP", "chatproto-ws", "chatproto-irc", "ngircd", "inspircd", "go-ws",
    ]  # fmt: skip
    assert rows["joins/s N=1000"] == [
        "4,271 (gen 35%)", "2,100 (gen 20%)", "1,500", "-", "-", "7,767 (gen 50%)",
    ]  # fmt: skip
    assert rows["handshake p99 ms"][:3] == ["37.2 (gen 35%)", "19 (gen 20%)", "15"]
    assert rows["handshakes in flight"] == ["100", "100", "32", "8", "-", "-"]
    assert rows["KiB per idle client N=10,000"][:3] == ["3.24 (gen 50%)", "5.5 (gen 40%)", "-"]
    assert rows["chat p99 ms N=1000 50/s"] == [
        "9.9 (gen 4%)", "-", "12.8 (gen 5%)", "9.3 (gen 4%)", "14 (gen 4%)", "-",
    ]  # fmt: skip


def test_summary_table_leaves_out_what_no_target_measured() -> None:
    rows = cells(summary_table({"go-ws": {"joins.joins_per_s": 7767.0}}, big=300))
    assert rows == {"figure": ["go-ws"], "joins/s N=300": ["7,767"]}


def test_goals_say_met_or_missed_by_how_much_against_a_number_or_the_best_peer() -> None:
    lines = goal_lines(MEDS)
    assert lines == [
        "TCP joins/s >= 10,000: MISSED (4,271 vs 10,000: 0.43x)",
        "WS joins/s >= 6,000: MISSED (2,100 vs 6,000: 0.35x)",
        "IRC joins/s >= 6,000: MISSED (1,500 vs 6,000: 0.25x)",
        "TCP handshake p99 < 20 ms at 100 in flight: MISSED (37.2 vs 20: 1.86x)",
        "WS handshake p99 < 20 ms at 100 in flight: ok (19 vs 20: 0.95x)",
        "IRC handshake p99 < 20 ms at 100 in flight: not measured "
        "(chatproto-irc: measured with 32 in flight)",
        "WS joins/s >= the Go hub's: MISSED (2,100 vs go-ws 7,767: 0.27x)",
        "WS KiB per idle client N=10,000 <= 6: ok (5.5 vs 6: 0.92x)",
        "IRC KiB per idle client N=10,000 <= 4: not measured (chatproto-irc: not measured)",
        "TCP KiB per idle client N=10,000 <= 3: MISSED (3.24 vs 3: 1.08x)",
        "IRC chat p99 <= best IRC peer's: MISSED (12.8 vs ngircd 9.3: 1.38x)",
    ]


def test_goals_at_another_room_size_check_only_the_memory_at_10000() -> None:
    report = goal_report(MEDS, big=300)
    assert report["TCP joins/s >= 10,000"] == {
        "measured": None,
        "why": "stated at N=1,000, measured at N=300",
    }
    assert report["TCP KiB per idle client N=10,000 <= 3"] == {
        "met": False,
        "measured": 3.24,
        "bound": 3.0,
    }


def test_goal_against_peers_none_of_which_ran() -> None:
    meds = {"chatproto-irc": {"latency.p99_ms": 12.8}}
    assert goal_lines(meds)[-1] == (
        "IRC chat p99 <= best IRC peer's: not measured (ngircd, inspircd: not measured)"
    )


def test_logins_figures_with_the_generator_cpu_beside() -> None:
    figures = {
        "argon2id": {"memory_kib": 19456, "iterations": 2, "lanes": 1},
        "hashing_threads": 1,
        "per_core": {"hashes_per_s": 50.7, "verifications_per_s": 52.1},
        "chat_idle": {"max_ms": 3.64, "p99_ms": 2.37, "count": 59, "gen_cpu": 0.01},
        "chat_storm": {"max_ms": 12.0, "p99_ms": 9.74, "count": 60, "gen_cpu": 0.029},
        "server_logins": {
            "rate": 50.0,
            "seconds": 10.0,
            "started": 500,
            "answers": {"READY": 300, "auth-failed": 200},
            "logins_per_s": 30.0,
        },
    }
    assert logins_lines(figures) == [
        "argon2id m=19456 KiB, t=2, p=1; 1 hashing thread(s) in the server",
        "  argon2id verifications/s, one core: 52.1 (50.7 hashes/s; measured by the "
        "generator's own process)",
        "  logins/s by the server, 50 tried/s for 10 s: 30 (gen 3%; answers READY 300, "
        "auth-failed 200)",
        "  chat p99 ms, idle: 2.37 (gen 1%; max 3.64 over 59 messages)",
        "  chat p99 ms, during the login storm: 9.74 (gen 3%; max 12 over 60 messages)",
    ]
    del figures["server_logins"]
    assert len(logins_lines(figures)) == 2


def test_idle_phase_admits_10000_clients_joined_100_at_a_time() -> None:
    target = Target("chatproto", [("chat", 0)], 32, lambda ports, _d: ["twistd", str(ports[0])])
    idle = with_room_for_idle_clients(target)
    assert idle.command([5], Path(".")) == ["twistd", "5", "--max-clients", "10200"]
    assert idle.inflight == 100
    run = {"joins": {"joins_per_s": 284, "gen_cpu": 0.5}, "rss": {"kib_per_client": 3.24}}
    assert idle_figures(run) == {"joins_per_s": 284, "gen_cpu": 0.5, "kib_per_client": 3.24}


def test_generator_cpu_is_reported_for_a_phase_shorter_than_a_clock_tick() -> None:
    generator = LoadGenerator([Door(ChatAdapter(), ("127.0.0.1", 9))], None, 1)
    begin = Probe(wall=10.0, cpu=1.0, server_cpu=None, cores={})
    assert generator.costs(begin, Probe(10.1, 1.05, None, {})) == {"gen_cpu": 0.5}
    assert generator.costs(begin, Probe(11.0, 1.5, None, {})) == {"gen_cpu": 0.5}
