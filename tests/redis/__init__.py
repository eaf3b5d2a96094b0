"""Several nodes through Redis (docs/protocol.md section 11)."""
