"""Issue 21's table and goals: joins, handshakes, memory and chat p99 of every door and peer.

Pure functions over the runner's medians (L{bench.run_bench}: one dict per target, keyed
'phase.figure'): one column per door and peer, each figure with the generator's own CPU in
the phase that measured it beside it, so a reader sees whether the generator kept up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.figures import fmt, number

#: The doors, then the peers, in the order of the table's columns.
COLUMNS = [
    "chatproto",
    "chatproto-ws",
    "chatproto-irc",
    "ngircd",
    "inspircd",
    "node-ws",
    "go-ws",
]
#: What each column is, in its heading.
HEADINGS = {
    "chatproto": "chatproto TCP",
    "chatproto-ws": "chatproto-ws",
    "chatproto-irc": "chatproto-irc",
}
IRC_PEERS = ("ngircd", "inspircd")
#: The idle clients of the memory goals (the one-run phase of L{bench.run_bench}).
IDLE_CLIENTS = 10_000
#: The handshakes in flight the handshake goal is stated at.
GOAL_INFLIGHT = 100
#: The room size the goals other than memory are stated at.
GOAL_CLIENTS = 1000
#: The phase of the memory goals' figures (L{IDLE_CLIENTS} clients, whatever the room size).
IDLE_PHASE = "idle10k"

Medians = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Row:
    """One row of the table: its figure, and the generator CPU of the phase it comes from."""

    label: str
    metric: str
    gen_cpu: str | None


ROWS = [
    Row("joins/s N={big}", "joins.joins_per_s", "joins.gen_cpu"),
    Row("handshakes in flight", "joins.inflight", None),
    Row("handshake p50 ms", "joins.handshake_p50_ms", "joins.gen_cpu"),
    Row("handshake p99 ms", "joins.handshake_p99_ms", "joins.gen_cpu"),
    Row("KiB per idle client N={big}", "rss.kib_per_client", "joins.gen_cpu"),
    Row(
        f"KiB per idle client N={IDLE_CLIENTS:,}",
        f"{IDLE_PHASE}.kib_per_client",
        f"{IDLE_PHASE}.gen_cpu",
    ),
    Row("chat p99 ms N={big} 50/s", "latency.p99_ms", "latency.gen_cpu"),
]


def cell(value: float | None, gen_cpu: float | None) -> str:
    """A figure with the generator's CPU (share of a core) beside it: '4,271 (gen 35%)'."""
    if value is None or gen_cpu is None:
        return fmt(value)
    return f"{fmt(value)} (gen {gen_cpu:.0%})"


def summary_table(meds: Medians, big: int = 1000) -> str:
    """The table: one column per measured door and peer, a row per figure measured."""
    names = [n for n in COLUMNS if n in meds]
    rows = [["figure", *(HEADINGS.get(n, n) for n in names)]]
    for row in ROWS:
        if all(meds[n].get(row.metric) is None for n in names):
            continue
        cells = [
            cell(meds[n].get(row.metric), meds[n].get(row.gen_cpu) if row.gen_cpu else None)
            for n in names
        ]
        rows.append([row.label.format(big=big), *cells])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row_cells in enumerate(rows):
        first, *rest = row_cells
        lines.append(
            "  ".join(
                [
                    first.ljust(widths[0]),
                    *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)),
                ]
            )
        )
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


@dataclass(frozen=True)
class Goal:
    """One of issue 21's goals: a target's figure against a number or the best peer's."""

    name: str
    target: str
    metric: str
    #: A fixed bound, or the peers whose best figure is the bound.
    bound: float | tuple[str, ...]
    #: Higher is better (the figure must reach the bound) or lower is (stay under it).
    at_least: bool
    #: Strictly beyond the bound.
    strict: bool = False
    #: The figure counts only when measured with this many handshakes in flight.
    inflight: int | None = None


GOALS = [
    Goal("TCP joins/s >= 10,000", "chatproto", "joins.joins_per_s", 10_000, True),
    Goal("WS joins/s >= 6,000", "chatproto-ws", "joins.joins_per_s", 6_000, True),
    Goal("IRC joins/s >= 6,000", "chatproto-irc", "joins.joins_per_s", 6_000, True),
    *(
        Goal(
            f"{door} handshake p99 < 20 ms at {GOAL_INFLIGHT} in flight",
            name,
            "joins.handshake_p99_ms",
            20,
            False,
            strict=True,
            inflight=GOAL_INFLIGHT,
        )
        for door, name in (("TCP", "chatproto"), ("WS", "chatproto-ws"), ("IRC", "chatproto-irc"))
    ),
    Goal("WS joins/s >= the Go hub's", "chatproto-ws", "joins.joins_per_s", ("go-ws",), True),
    *(
        Goal(
            f"{door} KiB per idle client N={IDLE_CLIENTS:,} <= {kib}",
            name,
            f"{IDLE_PHASE}.kib_per_client",
            kib,
            False,
        )
        for door, name, kib in (
            ("WS", "chatproto-ws", 6),
            ("IRC", "chatproto-irc", 4),
            ("TCP", "chatproto", 3),
        )
    ),
    Goal("IRC chat p99 <= best IRC peer's", "chatproto-irc", "latency.p99_ms", IRC_PEERS, False),
]


