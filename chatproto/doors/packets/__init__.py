"""The packet dialogue that the word-packet and WebSocket doors share.

Both carry the same texts (docs/protocol.md sections 1-8); only the framing
differs. L{parsing} reads a frame's text strictly; L{dialogue} is the
per-connection state machine (HELLO, NICK, READY/RETRY, packets, BYE).
"""
