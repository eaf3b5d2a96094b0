"""TLS certificates that a reload replaces (docs/protocol.md section 15).

An `ssl:` endpoint reads its key and certificate once, when the options are parsed.
L{CertificateSwitch} stands in for that context factory: each new connection asks it
for a TLS context, and it answers with the latest one L{CertificateSwitch.reload} read.
Connections already made keep the context they were made with.
"""

from __future__ import annotations

from typing import Any

from OpenSSL import SSL
from twisted.internet.endpoints import SSL4ServerEndpoint
from twisted.internet.interfaces import IOpenSSLContextFactory, IStreamServerEndpoint
from zope.interface import implementer


@implementer(IOpenSSLContextFactory)
class CertificateSwitch:
    """The context factory of one listening `ssl:` endpoint; see the module docstring."""

    def __init__(self, current: IOpenSSLContextFactory) -> None:
        self._current = current

    def getContext(self) -> SSL.Context:
        """The TLS context of a new connection: the latest certificate's."""
        return self._current.getContext()

    def reload(self, endpoint: IStreamServerEndpoint) -> None:
        """Serve new connections with the certificate of C{endpoint} (the same option,
        parsed again: its files read again)."""
        self._current = _context_factory(endpoint)


def switchable(endpoint: IStreamServerEndpoint) -> CertificateSwitch | None:
    """Put a L{CertificateSwitch} in an `ssl:` endpoint (not yet listening) and return
    it; None for an endpoint without TLS."""
    if not isinstance(endpoint, SSL4ServerEndpoint):
        return None
    switch = CertificateSwitch(_context_factory(endpoint))
    # The endpoint keeps its context factory in a private attribute, read when it listens:
    # Twisted has no public way to change a listening port's certificate.
    endpoint._sslContextFactory = switch
    return switch


def _context_factory(endpoint: Any) -> IOpenSSLContextFactory:
    factory: IOpenSSLContextFactory = endpoint._sslContextFactory
    return factory
