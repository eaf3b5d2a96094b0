"""One HTTP endpoint for the WebSocket door: the web client's files and C{/chat}.

Served files carry the headers of docs/protocol.md section 9: a Content
Security Policy that allows nothing but this origin (and its WebSocket), and
C{nosniff}; they are revalidated on every load, so an upgraded server's page is
never mixed with an old cached script.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from autobahn.twisted.resource import WebSocketResource
from twisted.web.resource import ForbiddenResource, Resource
from twisted.web.server import Request, Site
from twisted.web.static import File

from chatproto.doors.websocket.protocol import ChatWebSocketFactory

#: What the page may load: its own files, and its own WebSocket.
CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    b"frame-ancestors 'none'"
)
#: Seconds an idle HTTP connection (not a chat WebSocket) is kept.
HTTP_IDLE_TIMEOUT = 60


class StaticFiles(File):
    """The web client's files, with the security headers, and no directory listings."""

    def render(self, request: Request) -> Any:
        """Serve the file with the headers of section 9."""
        request.setHeader(b"Content-Security-Policy", CONTENT_SECURITY_POLICY)
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        request.setHeader(b"Referrer-Policy", b"no-referrer")
        request.setHeader(b"Cache-Control", b"no-cache")
        return super().render(request)  # type: ignore[no-untyped-call]

    def directoryListing(self) -> Resource:
        """Never list a directory."""
        return ForbiddenResource()


def static_directory() -> str:
    """Where the web client's files are, inside the installed package."""
    return str(resources.files("chatproto.doors.websocket") / "static")


def chat_site(factory: ChatWebSocketFactory) -> Site:
    """The HTTP site of the WebSocket door: C{GET /} the client, C{/chat} the socket."""
    root = StaticFiles(static_directory())
    root.putChild(b"chat", WebSocketResource(factory))
    site = Site(root, timeout=HTTP_IDLE_TIMEOUT)
    site.displayTracebacks = False
    return site
