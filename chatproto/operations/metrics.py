"""The server's Prometheus metrics (docs/operations.md, docs/protocol.md section 15).

L{Metrics} is the room's L{IRoomObserver}: the core tells it what happens and it
counts. Moderation actions are counted off the audit log (L{ModerationCounting}:
one `event_kind` `moderation` event per action), so that moderation needs no
hook of its own. What can be read off the room at any moment (connections by door,
members, rooms) is read when Prometheus scrapes, by L{RoomCollector}, so that
nothing is counted twice and nothing drifts. Each server has a registry of its
own, process metrics included (several servers can run in one test process).

Every label value comes from a closed set named here or in the core: doors,
error codes, drop reasons, message kinds, login results, moderation actions.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.utils import floatToGoString
from twisted.application.service import Service
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from zope.interface import implementer

from chatproto.core.admission import Place
from chatproto.core.errors import ErrorCode
from chatproto.core.hall import Hall
from chatproto.core.observer import IRoomObserver
from chatproto.doors.irc.session import IrcSession
from chatproto.doors.packets.dialogue import PacketSession
from chatproto.doors.websocket.protocol import WEBSOCKET_CODEC

#: The `door` label: the three doors, and `web` for a connection to the WebSocket
#: door's port that is not (yet) a chat socket (a page being fetched).
DOORS = ("tcp", "websocket", "irc", "web")
#: The `reason` label of drops: a client that did not read, one that flooded, one that
#: did not choose a nickname in time.
DROP_REASONS = ("slow", "flood", "timeout")
#: The `action` label of moderation actions: the commands of docs/protocol.md section 14.
MODERATION_ACTIONS = (
    "kick", "mute", "unmute", "ban", "unban", "redact", "op", "deop", "voice", "devoice",
    "topic-lock", "moderated", "announce",
)  # fmt: skip
#: Fan-out turns take microseconds to milliseconds; a slow one tens of milliseconds.
TURN_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
#: A file append takes microseconds, a Redis round trip about a millisecond.
STORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.0)


@implementer(IRoomObserver)
class Metrics:
    """Counts what the room reports, in C{registry}."""

    def __init__(self, registry: CollectorRegistry) -> None:
        #: Where the metrics are kept (what `/metrics` shows).
        self.registry = registry
        # The hot path (every message, every turn) counts in plain numbers, read at each
        # scrape (L{HotPath}): prometheus_client's own metrics take a lock per update,
        # which cost the fan-out a tenth of its deliveries (docs/performance.md).
        self._hot = HotPath()
        registry.register(self._hot)
        self._refused = Counter(
            "chatproto_refusals",
            "Frames refused with an error notice, by error code",
            ["code"],
            registry=registry,
        )
        self._dropped = Counter(
            "chatproto_drops",
            "Connections the server cut off, by reason",
            ["reason"],
            registry=registry,
        )
        self._logins = Counter(
            "chatproto_logins",
            "Passwords tried on accounts, by result (ok, failed)",
            ["result"],
            registry=registry,
        )
        self._moderated = Counter(
            "chatproto_moderation_actions",
            "Moderation actions taken by operators, by action",
            ["action"],
            registry=registry,
        )
        # Every label value shows from the start, at 0: a dashboard's rate() needs it.
        # The children are kept: labels() takes a lock and builds a key on every call.
        self._refused_by = {str(code): self._refused.labels(str(code)) for code in ErrorCode}
        for reason in DROP_REASONS:
            self._dropped.labels(reason)
        for result in ("ok", "failed"):
            self._logins.labels(result)
        for action in MODERATION_ACTIONS:
            self._moderated.labels(action)

    def accepted(self, kind: str) -> None:
        """Count an accepted message."""
        self._hot.accepted[kind] += 1

    def refused(self, code: str) -> None:
        """Count a refused frame."""
        self._refused_by[code].inc()

    def delivered(self, count: int) -> None:
        """Count a batch's deliveries."""
        self._hot.deliveries += count

    def turn_ended(self, seconds: float) -> None:
        """Record how long a turn's end took."""
        self._hot.turns.observe(seconds)

    def stored(self, seconds: float) -> None:
        """Record how long a store write took."""
        self._hot.stores.observe(seconds)

    def dropped(self, reason: str) -> None:
        """Count a connection cut off."""
        self._dropped.labels(reason).inc()

    def logged_in(self, succeeded: bool) -> None:
        """Count a login attempt."""
        self._logins.labels("ok" if succeeded else "failed").inc()

    def moderated(self, action: str) -> None:
        """Count a moderation action (one of L{MODERATION_ACTIONS})."""
        self._moderated.labels(action).inc()


