"""The IRC door (docs/protocol.md section 10): IRC clients join the room as the channel."""
