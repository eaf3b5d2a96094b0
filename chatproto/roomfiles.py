"""The rooms' files on one node (docs/history.md): one JSON Lines history per room beside
the default room's history file, and one small JSON file per room naming it and
holding its topic.

A room's files are named after its key in lower-case base32 (safe on every
filesystem, whatever the room's characters, and within the 255-byte name
limit), in a directory that only the server's user may read.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os

from twisted.logger import Logger
from zope.interface import implementer

from chatproto.core.roomnames import InvalidRoomName, room_key, validate_room_name
from chatproto.history import FsyncPolicy, JsonLinesHistory, ThreadRunner
from chatproto.seams.history import HistoryUnavailable, IHistoryStore
from chatproto.seams.rooms import IRoomStores, KnownRoom

_log = Logger()

#: Suffixes of a room's history file and of its name-and-topic file.
HISTORY_SUFFIX = ".jsonl"
META_SUFFIX = ".json"


def rooms_directory(history_file: str) -> str:
    """Where the rooms beside the default one keep their files."""
    return history_file + ".rooms"


def file_stem(key: str) -> str:
    """A room key as a file name: lower-case base32 of its UTF-8, without padding."""
    return base64.b32encode(key.encode("utf-8")).decode("ascii").rstrip("=").lower()


def _key_of_stem(stem: str) -> str | None:
    """The key a file name was made from, or None for a file the server did not make."""
    padded = stem.upper() + "=" * (-len(stem) % 8)
    try:
        return base64.b32decode(padded).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


@implementer(IRoomStores)
class RoomFiles:
    """The rooms' files in L{rooms_directory} of C{history_file} (created 0700), with
    histories kept as the default room's is (C{retain}, C{fsync}, C{run_in_thread}:
    see L{JsonLinesHistory})."""

    def __init__(
        self,
        history_file: str,
        retain: int = 10000,
        fsync: FsyncPolicy = "interval",
        run_in_thread: ThreadRunner | None = None,
    ) -> None:
        self.directory = rooms_directory(history_file)
        self._retain = retain
        self._fsync: FsyncPolicy = fsync
        self._run_in_thread = run_in_thread
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
        except OSError as e:
            raise HistoryUnavailable(
                f"cannot create the rooms directory {self.directory!r}: {e.strerror}"
            ) from e

    def _path(self, key: str, suffix: str) -> str:
        return os.path.join(self.directory, file_stem(key) + suffix)

    def known(self) -> dict[str, KnownRoom]:
        """Every room with a stored message or a topic, read from the small files only."""
        found: dict[str, KnownRoom] = {}
        for entry in sorted(os.listdir(self.directory)):
            if not entry.endswith(META_SUFFIX):
                continue
            key = _key_of_stem(entry[: -len(META_SUFFIX)])
            known = self._read_meta(entry) if key is not None else None
            if key is None or known is None or room_key(known.name) != key:
                _log.warn(
                    "Rooms directory: skipped {entry}: not a room file",
                    entry=entry,
                    event_kind="store",
                )
                continue
            if known.topic or self._has_history(key):
                found[key] = known
        return found

    def _read_meta(self, entry: str) -> KnownRoom | None:
        try:
            with open(os.path.join(self.directory, entry), encoding="utf-8") as meta:
                fields = json.load(meta)
            name = validate_room_name(fields["room"])
            topic = fields.get("topic", "")
        except (OSError, ValueError, KeyError, TypeError, InvalidRoomName):
            return None
        return KnownRoom(name, topic) if isinstance(topic, str) else None

    def _has_history(self, key: str) -> bool:
        try:
            return os.stat(self._path(key, HISTORY_SUFFIX)).st_size > 0
        except OSError:
            return False

    def open(self, key: str, name: str) -> IHistoryStore:
        """Open (creating them) the room's history file and its name-and-topic file."""
        if not os.path.exists(self._path(key, META_SUFFIX)):
            self.save_topic(key, name, "")
        return JsonLinesHistory(
            self._path(key, HISTORY_SUFFIX),
            retain=self._retain,
            fsync=self._fsync,
            run_in_thread=self._run_in_thread,
        )

    def save_topic(self, key: str, name: str, topic: str) -> None:
        """Replace the room's name-and-topic file atomically: a crash leaves the old
        file or the new one (written, fsynced, renamed, directory fsynced)."""
        path = self._path(key, META_SUFFIX)
        temporary = path + ".new"
        data = json.dumps({"room": name, "topic": topic}, ensure_ascii=False).encode("utf-8")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, path)
            directory = os.open(self.directory, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as e:
            raise HistoryUnavailable(f"cannot store the topic of {name}: {e.strerror}") from e

    def forget(self, key: str) -> None:
        """Remove the room's files (it has no message and no topic)."""
        for suffix in (HISTORY_SUFFIX, META_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(key, suffix))
