"""The doors: thin adapters from one wire to the room core, one package each."""
