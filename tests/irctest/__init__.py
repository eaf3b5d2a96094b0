"""irctest (../shared/irctest) run against the IRC door: the controller and the selection."""
