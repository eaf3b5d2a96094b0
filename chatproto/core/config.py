"""The server's settings: every limit of docs/protocol.md sections 7 and 12 plus history
replay."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RoomConfig:
    """What a room enforces. A limit of 0 is off, except C{max_message_bytes}."""

    handshake_timeout: float = 30.0
    max_message_bytes: int = 4096
    rate: float = 10.0
    burst: int = 20
    flood_errors: int = 50
    sendq_bytes: int = 1048576
    max_clients: int = 10000
    max_per_ip: int = 64
    history_replay: int = 100
    #: Whether join and leave log lines carry the peer's address (docs/security.md).
    log_addresses: bool = False
    #: The room every member joins at READY (docs/protocol.md section 12).
    default_room: str = "#chat"
    #: Rooms that may exist at once, and rooms one member may be in (the default room counts).
    max_rooms: int = 1000
    max_rooms_per_member: int = 20
    #: The message of the day (docs/protocol.md section 15): `motd` in every welcome and
    #: the IRC MOTD; empty for none.
    motd: str = ""
    #: The accounts that operate the server (`--operators`, docs/protocol.md section 14).
    operators: frozenset[str] = frozenset()
