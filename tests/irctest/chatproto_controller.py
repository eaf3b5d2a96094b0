"""irctest's controller for chatproto: `twistd -n chat` with the IRC door, one per test.

irctest (../shared/irctest, progval/irctest) imports this module by name
(`pytest --controller tests.irctest.chatproto_controller`, the repository root on
PYTHONPATH) and calls L{ChatprotoController.run} before each test. The server is the
installed one (`make install`): the `twistd` beside the Python that runs pytest.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors

#: The name irctest's tests expect in numerics (`WHOIS My.Little.Server nick`, 312).
SERVER_NAME: Final = "My.Little.Server"
#: The rate limits off, so that the suite's bursts of commands are answered, not slowed.
GENEROUS_LIMITS: Final = (
    "--rate=0",
    "--flood-errors=0",
    "--max-per-ip=0",
    "--shutdown-grace=0",
)


class ChatprotoController(BaseServerController, DirectoryBasedController):
    """Starts chatproto's IRC door on the address irctest gives, with a fresh history."""

    software_name = "chatproto"
    supported_sasl_mechanisms: set[str] = set()  # no accounts (docs/irc.md)
    supports_sts = False
    #: The capabilities CAP LS offers: a test of one of them fails rather than skips.
    capabilities = frozenset(
        {
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.LABELED_RESPONSE,
            Capabilities.MESSAGE_REDACTION,
            Capabilities.MESSAGE_TAGS,
            Capabilities.MULTI_PREFIX,
            Capabilities.SERVER_TIME,
        }
    )
    optional_behaviors = frozenset(
        {OptionalBehaviors.CAP_REQ_MINUS, OptionalBehaviors.MULTI_PRIVMSG}
    )
    #: The 005 tokens docs/protocol.md sections 10 and 14 promise (and CLIENTTAGDENY,
    #: CHANMODES, docs/irc.md).
    isupport = {
        "ACCOUNTEXTBAN": "a",
        "CASEMAPPING": "rfc8265",
        "CHANMODES": "bq,,,mnt",
        "CHANTYPES": "#",
        "CLIENTTAGDENY": "*",
        "EXTBAN": "$,a",
        "NETWORK": "chatproto",
        "NICKLEN": "32",
        "PREFIX": "(ov)@+",
        "UTF8ONLY": None,
    }

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: str | None,
        ssl: bool,
        run_services: bool,
        faketime: str | None,
        websocket_hostname: str | None,
        websocket_port: int | None,
    ) -> None:
        """Start the server; irctest waits for the port itself."""
        if password is not None:
            raise NotImplementedByController("PASS")
        if ssl:
            raise NotImplementedByController("TLS")
        if run_services:
            raise NotImplementedByController("services")
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("IRC over WebSocket")
        assert self.proc is None
        self.hostname, self.port = hostname, port
        self.create_config()
        assert self.directory is not None
        # The word-packet door cannot be switched off: it gets a free port of its own.
        _, packet_port = self.get_hostname_and_port()
        twistd = Path(sys.executable).with_name("twistd")
        self.proc = self.execute(
            [
                twistd,
                "--pidfile=",
                "-n",
                "chat",
                f"--port=tcp:{packet_port}:interface=127.0.0.1",
                f"--irc-port=tcp:{port}:interface={hostname}",
                f"--irc-server-name={SERVER_NAME}",
                # As on any IRC server, a client is in the channels it joins, no others.
                "--no-irc-autojoin",
                f"--history-file={self.directory / 'history.jsonl'}",
                # Accounts, bans and modes of one test must not outlive it (and irctest's
                # directory, the working directory, is no place for a file).
                f"--accounts-db={self.directory / 'accounts.sqlite3'}",
                f"--moderation-db={self.directory / 'moderation.sqlite3'}",
                *GENEROUS_LIMITS,
            ],
            proc_name="chatproto",
        )


def get_irctest_controller_class() -> type[ChatprotoController]:
    """The controller class irctest's conftest asks every controller module for."""
    return ChatprotoController
