"""The program C{chatproto-client} (also C{python -m chatproto.client})."""

from __future__ import annotations

import os
import sys

from twisted.internet.asyncioreactor import AsyncioSelectorReactor
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorCore, IStreamClientEndpoint
from twisted.internet.main import installReactor

from chatproto.client.connect import client_endpoint
from chatproto.client.options import (
    PROGRAM,
    ClientOptions,
    UsageError,
    parse_options,
    sends_passwords_in_the_clear,
)
from chatproto.client.pipe import PipeFrontend
from chatproto.client.render import Level, LocalNotice
from chatproto.client.session import Session
from chatproto.client.terminal import TerminalFrontend, use_colour


class _Outcome:
    """The exit status and message; the first request to exit wins and stops the reactor."""

    def __init__(self, reactor: IReactorCore) -> None:
        self._reactor = reactor
        self.status = 0
        self.message: str | None = None
        self.ending = False

    def __call__(self, status: int, message: str | None) -> None:
        if not self.ending:
            self.ending = True
            self.status = status
            self.message = message
            self._reactor.stop()


def _core(reactor: IReactorCore) -> IReactorCore:
    """The reactor seen through its typed interface (its own methods are untyped)."""
    return reactor


def _check_mode(options: ClientOptions, interactive: bool) -> None:
    if interactive and options.json:
        raise UsageError("--json is for pipe mode (when standard input is not a terminal)")
    if not interactive and options.nickname is None:
        raise UsageError("standard input is not a terminal: pipe mode needs --nick NAME")


def _install_reactor() -> AsyncioSelectorReactor:
    """Install Twisted's asyncio reactor (prompt_toolkit runs on asyncio) and return it."""
    reactor = AsyncioSelectorReactor()
    installReactor(reactor)  # type: ignore[no-untyped-call]
    return reactor


def _run(
    reactor: AsyncioSelectorReactor,
    options: ClientOptions,
    endpoint: IStreamClientEndpoint,
    interactive: bool,
) -> int:
    server = str(options.address)
    core = _core(reactor)
    outcome = _Outcome(core)
    frontend: TerminalFrontend | PipeFrontend
    if interactive:
        colour = use_colour(sys.stdout, os.environ)
        frontend = TerminalFrontend(colour=colour, on_quit=lambda: outcome(0, None))
    else:
        frontend = PipeFrontend(reactor, json=options.json, errors=sys.stderr)
    session = Session(
        frontend,
        reactor,
        server=server,
        nickname=options.nickname,
        reconnect=options.reconnect,
        timeout=options.timeout,
        show_history=options.history,
        on_exit=outcome,
        room=options.room,
        password=options.password,
        asks_password=interactive,
        clear_text_warning=sends_passwords_in_the_clear(options),
    )

    def start() -> None:
        if interactive:
            frontend.show(LocalNotice(Level.INFO, f"Connecting to {server}..."))
        # A failure to join ends the program through the session's on_exit.
        session.connect(endpoint).addErrback(lambda _: None)

    async def shutdown() -> None:
        outcome.ending = True
        await session.leave()
        await frontend.close()

    core.callWhenRunning(start)
    core.addSystemEventTrigger("before", "shutdown", lambda: Deferred.fromCoroutine(shutdown()))
    core.run()
    if outcome.message is not None:
        print(f"{PROGRAM}: {outcome.message}", file=sys.stderr)
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    """Run the client with C{argv} (default: the command line); return the exit status."""
    interactive = sys.stdin.isatty()
    try:
        options = parse_options(sys.argv[1:] if argv is None else argv)
        _check_mode(options, interactive)
        reactor = _install_reactor()
        endpoint = client_endpoint(reactor, options)
    except UsageError as e:
        print(f"{PROGRAM}: {e}", file=sys.stderr)
        return 2
    try:
        return _run(reactor, options, endpoint, interactive)
    except KeyboardInterrupt:
        return 130
