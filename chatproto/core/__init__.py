"""The room: every rule that is the same on every door. It imports no door.

L{room} (membership, messages, notices, shutdown), L{connection} (one member's
limits and output, whatever its wire), L{fanout} (room-wide events encoded once
per codec per reactor turn), L{member} and L{codec} (the interfaces a door
implements), and the rules themselves: L{nicknames}, L{messages}, L{bucket},
L{outbox}, L{admission}, L{notices}, L{records}.
"""
