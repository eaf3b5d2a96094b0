"""The WebSocket door (docs/protocol.md section 9): one frame's text per message.

L{framing} (server frames, built once per turn), L{protocol} (one connection on
autobahn), L{site} (the web client's files and C{/chat} on one HTTP endpoint).
"""
