"""A L{ChatClient} as a twistd service: it connects when the application starts and
leaves (BYE) when it stops.

    application = Application("bot")
    ChatClientService(EchoBot("echo"), "tcp:host=127.0.0.1:port=10328").setServiceParent(
        application
    )
"""

from __future__ import annotations

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.client.api import ChatClient


class ChatClientService(Service):
    """Runs one L{ChatClient} for as long as the service runs."""

    log = Logger()

    def __init__(self, client: ChatClient, endpoint: str | IStreamClientEndpoint) -> None:
        """
        @param endpoint: the chat server, as an endpoint or its description.
        @raise ValueError: if C{endpoint} is not a client endpoint description (checked
            when the service starts).
        """
        self.client = client
        self._endpoint = endpoint

    def startService(self) -> None:
        """Connect; a client that gives up is logged (the application keeps running)."""
        super().startService()  # type: ignore[no-untyped-call]
        self.client.connect(self._endpoint).addErrback(self._gave_up)

    def stopService(self) -> Deferred[None]:
        """Leave: fires once the server closed the connection."""
        super().stopService()  # type: ignore[no-untyped-call]
        return self.client.leave()

    def _gave_up(self, failure: Failure) -> None:
        self.log.error("chat client stopped: {why}", why=failure.getErrorMessage())
