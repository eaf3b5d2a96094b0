"""A bot that answers !ping with pong (docs/client-api.md).

    .venv/bin/python docs/examples/echo_bot.py tcp:host=localhost:port=10328 --nick pongbot

It joins the room, answers every live "!ping" with "pong", reconnects and
resumes after a drop, and leaves (BYE) on Ctrl+C or SIGTERM. If it cannot
join at all it says why in one line and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import react

from chatproto.client.api import ChatClient, ChatMessage, ClientStopped, Welcome


class EchoBot(ChatClient):
    """Answers !ping with pong."""

    def joined(self, welcome: Welcome) -> None:
        print(f"joined as {self.nickname}; online: {', '.join(welcome.users.names)}", flush=True)

    def message_received(self, message: ChatMessage) -> None:
        if message.text == "!ping" and not message.history:
            self.send("pong")


async def run(reactor: Any, bot: ChatClient, endpoint: str) -> None:
    """Run C{bot} until it leaves (Ctrl+C, SIGTERM) or gives up (exit status 1)."""
    reactor.addSystemEventTrigger("before", "shutdown", bot.leave)
    try:
        await bot.connect(endpoint)
        await bot.when_stopped()
    except (ClientStopped, ValueError) as e:
        print(f"{sys.argv[0]}: {e}", file=sys.stderr)
        raise SystemExit(1) from None


def main() -> None:
    """The command line: ENDPOINT [--nick NAME]."""
    parser = argparse.ArgumentParser(description="Answer !ping with pong.")
    parser.add_argument("endpoint", help="the chat server, e.g. tcp:host=localhost:port=10328")
    parser.add_argument("--nick", default="echobot", help="the bot's nickname")
    arguments = parser.parse_args()
    try:
        bot = EchoBot(arguments.nick)
    except ValueError as e:  # a nickname against the server's rules
        parser.error(f"--nick: {e}")
    react(lambda reactor: Deferred.fromCoroutine(run(reactor, bot, arguments.endpoint)))


if __name__ == "__main__":
    main()
