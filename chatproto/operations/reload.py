"""SIGHUP: reload the settings and certificates without dropping anyone
(docs/operations.md, docs/protocol.md section 15).

L{Reloader.reload} reads the --config file again and applies the options of
L{RELOADABLE} that it changes (an option given on the command line keeps its
value: the command line wins), then reads the TLS key and certificate of every
`ssl:` listener again. A lower limit applies to new connections and new frames;
nobody already connected is cut off for it. A file that cannot be read or holds a
bad value changes nothing; a certificate that cannot be used keeps the old one.
Everything it does is logged with `event_kind` `reload`.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from twisted.application.service import Service
from twisted.internet.interfaces import IReactorThreads
from twisted.logger import Logger
from twisted.python import usage

from chatproto.core.hall import Hall
from chatproto.listeners import OptionListener
from chatproto.operations.config import file_values

if TYPE_CHECKING:
    from chatproto.service import Options

#: The options a reload applies: the limits of docs/protocol.md section 7, the rooms'
#: limits and the replay of section 12, the MOTD, the server operators (section 14).
#: The others (where to listen, the stores, the default room) take effect at the next
#: start.
RELOADABLE = (
    "handshake-timeout",
    "max-message-bytes",
    "rate",
    "burst",
    "flood-errors",
    "sendq-bytes",
    "max-clients",
    "max-per-ip",
    "history-replay",
    "max-rooms",
    "max-rooms-per-member",
    "motd",
    "operators",
)


class Reloader:
    """Applies the --config file and the TLS files again to a running server."""

    log = Logger()

    def __init__(self, options: Options, hall: Hall, listeners: Sequence[OptionListener]) -> None:
        self._options = options
        self._hall = hall
        self._listeners = [listener for listener in listeners if listener.has_certificate]

    def reload(self) -> None:
        """Reload the --config file (if any) and the certificates; log what changed."""
        self.log.info("reloading", event_kind="reload")
        if self._options["config"] is not None:
            self._reload_file(str(self._options["config"]))
        for listener in self._listeners:
            try:
                listener.reload_certificate()
            except usage.UsageError as e:
                self.log.error(
                    "reload: {error}; the old certificate stays", error=str(e), event_kind="reload"
                )
            else:
                self.log.info(
                    "reloaded the TLS certificate of {option}",
                    option=listener.option,
                    event_kind="reload",
                )

    def _reload_file(self, path: str) -> None:
        options = self._options
        candidate = type(options)()
        try:
            values = file_values(candidate, path)
            candidate.update(options)
            for name in RELOADABLE:
                if name not in options.given:
                    candidate[name] = values.get(name, candidate.defaults[name])
            candidate.check_together()
        except usage.UsageError as e:
            self.log.error("reload: {error}; nothing changed", error=str(e), event_kind="reload")
            return
        for name, value in values.items():
            if name not in RELOADABLE and name not in options.given and value != options[name]:
                self.log.warn(
                    "reload: --{option} changed in the file: it takes effect at the next start",
                    option=name,
                    event_kind="reload",
                )
        changed = {name: candidate[name] for name in RELOADABLE if candidate[name] != options[name]}
        for name, value in changed.items():
            self.log.info(
                "reload: --{option} is now {value!r} (was {old!r})",
                option=name,
                value=value,
                old=options[name],
                event_kind="reload",
            )
        if changed:
            options.update(changed)
            self._hall.reconfigure(options.room_config())


class ReloadOnHangup(Service):
    """Runs L{Reloader.reload} on each SIGHUP while the server runs."""

    def __init__(self, reloader: Reloader, reactor: IReactorThreads) -> None:
        self._reloader = reloader
        self._reactor = reactor
        self._before: Any = None

    def startService(self) -> None:
        """Take SIGHUP over (the handler before is put back on stop)."""
        super().startService()  # type: ignore[no-untyped-call]

        def hangup(signum: int, frame: object) -> None:
            # As Twisted does: a signal comes between bytecodes, the reload in the loop.
            self._reactor.callFromThread(self._reloader.reload)

        self._before = signal.signal(signal.SIGHUP, hangup)

    def stopService(self) -> None:
        """Give SIGHUP back."""
        super().stopService()  # type: ignore[no-untyped-call]
        signal.signal(signal.SIGHUP, self._before)
