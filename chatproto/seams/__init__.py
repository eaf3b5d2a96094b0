"""Where the room meets storage and other nodes, each behind a zope interface.

L{history} (the store that allocates ids and keeps messages), L{hub} (room-wide
events to every node) and L{presence} (who holds which nickname). The defaults
serve one node; other implementations share one room between several.
"""