@dataclass(frozen=True)
class Verdict:
    """A goal checked against the medians: met or not, the figure and the bound."""

    goal: Goal
    met: bool
    measured: float
    bound: float
    #: Which peer set the bound, for a goal against the best peer.
    peer: str | None = None


def bound_of(goal: Goal, meds: Medians) -> tuple[float, str | None] | str:
    """The goal's bound and the peer that set it, or why there is none (no peer measured)."""
    if not isinstance(goal.bound, tuple):
        return float(goal.bound), None
    figures = [(meds[p][goal.metric], p) for p in goal.bound if goal.metric in meds.get(p, {})]
    if not figures:
        return f"{', '.join(goal.bound)}: not measured"
    return max(figures) if goal.at_least else min(figures)


def check(goal: Goal, meds: Medians, big: int = GOAL_CLIENTS) -> Verdict | str:
    """The goal's verdict, or why it was not measured (C{big}: the run's room size)."""
    if big != GOAL_CLIENTS and not goal.metric.startswith(IDLE_PHASE + "."):
        return f"stated at N={GOAL_CLIENTS:,}, measured at N={big:,}"
    ours = meds.get(goal.target, {})
    measured = ours.get(goal.metric)
    if measured is None:
        return f"{goal.target}: not measured"
    if goal.inflight is not None and ours.get("joins.inflight") != goal.inflight:
        return f"{goal.target}: measured with {ours.get('joins.inflight', 0):g} in flight"
    bound = bound_of(goal, meds)
    if isinstance(bound, str):
        return bound
    limit, peer = bound
    if goal.at_least:
        met = measured > limit if goal.strict else measured >= limit
    else:
        met = measured < limit if goal.strict else measured <= limit
    return Verdict(goal, met, measured, limit, peer)


def describe(goal: Goal, verdict: Verdict | str) -> str:
    """One goal's line: met or missed and by how much, or why it was not measured."""
    if isinstance(verdict, str):
        return f"{goal.name}: not measured ({verdict})"
    ratio = verdict.measured / verdict.bound if verdict.bound else float("inf")
    word = "ok" if verdict.met else "MISSED"
    bound = f"{verdict.peer} {number(verdict.bound)}" if verdict.peer else number(verdict.bound)
    return f"{goal.name}: {word} ({number(verdict.measured)} vs {bound}: {ratio:.2f}x)"


def goal_lines(meds: Medians, big: int = GOAL_CLIENTS) -> list[str]:
    """Every goal's line, in order."""
    return [describe(goal, check(goal, meds, big)) for goal in GOALS]


def goal_report(meds: Medians, big: int = GOAL_CLIENTS) -> dict[str, object]:
    """The goals for the JSON report: met, measured and bound, or why not measured."""
    report: dict[str, object] = {}
    for goal in GOALS:
        verdict = check(goal, meds, big)
        if isinstance(verdict, str):
            report[goal.name] = {"measured": None, "why": verdict}
        else:
            report[goal.name] = {
                "met": verdict.met,
                "measured": verdict.measured,
                "bound": verdict.bound,
                **({"peer": verdict.peer} if verdict.peer else {}),
            }
    return report


def logins_lines(figures: dict[str, Any]) -> list[str]:
    """Item 6 of issue 21 from L{bench.logins}' JSON: argon2id verifications/s on one core,
    the server's logins/s under the storm, chat p99 idle and during it, each with the
    generator's CPU beside it (the chat client's and the logging-in clients' process)."""
    hashing = figures["argon2id"]
    speed = figures["per_core"]
    lines = [
        f"argon2id m={hashing['memory_kib']} KiB, t={hashing['iterations']}, "
        f"p={hashing['lanes']}; {figures['hashing_threads']} hashing thread(s) in the server",
        f"  argon2id verifications/s, one core: {speed['verifications_per_s']:g} "
        f"({speed['hashes_per_s']:g} hashes/s; measured by the generator's own process)",
    ]
    logins, idle, storm = (figures.get(k) for k in ("server_logins", "chat_idle", "chat_storm"))
    if logins and idle and storm:
        answers = ", ".join(f"{k} {v}" for k, v in logins["answers"].items())
        lines += [
            f"  logins/s by the server, {logins['rate']:g} tried/s for {logins['seconds']:g} s: "
            f"{logins['logins_per_s']:g} (gen {storm['gen_cpu']:.0%}; answers {answers})",
            f"  chat p99 ms, idle: {idle['p99_ms']:g} (gen {idle['gen_cpu']:.0%}; "
            f"max {idle['max_ms']:g} over {idle['count']} messages)",
            f"  chat p99 ms, during the login storm: {storm['p99_ms']:g} "
            f"(gen {storm['gen_cpu']:.0%}; max {storm['max_ms']:g} over {storm['count']} messages)",
        ]
    return lines
