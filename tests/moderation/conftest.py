"""Fixtures for the moderation tests over loopback: a server whose operator is `root`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from twisted.internet import reactor

from chatproto.accounts.hashing import PasswordHashing
from chatproto.accounts.manager import Accounts
from chatproto.accounts.sqlite import SQLiteAccountStore
from chatproto.core.config import RoomConfig
from tests.accounts.conftest import db_path, hashing, store
from tests.conftest import RunningServer, running_server

__all__ = ["db_path", "hashing", "moderated_server", "store"]


@pytest.fixture
def moderated_server(
    tmp_path: Path, store: SQLiteAccountStore, hashing: PasswordHashing
) -> Iterator[RunningServer]:
    """A chat server on loopback ports (both packet doors) with accounts in a real SQLite
    file and the account `root` as its server operator (`--operators root`)."""
    accounts = Accounts(store, hashing, reactor, register_per_hour=0)
    config = RoomConfig(rate=0, operators=frozenset({"root"}))
    with running_server(tmp_path, config, accounts) as server:
        yield server
