"""Listening where an endpoint option says, with mistakes reported in one line.

An endpoint option (`--port` and every later one) is checked when the options are parsed
(L{endpoint_for}: unknown type, bad syntax, unreadable or wrong TLS files), and the listen
itself is done by L{OptionListener}, which ends start-up with one line naming the option
when the system refuses (port in use or out of range, unknown interface, missing
directory). Both echo the endpoint as the user typed it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

from OpenSSL import SSL, crypto
from twisted.application.internet import StreamServerEndpointService
from twisted.internet import endpoints
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python import usage

from chatproto.doors.transport import SlottedTransports
from chatproto.operations.tls import switchable

#: The listen backlog given to tcp, tcp6 and ssl endpoints that name none.
#: Twisted's default of 50 makes the kernel drop connections in a reconnect
#: storm (every client of a restarted server at once) that the clients
#: believe are open.
DEFAULT_BACKLOG = 1024

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]

_log = Logger()


def listen_description(typed: str) -> str:
    """The endpoint description to listen on for what the user typed: a bare number is
    tcp, and tcp/tcp6/ssl get a backlog of L{DEFAULT_BACKLOG} unless they name one."""
    description = f"tcp:{typed}" if typed.isdigit() else typed
    kind = description.split(":", 1)[0]
    if kind in ("tcp", "tcp6", "ssl") and "backlog=" not in description:
        description += f":backlog={DEFAULT_BACKLOG}"
    return description


def endpoint_for(option: str, typed: str, reactor: Any) -> IStreamServerEndpoint:
    """The endpoint an option describes; a usage error naming the option if there is none."""
    try:
        endpoint: IStreamServerEndpoint = endpoints.serverFromString(
            reactor, listen_description(typed)
        )
    # Endpoint parsers are plugins that raise what they like (OpenSSL errors for bad keys).
    except Exception as e:
        raise usage.UsageError(f"{option} {typed!r}: {_reason(e, typed)}") from None
    return endpoint


def _not_a_number(error: ValueError, typed: str) -> str | None:
    """A field that int() refused, in words (the port named as such), or None."""
    found = _INT_REFUSED.fullmatch(str(error))
    if found is None:
        return None
    literal = found.group(1)
    fields = typed.split(":")
    if len(fields) > 1 and literal == repr(fields[1].removeprefix("port=")):
        return f"the port must be a number, got {literal}"
    return f"{literal} must be a number"


#: What int() says of text that is not a number.
_INT_REFUSED = re.compile(r"invalid literal for int\(\) with base 10: (.*)")


def _reason(error: BaseException, typed: str = "") -> str:
    """What went wrong with the endpoint C{typed}, in words for the one line that reports it."""
    if isinstance(error, ValueError) and (words := _not_a_number(error, typed)) is not None:
        return words
    if isinstance(error, CannotListenError):
        where = error.interface or "every interface"
        return f"cannot listen on {where} port {error.port}: {_reason(error.socketError)}"
    if isinstance(error, OSError):
        # A unix socket's missing directory shows as its lock file, the second name.
        path = error.filename2 or error.filename
        what = error.strerror or str(error)
        return f"{what}: {os.fsdecode(path)}" if isinstance(path, str | bytes) else what
    if isinstance(error, OverflowError):  # from bind()
        return "the port must be from 0 to 65535"
    if isinstance(error, crypto.Error | SSL.Error):
        # pyOpenSSL's errors hold OpenSSL's error queue: [(library, function, reason), ...]
        queue = error.args[0] if error.args and isinstance(error.args[0], list) else []
        details = "; ".join(f"{entry[0]}: {entry[-1]}" for entry in queue)
        return f"not a usable TLS key or certificate ({details or 'OpenSSL error'})"
    return str(error) or type(error).__name__


class OptionListener(StreamServerEndpointService):
    """Listens where an endpoint option says; when the system refuses, logs one critical
    line naming the option and ends the process with status 1 (no traceback), or, under a
    daemonizing twistd, lets twistd report the failure.

    With an `ssl:` endpoint, L{reload_certificate} reads its key and certificate again
    for the connections made after it. A TCP port's connections get slotted transports
    (L{SlottedTransports}: less memory per client)."""

    _raiseSynchronously = True  # a refused listen raises in privilegedStartService

    def __init__(self, option: str, typed: str, factory: Factory[Any], reactor: Any) -> None:
        endpoint = endpoint_for(option, typed, reactor)
        super().__init__(SlottedTransports(endpoint), factory)  # type: ignore[no-untyped-call]
        self.option = option
        self.typed = typed
        self._reactor = reactor
        self._certificate = switchable(endpoint)

    @property
    def has_certificate(self) -> bool:
        """Whether this listener serves TLS (an `ssl:` endpoint)."""
        return self._certificate is not None

    def reload_certificate(self) -> None:
        """Read the TLS key and certificate files again: new connections get them.

        @raise usage.UsageError: naming the option, when they cannot be used (the ones
            read before stay).
        """
        if self._certificate is not None:
            self._certificate.reload(endpoint_for(self.option, self.typed, self._reactor))

    def privilegedStartService(self) -> None:
        """Listen, or end start-up with one line."""
        try:
            super().privilegedStartService()  # type: ignore[no-untyped-call]
        except Exception as e:
            message = f"{self.option} {self.typed!r}: {_reason(e)}"
            _log.critical("{message}", message=message, event_kind="start")
            # twistd -n and twist print a traceback for whatever start-up raises, and a
            # daemonizing twistd waits forever unless an Exception (not SystemExit) tells
            # it that start-up failed: raise one, and keep Python quiet about it.
            sys.excepthook = _quiet_about(ListenRefused, sys.excepthook)
            raise ListenRefused(message) from None


class ListenRefused(Exception):
    """The system refused to listen where an option says (already logged, in one line)."""


def _quiet_about(kind: type[BaseException], excepthook: ExceptHook) -> ExceptHook:
    """An excepthook that prints nothing for an uncaught C{kind}, and hands every other
    exception to C{excepthook}."""

    def hook(
        exc_type: type[BaseException], value: BaseException, traceback: TracebackType | None
    ) -> None:
        if not isinstance(value, kind):
            excepthook(exc_type, value, traceback)

    return hook
