"""Reaching the server: the endpoint (TCP, TLS or a description) and the reconnecting
C{ClientService}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from OpenSSL.crypto import Error as OpenSSLError
from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet.endpoints import HostnameEndpoint, clientFromString, wrapClientTLS
from twisted.internet.interfaces import IAddress, IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.ssl import Certificate, optionsForClientTLS

from chatproto.client.options import ClientOptions, EndpointDescription, UsageError
from chatproto.client.protocol import ChatClientProtocol, ConnectionHandler
from chatproto.client.websocket import is_websocket_url, websocket_connection

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
            return described_endpoint(reactor, address.text)
        except ValueError as e:
            raise UsageError(f"{e}; for a host and a port write HOST PORT") from None
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


def described_endpoint(reactor: IReactorTime, description: str) -> IStreamClientEndpoint:
    """The client endpoint a description names (C{tcp:host=H:port=P}, C{ssl:...},
    C{unix:PATH}, ...: Twisted's C{clientFromString}).

    @raise ValueError: if C{description} is not a client endpoint description.
    """
    try:
        endpoint: IStreamClientEndpoint = clientFromString(reactor, description)
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"{description!r} is not a client endpoint description ({e})") from None
    return endpoint


class _HandlerFactory(Factory):
    """Builds one L{ChatClientProtocol} per connection, all reporting to one handler."""

    def __init__(self, handler: ConnectionHandler) -> None:
        self._handler = handler

    def buildProtocol(self, addr: IAddress | None) -> ChatClientProtocol:
        """A protocol for a new connection."""
        return ChatClientProtocol(self._handler)


def word_packet_factory(handler: ConnectionHandler) -> Factory:
    """The protocol factory of word-packet connections that report to C{handler}."""
    return _HandlerFactory(handler)


def described_connection(
    reactor: IReactorTime, description: str, handler: ConnectionHandler, timeout: float
) -> tuple[IStreamClientEndpoint, Factory]:
    """The endpoint and protocol factory for a description or a C{ws://}/C{wss://} URL
    (the WebSocket door), reporting to C{handler}.

    @raise ValueError: if C{description} is neither.
    """
    if is_websocket_url(description):
        return websocket_connection(reactor, description, handler, timeout)
    return described_endpoint(reactor, description), word_packet_factory(handler)


def reconnecting_service(
    reactor: IReactorTime,
    endpoint: IStreamClientEndpoint,
    factory: Factory,
    retrying: Callable[[int, float], None],
) -> ClientService:
    """A C{ClientService} that connects with C{factory} and reconnects with backoff.

    Every scheduled attempt is announced to C{retrying(attempt, delay)}.
    """
    backoff = backoffPolicy(initialDelay=INITIAL_DELAY, maxDelay=MAX_DELAY)

    def announced_backoff(attempt: int) -> float:
        delay = backoff(attempt)
        retrying(attempt, delay)
        return delay

    return ClientService(endpoint, factory, retryPolicy=announced_backoff, clock=reactor)
