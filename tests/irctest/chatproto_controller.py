"""irctest's controller for chatproto: `twistd -n chat` with the IRC door, one per test.

Accounts (SASL, NickServ) are the server's own: the tests' accounts are registered with
`chatproto-accounts` on the server's database (L{ChatprotoController.registerUser}).

irctest (../shared/irctest, progval/irctest) imports this module by name
(`pytest --controller tests.irctest.chatproto_controller`, the repository root on
PYTHONPATH) and calls L{ChatprotoController.run} before each test. The server is the
installed one (`make install`): the `twistd` beside the Python that runs pytest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Final

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
    "--register-per-hour=0",
)


class ChatprotoController(BaseServerController, DirectoryBasedController):
    """Starts chatproto's IRC door on the address irctest gives, with a fresh history."""

    software_name = "chatproto"
    supported_sasl_mechanisms = {"PLAIN"}
    supports_sts = False
    #: The capabilities CAP LS offers: a test of one of them fails rather than skips.
    capabilities = frozenset(
        {
            Capabilities.ACCOUNT_NOTIFY,
            Capabilities.ACCOUNT_TAG,
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.EXTENDED_JOIN,
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

    @property
    def _accounts_db(self) -> Path:
        """The server's account database, in the test's directory."""
        assert self.directory is not None
        return self.directory / "accounts.sqlite3"

    def wait_for_services(self) -> None:
        """NickServ is the IRC door's own: it answers as soon as the port does."""

    def registerUser(self, case: Any, username: str, password: str | None = None) -> None:
        """Register an account with the operator's tool, on the running server's database
        (the server sees it at its next lookup)."""
        assert password is not None
        tool = Path(sys.executable).with_name("chatproto-accounts")
        subprocess.run(
            [tool, "--db", self._accounts_db, "add", username],
            input=password + "\n",
            text=True,
            check=True,
            timeout=30,
        )

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
                f"--accounts-db={self._accounts_db}",
                f"--moderation-db={self.directory / 'moderation.sqlite3'}",
                *GENEROUS_LIMITS,
            ],
            proc_name="chatproto",
        )


def get_irctest_controller_class() -> type[ChatprotoController]:
    """The controller class irctest's conftest asks every controller module for."""
    return ChatprotoController
