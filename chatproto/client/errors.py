"""What the client API raises: the server's refusals and the client's own ends."""

from __future__ import annotations


class ChatError(Exception):
    """The server refused something this client sent: an C{error} notice
    (docs/protocol.md section 5.3).

    Switch on C{code} (C{too-long}, C{no-such-user}, ...); C{message} is for people.
    """

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(code, message, retry_after)
        self.code = code
        self.message = message
        #: Seconds until the server would accept a frame, when it said (C{rate-limited}).
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"


class ClientStopped(Exception):
    """The client ended for good before this could be done: it left, it could not reach
    a chat server, its nickname was refused with no other to offer, or the connection
    dropped with reconnecting off. The message says which, in one line."""


class NicknameRefused(ClientStopped):
    """No nickname to offer: the one given was refused (taken or invalid) and there is
    nobody to ask for another (see L{chatproto.client.api.ChatClient.choose_nickname})."""


class MessageTooLong(ValueError):
    """The message cannot fit in one frame of 65535 bytes (docs/protocol.md section 1.2);
    the server's own limit (C{too-long}) is usually much lower."""
