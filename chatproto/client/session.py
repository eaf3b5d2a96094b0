"""The chat session: joining, choosing a nickname, showing traffic, rejoining after a drop.

A L{Session} outlives connections: it remembers the nickname, the last
message id seen and the server's resume token, so after a reconnect it
rejoins with the resume form and the server replays exactly what was missed.
It also keeps the clock on the server's greeting: no HELLO/NICK within the
timeout ends the program at first, and drops the connection for the next
attempt once a chat server has greeted us.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum, auto
from typing import Any, Final, Protocol

from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from chatproto.client.commands import HELP, Help, Me, Mistake, Quit, Say, Who, parse_command
from chatproto.client.incoming import (
    ChatMessage,
    Incoming,
    Notice,
    int_field,
    number_field,
    string_field,
)
from chatproto.client.outbox import Outbox, Outgoing
from chatproto.client.protocol import ChatClientProtocol
from chatproto.client.render import Level, LocalNotice, Pending, Shown
from chatproto.client.roster import Roster
from chatproto.core.nicknames import InvalidNickname, nickname_key, validate_nickname
from chatproto.core.words import BYE, NICK, READY, RETRY
from chatproto.doors.tcp.framing import CONTROL_FRAMES, FrameTooLong, encode_packet, frame_text

#: Seconds to wait for the server to close the connection after our BYE.
BYE_GRACE: Final = 3.0
#: Seconds to wait before resending a rate-limited frame when the server gave no C{retry_after}.
DEFAULT_RETRY_AFTER: Final = 1.0
#: A longer C{resume_token} is not kept: it could not fit in a frame beside the nickname,
#: and a real one is a few dozen characters (docs/protocol.md section 5).
MAX_RESUME_TOKEN: Final = 1024


class NoNicknameError(Exception):
    """A front end has no nickname to offer (pipe mode): the program ends with status 1."""


class Frontend(Protocol):
    """What a session needs from the people (or the pipe) it serves."""

    def ask_nickname(self, problem: str | None) -> Deferred[str]:
        """Ask for a nickname, first saying C{problem} if any; may fail with L{NoNicknameError}."""

    def joined(self, session: Session) -> None:
        """The session (re)joined: take input now, and hand it to C{session}."""

    def show(self, item: Shown) -> None:
        """Show something the server sent, or a local notice."""

    def status(self, text: str | None) -> None:
        """Set the connection's status (reconnecting, ...), replacing the last; C{None}
        clears it."""


class ExitHandler(Protocol):
    """Called once when the program should end."""

    def __call__(self, status: int, message: str | None) -> None:
        """End with C{status}; C{message} is one line for standard error, if any."""


def _describe(reason: Failure) -> str:
    """Why a connection ended, in a few words."""
    if reason.check(ConnectionDone):  # type: ignore[no-untyped-call]
        return "closed by the server"
    return reason.getErrorMessage().rstrip(".")


class Phase(Enum):
    """Where the session is on the current connection."""

    OFFLINE = auto()
    GREETED = auto()
    CHOOSING = auto()
    JOINED = auto()


@dataclass
class _Leaving:
    done: Deferred[None]
    timeout: IDelayedCall


class Session:
    """The protocol state of one chat client across any number of connections."""

    def __init__(
        self,
        frontend: Frontend,
        clock: IReactorTime,
        *,
        server: str,
        nickname: str | None,
        reconnect: bool,
        timeout: float,
        show_history: bool,
        on_exit: ExitHandler,
    ) -> None:
        self._frontend = frontend
        self._clock = clock
        self._server = server
        #: The nickname (display form) we hold or will offer; C{None} until chosen.
        self.nickname = nickname
        #: The newest message id seen; C{None} until the first welcome.
        self.last_id: int | None = None
        #: Who is online, as the server told us.
        self.roster = Roster()
        self._reconnect = reconnect
        self._timeout = timeout
        self._show_history = show_history
        self._on_exit = on_exit
        self._outbox = Outbox(clock)
        self._link: ChatClientProtocol | None = None
        self._phase = Phase.OFFLINE
        #: Whether a chat server ever asked us for a nickname: until then a lost
        #: connection (refused TLS, not a chat server) ends the program.
        self._greeted = False
        #: Fires when no chat server greeted us in time.
        self._greeting: IDelayedCall | None = None
        #: Why we closed the connection ourselves, to say instead of "closed by the server".
        self._closing_because: str | None = None
        self._welcomed_once = False
        self._resume_token: str | None = None
        self._asking = False
        self._since_sent: int | None = None
        self._server_closing = False
        self._finishing = False
        self._exited = False
        self._leaving: _Leaving | None = None

    # Connection events (ConnectionHandler).

    def connecting(self) -> None:
        """The first connection attempt starts: a chat server must greet us in time."""
        self._await_greeting()

    def connected(self, link: ChatClientProtocol) -> None:
        """A connection was made; wait (at most the timeout) for the server's C{NICK}."""
        self._link = link
        self._phase = Phase.GREETED
        self._await_greeting()
        if self._greeted:
            self._frontend.status(None)
            self._notice(Level.INFO, f"Connected to {self._server} again.")

    def control_word(self, word: str) -> None:
        """Follow the handshake: NICK asks for a nickname, RETRY refuses it, READY accepts it."""
        if word == NICK and self._phase is Phase.GREETED:
            self._phase = Phase.CHOOSING
            self._greeted = True
            self._greeting_done()
            self._offer_nickname(None)
        elif word == RETRY and self._phase is Phase.CHOOSING:
            refused, self.nickname = self.nickname, None
            self._resume_token = None  # It did not win the nickname back; it is spent.
            self._offer_nickname(f"The nickname {refused} is taken.")
        elif word == READY and self._phase is Phase.CHOOSING:
            self._phase = Phase.JOINED

    def received(self, item: Incoming) -> None:
        """Show a packet, keeping track of ids, our own echoes and the server's answers."""
        if isinstance(item, ChatMessage):
            self._chat(item)
        elif isinstance(item, Notice):
            self._notice_received(item)
        else:
            self._frontend.show(item)

    def disconnected(self, link: ChatClientProtocol, reason: Failure) -> None:
        """The connection dropped: finish leaving, give up, or wait for the reconnect."""
        if link is not self._link:
            return
        self._link = None
        self._phase = Phase.OFFLINE
        self._outbox.close()
        self._greeting_done()
        if self._leaving is not None:
            if self._leaving.timeout.active():
                self._leaving.timeout.cancel()
            self._leaving.done.callback(None)
            return
        why, self._closing_because = self._closing_because or _describe(reason), None
        if not self._greeted:
            self._exit(1, f"the connection to {self._server} ended before we joined ({why})")
            return
        what = "The server shut down" if self._server_closing else f"Connection lost ({why})"
        self._server_closing = False
        if not self._reconnect:
            self._exit(1, f"{what}; not reconnecting (--no-reconnect)")
            return
        self._notice(Level.WARNING, f"{what}.")

    def retrying(self, attempt: int, delay: float) -> None:
        """Connection attempt number C{attempt} is C{delay} seconds away."""
        if self._greeted and not self._exited and self._leaving is None:
            self._frontend.status(
                f"Reconnecting to {self._server} in {delay:.1f} s (attempt {attempt})..."
            )

    # What the person (or the pipe) does.

    def typed(self, line: str) -> None:
        """A person typed C{line}: a message or a slash command."""
        command = parse_command(line)
        if isinstance(command, Me):
            command = Say(f"* {self.nickname} {command.text}")
        if isinstance(command, Say):
            if self._say(command.text, command.to) and self._phase is not Phase.JOINED:
                # Said, so that the person does not type it again: it goes once we are back.
                self._frontend.show(Pending(command.text, command.to))
        elif isinstance(command, Who):
            self._outbox.put(Outgoing(encode_packet({"command": "who"})))
        elif isinstance(command, Quit):
            self.quit()
        elif isinstance(command, Help):
            self._notice(Level.INFO, HELP)
        elif isinstance(command, Mistake):
            self._notice(Level.WARNING, command.reason)

    def message(self, text: str) -> None:
        """Send C{text} as it is (pipe mode); a blank line sends nothing."""
        if text.strip():
            self._say(text, None)

    def finish(self) -> None:
        """Leave once everything queued was sent and answered (end of input)."""
        if not self._finishing:
            self._finishing = True
            self._outbox.when_empty().addCallback(lambda _: self.quit())

    def quit(self) -> None:
        """Leave now, with status 0."""
        self._exit(0, None)

    def leave(self) -> Deferred[None]:
        """Say BYE and fire once the server closed the connection (or after L{BYE_GRACE})."""
        link = self._link
        if link is None:
            return succeed(None)
        if self._leaving is None:
            self._leaving = _Leaving(Deferred(), self._clock.callLater(BYE_GRACE, link.close))
            link.send(CONTROL_FRAMES[BYE])
        return self._leaving.done

    # Inside.

    def _exit(self, status: int, message: str | None) -> None:
        self._greeting_done()
        if not self._exited:
            self._exited = True
            self._on_exit(status, message)

    def _await_greeting(self) -> None:
        if self._greeting is None:
            self._greeting = self._clock.callLater(self._timeout, self._not_greeted)

    def _greeting_done(self) -> None:
        if self._greeting is not None:
            if self._greeting.active():
                self._greeting.cancel()
            self._greeting = None

    def _not_greeted(self) -> None:
        """No C{NICK} within the timeout: give up at first, or try a new connection later."""
        self._greeting = None
        link = self._link
        if link is None:
            waited = f"no connection within {self._timeout:g} s (--timeout)"
            self._exit(1, f"cannot connect to {self._server}: {waited}")
            return
        waited = f"no HELLO/NICK within {self._timeout:g} s (--timeout)"
        if not self._greeted:
            sent = repr(link.first_bytes) if link.first_bytes else "nothing"
            self._exit(1, f"no chat server at {self._server}: {waited}; it sent {sent}")
        # Closed, not left with BYE: whatever listens there does not speak our protocol.
        self._closing_because = waited
        link.close()

    def _notice(self, level: Level, text: str) -> None:
        self._frontend.show(LocalNotice(level, text))

    def _offer_nickname(self, problem: str | None) -> None:
        if self.nickname is not None:
            self._send_nickname(self.nickname)
        elif not self._asking:
            self._asking = True
            self._frontend.ask_nickname(problem).addCallbacks(self._chosen, self._not_chosen)

    def _chosen(self, raw: str) -> None:
        self._asking = False
        try:
            self.nickname = validate_nickname(raw.strip())
        except InvalidNickname as e:
            self._offer_nickname(f"That nickname is not allowed: {e}.")
            return
        if self._phase is Phase.CHOOSING:
            self._send_nickname(self.nickname)

    def _not_chosen(self, failure: Failure) -> None:
        self._asking = False
        self._exit(1, failure.getErrorMessage())

    def _send_nickname(self, nickname: str) -> None:
        if self._link is None:
            return
        if self.last_id is None:
            self._link.send(frame_text(nickname))
            return
        self._since_sent = self.last_id
        resume: dict[str, Any] = {"nickname": nickname, "since": self.last_id}
        if self._resume_token is not None:
            resume["token"] = self._resume_token
        self._link.send(encode_packet(resume))

    def _say(self, text: str, to: str | None) -> bool:
        """Queue a message; C{False} when it is not sent (too long, or a BYE)."""
        if to is None and text == BYE:
            # The original protocol reads this message as BYE: leave properly instead.
            self.finish()
            return False
        packet: dict[str, Any] = {"message": text}
        if to is not None:
            packet["to"] = to
        try:
            frame = encode_packet(packet)
        except FrameTooLong:
            self._notice(Level.ERROR, "That message is too long to send.")
            return False
        self._outbox.put(Outgoing(frame, text if to is None else None))
        return True

    def _chat(self, message: ChatMessage) -> None:
        if message.id is not None:
            if self.last_id is not None and message.id <= self.last_id:
                return  # Seen before the reconnect.
            self.last_id = message.id
        if self.nickname is not None and nickname_key(message.nickname) == nickname_key(
            self.nickname
        ):
            message = replace(message, own=True)
            if message.history:
                self._outbox.replayed(message.text)
            else:
                self._outbox.answered()
        if self._show_history or self._welcomed_once or not message.history:
            self._frontend.show(message)

    def _notice_received(self, notice: Notice) -> None:
        if notice.event == "error" and notice.packet.get("code") == "rate-limited":
            retry_after = number_field(notice.packet, "retry_after")
            delay = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
            if self._outbox.retry_later(delay):
                return  # Handled: the frame goes again, nothing is lost, nothing to tell.
        self._frontend.show(notice)
        self.roster.heard(notice)
        if notice.event == "welcome":
            self._welcomed(notice)
        elif notice.event in ("who", "error"):
            self._outbox.answered()
        elif notice.event == "shutdown":
            self._server_closing = True

    def _welcomed(self, notice: Notice) -> None:
        newest = int_field(notice.packet, "last_id")
        oldest = int_field(notice.packet, "first_id")
        since, self._since_sent = self._since_sent, None
        if since is not None and oldest is not None and since < oldest - 1:
            self._notice(
                Level.WARNING,
                f"Messages {since + 1} to {oldest - 1} were too old to replay: they are missed.",
            )
        if newest is not None:
            self.last_id = max(self.last_id or 0, newest)
        token = string_field(notice.packet, "resume_token")
        self._resume_token = token if token is None or len(token) <= MAX_RESUME_TOKEN else None
        self._welcomed_once = True
        if self._link is not None:
            self._outbox.open(self._link.send)
        self._frontend.joined(self)
