"""One HTTP endpoint for the WebSocket door: the web client's files and C{/chat}.

Served files carry the headers of docs/protocol.md section 9: a Content
Security Policy that allows nothing but this origin (and its WebSocket), and
C{nosniff}; they are revalidated on every load, so an upgraded server's page is
never mixed with an old cached script. A path that is no file name (a NUL, or
bytes that are not UTF-8) is answered 400. C{/chat} upgrades a request from
an allowed origin (403 for any other) into a chat connection. What the HTTP
connection itself refuses is in L{chatproto.doors.websocket.channel}.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from autobahn.twisted.resource import WebSocketResource
from twisted.internet.interfaces import IProtocol
from twisted.web.http import combinedLogFormatter
from twisted.web.iweb import IAccessLogFormatter, IRequest
from twisted.web.pages import errorPage, forbidden
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site
from twisted.web.static import File
from zope.interface import provider

from chatproto.doors.websocket.channel import ChatHTTPChannel, Overflow
from chatproto.doors.websocket.origins import request_allowed
from chatproto.doors.websocket.protocol import ChatWebSocketFactory

#: What the page may load: its own files, and its own WebSocket.
CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    b"frame-ancestors 'none'"
)


class StaticFiles(File):
    """The web client's files, with the security headers, and no directory listings."""

    def getChild(self, path: bytes, request: Request) -> IResource:
        """The file named C{path} (one URL-decoded segment); 400 when no file can be."""
        if not is_file_name(path):
            return errorPage(400, "Bad Request", "That path cannot name a file.")
        child: IResource = super().getChild(path, request)  # type: ignore[no-untyped-call]
        return child

    def render(self, request: Request) -> Any:
        """Serve the file with the headers of section 9."""
        request.setHeader(b"Content-Security-Policy", CONTENT_SECURITY_POLICY)
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        request.setHeader(b"Referrer-Policy", b"no-referrer")
        request.setHeader(b"Cache-Control", b"no-cache")
        return super().render(request)  # type: ignore[no-untyped-call]

    def directoryListing(self) -> IResource:
        """Never list a directory."""
        return forbidden()


def is_file_name(segment: bytes) -> bool:
    """Whether a URL-decoded path segment could name a file: UTF-8, without NUL."""
    if b"\x00" in segment:
        return False
    try:
        segment.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class ChatSocketResource(WebSocketResource):
    """C{/chat}: the upgrade, for a page whose origin may chat here (section 9).

    Checked here, before autobahn, so that every refused origin gets 403: an
    origin C{null}, one that does not parse, or a repeated Origin header too.
    """

    def __init__(self, factory: ChatWebSocketFactory) -> None:
        super().__init__(factory)  # type: ignore[no-untyped-call]
        self._sockets = factory

    def render(self, request: Request) -> Any:
        """Refuse a foreign origin with 403; otherwise hand the connection to autobahn."""
        origins = request.requestHeaders.getRawHeaders(b"origin", [])
        if not request_allowed(origins, request.getHeader(b"host"), self._sockets.origins):
            request.setResponseCode(403)
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            return b"This page's origin may not chat here.\n"
        channel: Any = request.channel  # a ChatHTTPChannel: the site builds no other
        transport = channel.transport
        channel.upgrading()
        done = super().render(request)  # type: ignore[no-untyped-call]
        if channel.transport is None:  # autobahn took the connection over
            channel.upgraded(_receiver(transport))
        return done


def _receiver(transport: Any) -> IProtocol:
    """Whom C{transport} now delivers its bytes to: autobahn's protocol, set in place
    of the HTTP channel (or inside the TLS layer, when there is one)."""
    receiver: IProtocol = getattr(transport, "wrappedProtocol", None) or transport.protocol
    return receiver


class ChatSite(Site):
    """The web door's site: L{ChatHTTPChannel} connections counted in C{sockets}' room.

    Its clock is the door's (C{sockets.clock}). The access log shows no client
    address unless the room logs addresses (C{--log-addresses}).
    """

    protocol = ChatHTTPChannel  # type: ignore[assignment]

    def __init__(self, root: Resource, sockets: ChatWebSocketFactory) -> None:
        hall = sockets.hall
        super().__init__(  # type: ignore[no-untyped-call]
            root,
            # The channel bounds each request's time itself (REQUEST_SECONDS).
            timeout=None,
            reactor=sockets.clock,
            logFormatter=None if hall.config.log_addresses else access_line_without_address,
        )
        self.hall = hall
        self.sockets = sockets
        self.overflow = Overflow()
        self.displayTracebacks = False

    def buildProtocol(self, addr: Any) -> Any:
        """A L{ChatHTTPChannel} counted in the room's admission, on the door's clock."""
        channel: ChatHTTPChannel = super().buildProtocol(addr)  # type: ignore[no-untyped-call]
        channel.hall = self.hall
        channel.clock = self.reactor
        channel.overflow = self.overflow
        channel.sockets = self.sockets
        return channel


@provider(IAccessLogFormatter)
def access_line_without_address(timestamp: str, request: IRequest) -> str:
    """Twisted Web's access log line (combined log format) with C{-} for the address."""
    line: str = combinedLogFormatter(timestamp, request)
    # The line starts with the quoted address, which holds no quote.
    return '"-"' + line[line.index('"', 1) + 1 :]


def static_directory() -> str:
    """Where the web client's files are, inside the installed package."""
    return str(resources.files("chatproto.doors.websocket") / "static")


def chat_site(factory: ChatWebSocketFactory) -> ChatSite:
    """The HTTP site of the WebSocket door: C{GET /} the client, C{/chat} the socket."""
    root = StaticFiles(static_directory())
    root.putChild(b"chat", ChatSocketResource(factory))
    return ChatSite(root, factory)
