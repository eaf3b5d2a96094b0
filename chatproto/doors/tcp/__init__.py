"""The word-packet TCP door: uint16-prefixed frames over TCP, TLS or UNIX sockets.

L{framing} (the length prefix), L{protocol} (one connection and its factory),
L{fastwrite} (the fan-out fast path to an idle socket).
"""
