"""Reaching the server: the endpoint (TCP, TLS or a description) and the reconnecting
C{ClientService}."""

from __future__ import annotations

from typing import Final

from OpenSSL.crypto import Error as OpenSSLError
from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet.endpoints import HostnameEndpoint, clientFromString, wrapClientTLS
from twisted.internet.interfaces import IAddress, IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.ssl import Certificate, optionsForClientTLS

from chatproto.client.options import ClientOptions, EndpointDescription, UsageError
from chatproto.client.protocol import ChatClientProtocol
from chatproto.client.session import Session

#: Seconds before the first reconnect attempt; each later one waits longer, up to L{MAX_DELAY}.
INITIAL_DELAY: Final = 0.5
MAX_DELAY: Final = 30.0


def client_endpoint(reactor: IReactorTime, options: ClientOptions) -> IStreamClientEndpoint:
    """The endpoint for C{options.address}: a description as it says, or host and port
    (wrapped in TLS if asked).

    @raise UsageError: if the description is not one, or the C{--ca} file cannot be read
        as a PEM certificate.
    """
    address = options.address
    endpoint: IStreamClientEndpoint
    if isinstance(address, EndpointDescription):
        try:
            endpoint = clientFromString(reactor, address.text)
        except (ValueError, TypeError, KeyError) as e:
            raise UsageError(
                f"{address.text!r} is not a client endpoint description ({e}); "
                "for a host and a port write HOST PORT"
            ) from None
        return endpoint
    endpoint = HostnameEndpoint(reactor, address.host, address.port, timeout=options.timeout)
    if not options.tls:
        return endpoint
    trust = None  # The system's trusted CAs.
    if options.ca_file is not None:
        try:
            with open(options.ca_file, "rb") as pem:
                trust = Certificate.loadPEM(pem.read())
        except OSError as e:
            raise UsageError(f"--ca {options.ca_file}: {e.strerror}") from None
        except OpenSSLError:
            raise UsageError(f"--ca {options.ca_file}: not a PEM certificate") from None
    return wrapClientTLS(optionsForClientTLS(address.host, trustRoot=trust), endpoint)


class _SessionFactory(Factory):
    """Builds one L{ChatClientProtocol} per connection, all reporting to one session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def buildProtocol(self, addr: IAddress | None) -> ChatClientProtocol:
        """A protocol for a new connection."""
        return ChatClientProtocol(self._session)


def reconnecting_service(
    reactor: IReactorTime, endpoint: IStreamClientEndpoint, session: Session
) -> ClientService:
    """A C{ClientService} that connects C{session} and reconnects it with backoff.

    Every scheduled attempt is announced to the session, which tells the person.
    """
    backoff = backoffPolicy(initialDelay=INITIAL_DELAY, maxDelay=MAX_DELAY)

    def announced_backoff(attempt: int) -> float:
        delay = backoff(attempt)
        session.retrying(attempt, delay)
        return delay

    return ClientService(
        endpoint, _SessionFactory(session), retryPolicy=announced_backoff, clock=reactor
    )
