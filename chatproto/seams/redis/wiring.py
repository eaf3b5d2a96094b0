"""The `--redis`, `--redis-ca` and `--node-timeout` options and the seams they build
(docs/scaling.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

from twisted.application.service import Service

from chatproto.seams.redis.address import RedisAddress, load_ca_certificates, parse_redis_url
from chatproto.seams.redis.history import RedisHistory
from chatproto.seams.redis.hub import RedisHub
from chatproto.seams.redis.moderation import RedisModeration
from chatproto.seams.redis.node import RedisNode
from chatproto.seams.redis.presence import RedisPresence
from chatproto.seams.redis.rooms import RedisRooms

#: Default seconds of silence after which a node's nicknames are freed.
DEFAULT_NODE_TIMEOUT = 10.0


def _redis_url(text: str) -> RedisAddress:
    return parse_redis_url(text)


_redis_url.coerceDoc = "redis://host:port/db, rediss://... (TLS) or unix:/path"  # type: ignore[attr-defined]


def _ca_file(path: str) -> tuple[bytes, ...]:
    return load_ca_certificates(path)


_ca_file.coerceDoc = "a file of PEM certificates"  # type: ignore[attr-defined]


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise ValueError(f"{text} is out of range: above 0")
    return value


_timeout.coerceDoc = "seconds, above 0"  # type: ignore[attr-defined]

#: Rows for usage.Options.optParameters.
REDIS_OPTIONS: list[list[Any]] = [
    ["redis", None, None, "Share the room with other nodes through Redis at this URL", _redis_url],
    ["redis-ca", None, None,
     "The CA certificates to trust for rediss:// (default: the system's)", _ca_file],
    ["node-timeout", None, DEFAULT_NODE_TIMEOUT,
     "Seconds of silence before a node's nicknames are freed (with --redis)", _timeout],
]  # fmt: skip


class Seams(NamedTuple):
    """The rooms' seams backed by Redis, and the service that connects them."""

    history: RedisHistory
    hub: RedisHub
    presence: RedisPresence
    rooms: RedisRooms
    moderation: RedisModeration
    service: NodeService


class NodeService(Service):
    """Connects the node when the application starts. Leaving is the history's
    close (after the room's grace and close_all), so stopping does nothing here."""

    def __init__(self, node: RedisNode) -> None:
        self.node = node

    def startService(self) -> None:
        """Connect to Redis (and keep reconnecting)."""
        super().startService()  # type: ignore[no-untyped-call]
        self.node.start()


def make_seams(options: Any, reactor: Any) -> Seams | None:
    """The Redis seams when `--redis` is given, else None (one node, JSON Lines history)."""
    address = options["redis"]
    if address is None:
        return None
    if options["redis-ca"] is not None:
        address = replace(address, ca_certificates=options["redis-ca"])
    config = options.room_config()
    node = RedisNode(
        address,
        reactor,
        options["history-retain"],
        options["node-timeout"],
        config.max_rooms,
        config.default_room,
    )
    return Seams(
        node.history, node.hub, node.presence, node.rooms, node.moderation, NodeService(node)
    )
