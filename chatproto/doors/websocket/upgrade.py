"""Knowing a request for C{/chat} from its head alone, so that an upgrade is parsed once.

The web door's HTTP connection reads the first request's head whole (at most
L{MAX_HEAD_BYTES}). When L{is_plain_chat_request} says it asks for C{/chat}
from a page that may chat here, written so plainly that Twisted Web would
hand it to the chat resource (and so to autobahn) without answering anything
itself, the connection gives the bytes straight to autobahn, which parses
them: the one parse of the upgrade. Anything else, including every request
Twisted Web would refuse or answer itself, goes to Twisted Web as it came,
and is answered as before (docs/security.md, "Web port limits").
"""

from __future__ import annotations

import re
from typing import Final

from chatproto.doors.websocket.origins import request_allowed

#: The longest first request head (request line and headers, with the empty line
#: that ends them) read whole before it is parsed; a longer one goes to Twisted Web.
MAX_HEAD_BYTES: Final = 8192
#: The most header lines a request handed to autobahn may have (Twisted Web allows 500).
MAX_HEADER_LINES: Final = 100
#: A GET of /chat (with or without a query) in HTTP/1.1, then header lines, each a
#: token, a colon, and visible characters, spaces and tabs only.
_PLAIN_HEAD: Final = re.compile(
    rb"GET /chat(?:\?[!-~]*)? HTTP/1\.1"
    rb"(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*)" + b"{0,%d}" % MAX_HEADER_LINES
)
#: The headers read here: the Origin and Host of the origin check, and those
#: Twisted Web acts on before the resource sees the request (a body to refuse, a
#: 100 Continue to send), whose requests go to Twisted Web.
_READ_HEADERS: Final = re.compile(
    rb"\r\n(origin|host|content-length|transfer-encoding|expect):([^\r]*)", re.IGNORECASE
)


def is_plain_chat_request(head: bytes, origins: frozenset[str]) -> bool:
    """Whether C{head} (the request line and header lines, without the empty line)
    asks for C{/chat}, from a page C{origins} allows (see L{request_allowed}), in
    lines that need no leniency: C{GET}, HTTP/1.1, no continuation lines, no
    control characters, at most L{MAX_HEADER_LINES} headers, none that Twisted
    Web acts on itself (C{Content-Length}, C{Transfer-Encoding}, C{Expect}).

    Whether it is a valid upgrade (its Upgrade header, its key, its version) is
    autobahn's to say, as it was when Twisted Web handed every such request over.
    """
    if _PLAIN_HEAD.fullmatch(head) is None:
        return False
    host: bytes | None = None
    origin_values: list[bytes] = []
    for name, value in _READ_HEADERS.findall(head):
        name = name.lower()
        if name == b"host":
            host = value.strip(b" \t")  # Twisted Web reads the last
        elif name == b"origin":
            origin_values.append(value.strip(b" \t"))
        else:
            return False
    return request_allowed(origin_values, host, origins)
