"""A bot that answers !ping with pong (docs/client-api.md).

    .venv/bin/python docs/examples/echo_bot.py tcp:host=localhost:port=10328 --nick pongbot \
        --room '#rust' --room '#go'

It joins the default room and the rooms given, answers every live "!ping"
with "pong" in the room it was asked in, reconnects and resumes after a drop
(rejoining every room), and leaves (BYE) on Ctrl+C or SIGTERM. If it cannot
join (the server or one of the rooms) it says why in one line and exits with
status 1.
"""

from __future__ import annotations

import argparse

from twisted.internet.defer import Deferred
from twisted.internet.task import react

from chatproto.client.api import ChatClient, ChatMessage, Welcome
from chatproto.client.running import run_bot


class EchoBot(ChatClient):
    """Answers !ping with pong."""

    def joined(self, welcome: Welcome) -> None:
        where = "" if welcome.room is None else f" {welcome.room}"
        online = ", ".join(welcome.users.names)
        print(f"joined{where} as {self.nickname}; online: {online}", flush=True)

    def message_received(self, message: ChatMessage) -> None:
        if message.text == "!ping" and not message.history:
            self.send("pong", room=message.room)


def main() -> None:
    """The command line: ENDPOINT [--nick NAME] [--room ROOM]..."""
    parser = argparse.ArgumentParser(description="Answer !ping with pong.")
    parser.add_argument("endpoint", help="the chat server, e.g. tcp:host=localhost:port=10328")
    parser.add_argument("--nick", default="echobot", help="the bot's nickname")
    parser.add_argument(
        "--room", action="append", default=[], help="a room to join too (repeatable)"
    )
    arguments = parser.parse_args()
    try:
        bot = EchoBot(arguments.nick)
    except ValueError as e:  # a nickname against the server's rules
        parser.error(f"--nick: {e}")
    react(
        lambda reactor: Deferred.fromCoroutine(
            run_bot(reactor, bot, arguments.endpoint, arguments.room)
        )
    )


if __name__ == "__main__":
    main()
