"""Running the server as a service (docs/operations.md, docs/protocol.md section 15):
metrics and health on --metrics-port, the --config file, SIGHUP reload."""
