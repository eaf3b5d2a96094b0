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
#: The request line of a GET of /chat, with or without a query.
_REQUEST_LINE: Final = re.compile(rb"GET /chat(?:\?[!-~]*)? HTTP/1\.1")
#: A header line: a token, a colon, then visible characters, spaces and tabs only.
_HEADER_LINE: Final = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):([\t\x20-\x7e\x80-\xff]*)")
#: Headers Twisted Web acts on before the resource sees the request (a body to
#: refuse, a 100 Continue to send): their requests go to Twisted Web.
_ANSWERED_BY_TWISTED_WEB: Final = frozenset((b"content-length", b"transfer-encoding", b"expect"))


def is_plain_chat_request(head: bytes, origins: frozenset[str]) -> bool:
    """Whether C{head} (the request line and header lines, without the empty line)
    asks for C{/chat}, from a page C{origins} allows (see
    L{request_allowed}), in lines that need no
    leniency: C{GET}, HTTP/1.1, no continuation lines, no control characters,
    at most L{MAX_HEADER_LINES} headers, none that Twisted Web answers itself.

    Whether it is a valid upgrade (its Upgrade header, its key, its version) is
    autobahn's to say, as it was when Twisted Web handed every such request over.
    """
    request_line, *lines = head.split(b"\r\n")
    if _REQUEST_LINE.fullmatch(request_line) is None or len(lines) > MAX_HEADER_LINES:
        return False
    host: bytes | None = None
    origin_values: list[bytes] = []
    for line in lines:
        header = _HEADER_LINE.fullmatch(line)
        if header is None:
            return False
        name, value = header.group(1).lower(), header.group(2).strip(b" \t")
        if name in _ANSWERED_BY_TWISTED_WEB:
            return False
        if name == b"host":
            host = value  # Twisted Web reads the last
        elif name == b"origin":
            origin_values.append(value)
    return request_allowed(origin_values, host, origins)
