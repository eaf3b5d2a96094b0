"""Run a bot as a program: connect, join its rooms, stay until it leaves or gives up.

    react(lambda reactor: Deferred.fromCoroutine(
        run_bot(reactor, EchoBot("pongbot"), "tcp:host=localhost:port=10328", ["#rust"])))

The bot leaves (C{BYE}) when the reactor stops (Ctrl+C, SIGTERM). When it
cannot get in (nothing listens, its nickname is refused, a room refuses it)
the program ends with status 1 and one line on standard error saying why.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from chatproto.client.api import ChatClient, ChatError, ClientStopped

__all__ = ["run_bot"]


async def run_bot(
    reactor: Any,
    bot: ChatClient,
    endpoint: str,
    rooms: Sequence[str] = (),
    *,
    since: Mapping[str, int] | None = None,
) -> None:
    """Connect C{bot} to C{endpoint}, join C{rooms} in order, and return once it left.

    @param reactor: the running reactor (as C{react} gives it).
    @param since: the newest id already handled in some of C{rooms}, by room name (a
        bot that resumes after its own restart; the default room's goes to the bot's
        constructor).
    @raise SystemExit: with status 1 when the bot cannot get in, having said why on
        standard error in one line.
    """
    reactor.addSystemEventTrigger("before", "shutdown", bot.leave)
    known = since or {}
    room = None
    try:
        await bot.connect(endpoint)
        for room in rooms:
            await bot.join(room, since=known.get(room))
        await bot.when_stopped()
    except ChatError as e:
        _say(f"cannot join {room}: {e}")
        await bot.leave()
        raise SystemExit(1) from None
    except (ClientStopped, ValueError) as e:
        _say(str(e))
        raise SystemExit(1) from None


def _say(problem: str) -> None:
    """One line on standard error, after the program's name."""
    print(f"{sys.argv[0]}: {problem}", file=sys.stderr)
