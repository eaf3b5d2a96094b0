"""Several nodes, one room: the seams backed by Redis (docs/scaling.md)."""
