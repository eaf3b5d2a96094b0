"""Where Redis is: the C{--redis} URL (docs/scaling.md).

redis://[[user]:password@]host[:port][/db]     plain TCP (port 6379, db 0 by default)
rediss://...                                    the same over TLS (port 6380 by default)
unix:/path/to/redis.sock[?db=N]                a unix socket (a bare /path too)

A rediss:// server's certificate is verified against the system's CAs, or
against the certificates of C{--redis-ca FILE} (L{load_ca_certificates}), and
must name the host of the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from twisted.internet.endpoints import HostnameEndpoint, UNIXClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.ssl import Certificate, optionsForClientTLS, trustRootFromCertificates

DEFAULT_PORT = 6379
DEFAULT_TLS_PORT = 6380
#: Seconds a connection attempt may take before it counts as failed.
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class RedisAddress:
    """A parsed C{--redis} URL: how to reach Redis and which database to use."""

    host: str | None = None
    port: int = DEFAULT_PORT
    path: str | None = None
    tls: bool = False
    db: int = 0
    username: str | None = None
    password: str | None = None
    #: The CA certificates (PEM, one each) to trust for TLS; none: the system's.
    ca_certificates: tuple[bytes, ...] = ()

    def endpoint(self, reactor: object) -> IStreamClientEndpoint:
        """A client endpoint that reaches this address."""
        if self.path is not None:
            return UNIXClientEndpoint(reactor, self.path, timeout=CONNECT_TIMEOUT)
        assert self.host is not None
        tcp = HostnameEndpoint(reactor, self.host, self.port, timeout=CONNECT_TIMEOUT)
        if self.tls:
            trust = (
                trustRootFromCertificates(  # type: ignore[no-untyped-call]
                    [Certificate.loadPEM(c) for c in self.ca_certificates]
                )
                if self.ca_certificates
                else None  # the platform's
            )
            return wrapClientTLS(optionsForClientTLS(self.host, trustRoot=trust), tcp)
        return tcp

    def __str__(self) -> str:
        """The address as logs show it (never the password)."""
        if self.path is not None:
            return f"unix:{self.path}?db={self.db}"
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}/{self.db}"


def parse_redis_url(url: str) -> RedisAddress:
    """Parse a C{--redis} URL; raises ValueError with a reason a person can read."""
    if url.startswith("/"):
        url = "unix:" + url
    parts = urlsplit(url)
    if parts.scheme == "unix":
        path = parts.path
        if not path.startswith("/"):
            raise ValueError(f"{url!r}: a unix socket needs an absolute path")
        return RedisAddress(path=path, db=_db(parse_qs(parts.query).get("db", ["0"])[0]))
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"{url!r}: use redis://host:port/db, rediss://... or unix:/path")
    tls = parts.scheme == "rediss"
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r}: the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"{url!r}: no host")
    return RedisAddress(
        host=parts.hostname,
        port=port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
        tls=tls,
        db=_db(parts.path.lstrip("/") or "0"),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def load_ca_certificates(path: str) -> tuple[bytes, ...]:
    """The PEM certificates in the file at C{path} (C{--redis-ca}); raises ValueError
    with a reason a person can read."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror}") from None
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError(f"{path} holds no PEM certificate") from None
    return tuple(c.public_bytes(Encoding.PEM) for c in certificates)


def _db(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"the database {text!r} is not a number")
    return int(text)
