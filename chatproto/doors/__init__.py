"""Doors: the transports through which clients reach the room."""
