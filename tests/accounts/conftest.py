"""Fixtures for the account tests: a real SQLite store in a temporary folder, the real hasher."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor

from chatproto.accounts.hashing import PasswordHashing
from chatproto.accounts.manager import Accounts
from chatproto.accounts.sqlite import SQLiteAccountStore
from chatproto.core.config import RoomConfig
from tests.conftest import RunningServer, running_server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's account database lives (not created yet)."""
    return tmp_path / "accounts.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteAccountStore]:
    """An account store on a real SQLite file, closed after the test."""
    opened = pytest_twisted.blockon(SQLiteAccountStore.open(reactor, str(db_path)))
    yield opened
    pytest_twisted.blockon(opened.close())


@pytest.fixture
def hashing() -> Iterator[PasswordHashing]:
    """The hashing service with this version's parameters, running."""
    service = PasswordHashing(reactor)
    service.startService()
    yield service
    service.stopService()


@pytest.fixture
def account_server(
    tmp_path: Path, store: SQLiteAccountStore, hashing: PasswordHashing
) -> Iterator[RunningServer]:
    """A chat server on loopback ports (both packet doors) with accounts in a real
    SQLite file, the real hasher, and two registrations per address per hour."""
    accounts = Accounts(store, hashing, reactor, register_per_hour=2)
    with running_server(tmp_path, RoomConfig(rate=0), accounts) as server:
        yield server
