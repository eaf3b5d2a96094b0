"""The rooms' files beside the history file (docs/history.md), through a real hall."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.core.roomnames import room_key
from chatproto.history import JsonLinesHistory
from chatproto.roomfiles import RoomFiles, file_stem, rooms_directory
from tests.fakes import FakeClient


def inline(work: Callable[[], None]) -> Deferred[None]:
    """Run a store's fsync at once (the test has no reactor running)."""
    work()
    return succeed(None)


class Server:
    """A hall on real files in C{tmp_path}, restartable."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = str(tmp_path / "history.jsonl")
        self.clock = Clock()
        self.start()

    def start(self) -> None:
        self.history = JsonLinesHistory(self.path, fsync="never", run_in_thread=inline)
        self.stores = RoomFiles(self.path, fsync="never", run_in_thread=inline)
        self.hall = Hall(RoomConfig(rate=0), self.history, self.clock, room_stores=self.stores)

    def restart(self) -> None:
        self.hall.close_all()
        self.hall.close_rooms()
        self.history.close()
        self.start()

    def client(self, nickname: str, port: int) -> FakeClient:
        client = FakeClient(self.hall, port=port)
        client.join(nickname)
        return client


def chat(frames: list[Any]) -> list[tuple[int, str | None, str]]:
    return [(f["id"], f.get("room"), f["message"]) for f in frames if "id" in f]


@pytest.fixture
def server(tmp_path: Path) -> Server:
    return Server(tmp_path)


def test_ids_and_history_continue_across_a_restart(server: Server) -> None:
    alice = server.client("alice", 1)
    alice.send_json({"command": "join", "room": "#rust"})
    alice.send_json({"message": "lobby"})
    alice.send_json({"message": "one", "room": "#rust"})
    alice.send_json({"message": "two", "room": "#rust"})
    server.restart()
    bob = server.client("bob", 2)
    bob.send_json({"command": "join", "room": "#rust", "since": 1})
    frames = bob.received()
    assert chat(frames) == [(2, "#rust", "two")]
    assert frames[-1]["last_id"] == 2
    bob.send_json({"message": "three", "room": "#rust"})
    bob.send_json({"message": "lobby again"})
    assert chat(bob.received()) == [(3, "#rust", "three"), (2, None, "lobby again")]
    # The default room's file is the history file, unchanged in form.
    lines = Path(server.path).read_text().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["lobby", "lobby again"]
    assert all("room" not in json.loads(line) for line in lines)


def test_room_files_are_private_and_named_by_key(server: Server) -> None:
    alice = server.client("alice", 1)
    alice.send_json({"command": "join", "room": "#Ünïcode/../x"})
    alice.send_json({"message": "hi", "room": "#Ünïcode/../x"})
    directory = rooms_directory(server.path)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    stem = file_stem(room_key("#Ünïcode/../x"))
    assert sorted(os.listdir(directory)) == [stem + ".json", stem + ".jsonl"]
    for name in os.listdir(directory):
        assert stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode) == 0o600
    line = json.loads(Path(directory, stem + ".jsonl").read_text())
    assert (line["id"], line["room"], line["message"]) == (1, "#Ünïcode/../x", "hi")


def test_topics_survive_a_restart_and_empty_rooms_do_not(server: Server) -> None:
    alice = server.client("alice", 1)
    for room in ("#topical", "#empty", "#chatty"):
        alice.send_json({"command": "join", "room": room})
    alice.send_json({"command": "topic", "room": "#topical", "topic": "crabs"})
    alice.send_json({"command": "topic", "topic": "the lobby"})
    alice.send_json({"message": "hi", "room": "#chatty"})
    server.restart()
    assert sorted(server.hall.registry.rooms) == ["#chat", "#chatty", "#topical"]
    assert not any(room.is_open for room in server.hall.registry.rooms.values() if not room.default)
    bob = server.client("bob", 2)
    bob.send_json({"command": "rooms"})
    listed = bob.received()[-1]["rooms"]
    assert listed == [
        {"room": "#chat", "users": 1, "topic": "the lobby"},
        {"room": "#chatty", "users": 0, "topic": ""},
        {"room": "#topical", "users": 0, "topic": "crabs"},
    ]
    bob.send_json({"command": "join", "room": "#topical"})
    assert bob.received()[-1]["topic"] == "crabs"


def test_a_stray_file_in_the_rooms_directory_is_skipped(server: Server) -> None:
    Path(rooms_directory(server.path), "notes.json").write_text("{}")
    server.restart()
    assert list(server.hall.registry.rooms) == ["#chat"]
