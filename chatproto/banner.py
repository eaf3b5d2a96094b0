"""What `make run` prints before the server starts, and what `make client` connects to.

Both read the doors' endpoint descriptions as the server gets them (`--port`,
`--ws-port`, `--irc-port`) and say how a client on this machine reaches each door: the
host and port the endpoint listens on, never the description's other fields.

    python -m chatproto.banner run --port tcp:10328 --ws-port tcp:8080 ...
    python -m chatproto.banner client tcp:10328:interface=127.0.0.1   # -> 127.0.0.1 10328
"""

from __future__ import annotations

import argparse
import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from chatproto.doors.irc.identity import DEFAULT_CHANNEL

#: Where an endpoint description's fields part: at colons not escaped with a backslash.
_FIELD_SEPARATOR: Final = re.compile(r"(?<!\\):")
#: Endpoint types whose first field is a port and whose `interface=` names the address.
_PORT_KINDS: Final = frozenset({"tcp", "tcp6", "ssl"})
#: Interfaces that mean every address of the machine.
_EVERY_INTERFACE: Final = frozenset({"", "0.0.0.0", "::"})


@dataclass(frozen=True)
class Door:
    """Where one door listens: C{typed} as given; C{host} and C{port} as a client on this
    machine reaches it (None for a Unix socket or another kind without a port)."""

    typed: str
    kind: str
    host: str | None = None
    port: int | None = None
    #: The address it listens on; None: every interface.
    interface: str | None = None
    #: For a Unix socket, its path.
    path: str | None = None

    @property
    def tls(self) -> bool:
        """Whether a client must speak TLS."""
        return self.kind == "ssl"

    @property
    def exposed(self) -> bool:
        """Whether other machines can reach it (it listens beyond loopback)."""
        if self.port is None:
            return False
        if self.interface is None:
            return True
        try:
            return not ipaddress.ip_address(self.interface).is_loopback
        except ValueError:  # a name, not an address
            return self.interface != "localhost"

    def url_host(self) -> str:
        """The host as a URL writes it (an IPv6 address in brackets)."""
        assert self.host is not None
        return f"[{self.host}]" if ":" in self.host else self.host


def parse_door(typed: str) -> Door:
    """Where the endpoint C{typed} (a bare number means tcp) listens."""
    description = f"tcp:{typed}" if typed.isdigit() else typed
    kind, *fields = [field.replace("\\:", ":") for field in _FIELD_SEPARATOR.split(description)]
    positional = [field for field in fields if "=" not in field]
    named = dict(field.split("=", 1) for field in fields if "=" in field)
    if kind == "unix":
        return Door(typed, kind, path=named.get("address", positional[0] if positional else ""))
    port_text = named.get("port", positional[0] if positional else "")
    if kind not in _PORT_KINDS or not port_text.isdigit():
        return Door(typed, kind)
    interface = named.get("interface")
    if interface in _EVERY_INTERFACE:
        interface = None
    return Door(typed, kind, interface or "localhost", int(port_text), interface)


def client_arguments(door: Door) -> str:
    """The arguments that point `chatproto-client` at C{door}."""
    if door.path is not None:
        return f"unix:{door.path}"
    if door.port is None:
        return door.typed
    return f"{'--tls ' if door.tls else ''}{door.host} {door.port}"


def headline(doors: list[Door]) -> str:
    """The banner's first line: who can reach the server."""
    open_to_all = [door for door in doors if door.exposed and not door.tls]
    if open_to_all:
        where = (
            "all interfaces"
            if any(door.interface is None for door in open_to_all)
            else "the interfaces named below"
        )
        return (
            f"chatproto: serving on {where}, without TLS: whoever can reach these ports can join."
        )
    if any(door.exposed for door in doors):
        return "chatproto: serving over TLS where other machines can reach it."
    return "chatproto: serving on this machine only."


def banner(
    port: str,
    ws_port: str | None,
    irc_port: str | None,
    history_file: str,
    make_client: str = "make client",
    venv_bin: str = ".venv/bin",
) -> list[str]:
    """The lines `make run` prints: who can reach the server, then per door where it
    listens and how to get in, then the history file."""
    chat = parse_door(port)
    doors = [chat]
    lines = [
        f"  {port}  terminal client: {make_client}"
        f"   (or: {venv_bin}/chatproto-client {client_arguments(chat)})"
    ]
    if ws_port is not None:
        web = parse_door(ws_port)
        doors.append(web)
        if web.port is None:
            lines.append(f"  {ws_port}  browser: not reachable by URL (no TCP port)")
        else:
            scheme = "https" if web.tls else "http"
            lines.append(f"  {ws_port}  browser: open {scheme}://{web.url_host()}:{web.port}/")
    if irc_port is not None:
        irc = parse_door(irc_port)
        doors.append(irc)
        if irc.port is None:
            lines.append(f"  {irc_port}  IRC client: not reachable by host and port")
        else:
            with_tls = " with TLS" if irc.tls else ""
            lines.append(
                f"  {irc_port}  IRC client{with_tls}: /connect {irc.host} {irc.port},"
                f" the room is {DEFAULT_CHANNEL}"
            )
    return [headline(doors), *lines, f"  history: {history_file}; stop with Ctrl+C"]


def main(argv: list[str] | None = None) -> None:
    """Print the banner (`run`) or the client's arguments (`client`)."""
    parser = argparse.ArgumentParser(prog="python -m chatproto.banner", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the lines printed before the server starts")
    run.add_argument("--port", required=True)
    run.add_argument("--ws-port")
    run.add_argument("--irc-port")
    run.add_argument("--history-file", required=True)
    run.add_argument("--make-client", default="make client")
    run.add_argument("--venv-bin", default=".venv/bin")
    client = commands.add_parser("client", help="chatproto-client's arguments for a --port")
    client.add_argument("port")
    options = parser.parse_args(argv)
    if options.command == "client":
        print(client_arguments(parse_door(options.port)))
        return
    lines = banner(
        options.port,
        options.ws_port,
        options.irc_port,
        options.history_file,
        options.make_client,
        options.venv_bin,
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
