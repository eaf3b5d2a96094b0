"""--metrics-port: `/metrics` (Prometheus's own Twisted resource) and `/healthz`
(L{chatproto.operations.health}), on a port apart from the chat doors."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.twisted import MetricsResource
from twisted.web.http import Request
from twisted.web.resource import Resource
from twisted.web.server import Site

from chatproto.operations.health import HealthProbe, HealthResource


class QuietSite(Site):
    """A site that writes no access log: a scrape every few seconds is not news."""

    def log(self, request: Request) -> None:
        """Log nothing."""


def metrics_site(registry: CollectorRegistry, probe: HealthProbe) -> Site:
    """The site of --metrics-port: `/metrics` from C{registry}, `/healthz` from C{probe};
    anything else is 404."""
    root = Resource()
    root.putChild(b"metrics", MetricsResource(registry=registry))  # type: ignore[no-untyped-call]
    root.putChild(b"healthz", HealthResource(probe))
    site = QuietSite(root)  # type: ignore[no-untyped-call]
    site.noisy = False
    return site
