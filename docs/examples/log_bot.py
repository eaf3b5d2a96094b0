"""A bot that logs a room to a file, one JSON line per message, and resumes after a
restart without gaps or duplicates (docs/client-api.md).

    .venv/bin/python docs/examples/log_bot.py tcp:host=localhost:port=10328 chat.jsonl
    .venv/bin/python docs/examples/log_bot.py tcp:host=localhost:port=10328 rust.jsonl \
        --room '#rust'

It logs the default room, or the room given with --room (ids are per room, so
one file logs one room). Each line is {"id", "timestamp", "nickname",
"message"}. On start the bot reads the newest id in its file and joins with
`since` set to it: the server replays every message after it (as far back as
it retains), and the client drops anything at or below it. A line
half-written when the bot was killed is cut off first, so its message is
asked for again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from twisted.internet.defer import Deferred
from twisted.internet.task import react

from chatproto.client.api import ChatClient, ChatMessage, Welcome
from chatproto.client.running import run_bot


def last_logged_id(path: Path) -> int:
    """The newest id in the log (0 for none), after cutting off a half-written last line."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    whole = data[: data.rfind(b"\n") + 1]
    if len(whole) < len(data):
        os.truncate(path, len(whole))
    lines = whole.splitlines()
    return int(json.loads(lines[-1])["id"]) if lines else 0


class LogBot(ChatClient):
    """Appends every public message of one room to a file, flushed line by line."""

    def __init__(self, nickname: str, log: TextIO, room: str | None, since: int) -> None:
        # The default room's since goes to the constructor; another room's, to join.
        super().__init__(nickname, since=since if room is None else None)
        self.room = room
        self._log = log

    def joined(self, welcome: Welcome) -> None:
        if self.room_key(welcome.room) == self.room_key(self.room):
            print(f"logging {self.room or 'the default room'} as {self.nickname}", flush=True)

    def message_received(self, message: ChatMessage) -> None:
        if self.room_key(message.room) != self.room_key(self.room):
            return  # Another room (the bot is in the default room too).
        record = {
            "id": message.id,
            "timestamp": message.packet.get("timestamp"),
            "nickname": message.nickname,
            "message": message.text,
        }
        self._log.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._log.flush()

    def messages_missed(self, first: int, last: int, room: str | None) -> None:
        if self.room_key(room) == self.room_key(self.room):
            print(f"messages {first} to {last} are gone from the server", file=sys.stderr)


def main() -> None:
    """The command line: ENDPOINT FILE [--nick NAME] [--room ROOM]."""
    parser = argparse.ArgumentParser(description="Log a room to a file, one JSON line each.")
    parser.add_argument("endpoint", help="the chat server, e.g. tcp:host=localhost:port=10328")
    parser.add_argument("file", type=Path, help="the log (appended to; its newest id resumes)")
    parser.add_argument("--nick", default="logbot", help="the bot's nickname")
    parser.add_argument("--room", help="the room to log (default: the default room)")
    arguments = parser.parse_args()
    since = last_logged_id(arguments.file)
    with arguments.file.open("a", encoding="utf-8") as log:
        try:
            bot = LogBot(arguments.nick, log, arguments.room, since)
        except ValueError as e:  # a nickname against the server's rules
            parser.error(f"--nick: {e}")
        rooms = [] if arguments.room is None else [arguments.room]
        since_in = {} if arguments.room is None else {arguments.room: since}
        react(
            lambda reactor: Deferred.fromCoroutine(
                run_bot(reactor, bot, arguments.endpoint, rooms, since=since_in)
            )
        )


if __name__ == "__main__":
    main()