@implementer(ILogObserver)
class ModerationCounting(Service):
    """Counts each moderation action logged (`event_kind` `moderation`) into
    L{Metrics.moderated}, while the server runs; actions not in L{MODERATION_ACTIONS}
    (a room's founder recorded) are not counted, so the label stays bounded."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def __call__(self, event: LogEvent) -> None:
        """Look at one log event."""
        if event.get("event_kind") == "moderation":
            action = event.get("action")
            if action in MODERATION_ACTIONS:
                self._metrics.moderated(action)

    def startService(self) -> None:
        """Watch the log."""
        super().startService()  # type: ignore[no-untyped-call]
        globalLogPublisher.addObserver(self)

    def stopService(self) -> None:
        """Stop watching."""
        super().stopService()  # type: ignore[no-untyped-call]
        globalLogPublisher.removeObserver(self)


def door_of(place: Place) -> str:
    """The door (one of L{DOORS}) a counted connection came through."""
    if isinstance(place, IrcSession):
        return "irc"
    if isinstance(place, PacketSession):
        return "websocket" if place.codec is WEBSOCKET_CODEC else "tcp"
    return "web"


class PlainHistogram:
    """A histogram in plain numbers, observed on the reactor thread: a count per bucket
    and the sum, made cumulative only when Prometheus scrapes."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        #: How many observations fell in each bucket (the last: above every bound).
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        """Count one observation (a bucket holds what is less than or equal to it)."""
        self.counts[bisect_left(self.buckets, seconds)] += 1
        self.total += seconds

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        """The histogram as Prometheus shows it: cumulative buckets, `+Inf`, the sum."""
        counts, running, shown = list(self.counts), 0, []
        bounds = (*map(floatToGoString, self.buckets), "+Inf")
        for bound, count in zip(bounds, counts, strict=True):
            running += count
            shown.append((bound, running))
        return HistogramMetricFamily(name, documentation, buckets=shown, sum_value=self.total)


class HotPath:
    """What the room reports on its hot path (messages accepted, deliveries, the fan-out
    turn's and the store write's durations), counted in plain numbers and read at each
    scrape. The scrape runs in a thread of the reactor's pool: it copies the numbers,
    so one scrape may see a count a message ahead of a sum, never a torn number."""

    def __init__(self) -> None:
        self.accepted = dict.fromkeys(("public", "private"), 0)
        self.deliveries = 0
        self.turns = PlainHistogram(TURN_BUCKETS)
        self.stores = PlainHistogram(STORE_BUCKETS)

    def collect(self) -> Iterable[Metric]:
        """The hot path's counters and histograms."""
        accepted = CounterMetricFamily(
            "chatproto_messages_accepted",
            "Messages accepted: public ones once stored, private ones once sent",
            labels=["kind"],
        )
        for kind, count in list(self.accepted.items()):
            accepted.add_metric([kind], count)
        yield accepted
        yield CounterMetricFamily(
            "chatproto_deliveries",
            "Messages written to members: one per message per recipient, the sender's copy"
            " included",
            value=self.deliveries,
        )
        yield self.turns.family(
            "chatproto_fanout_turn_seconds",
            "Time the fan-out takes to end a reactor turn (encode and write every batch)",
        )
        yield self.stores.family(
            "chatproto_store_write_seconds",
            "Time the history store takes to answer a message's write",
        )


class RoomCollector:
    """The room's gauges, read off the hall at each scrape.

    The scrape runs in a thread of the reactor's pool (Prometheus's Twisted resource is
    a WSGI application): it only copies and counts (a list of a set, the length of a
    dict), which the interpreter does whole.
    """

    def __init__(self, hall: Hall) -> None:
        self._hall = hall

    def collect(self) -> Iterable[Metric]:
        """Connections by door, members, rooms."""
        hall = self._hall
        by_door = Tally(door_of(place) for place in hall.connections())
        connections = GaugeMetricFamily(
            "chatproto_connections",
            "Open connections by door, ones still choosing a nickname included",
            labels=["door"],
        )
        for door in DOORS:
            connections.add_metric([door], by_door[door])
        yield connections
        yield GaugeMetricFamily(
            "chatproto_members", "Members joined on this node", value=hall.member_count()
        )
        yield GaugeMetricFamily(
            "chatproto_rooms", "Rooms that exist on this node", value=len(hall.registry.rooms)
        )


def process_registry() -> CollectorRegistry:
    """A registry of one server's metrics, holding the process's own already (CPU,
    memory, open files, garbage collection, Python version)."""
    # Counters without their `_created` twins: a scrape half as long, nothing lost.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry
