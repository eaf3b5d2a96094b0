"""The program's client: the API's L{ChatClient} shown to a person or a pipe.

A L{Session} is a L{ChatClient} whose events go to a front end (the terminal
or the pipe): what arrives is shown, the nickname is asked for, the
connection's state is a status line, and the lines a person types become
messages and commands. Everything about the protocol (the handshake and its
timeout, resume, pacing, reconnecting) is the API's.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from chatproto.client.api import ChatClient
from chatproto.client.commands import (
    HELP,
    Announce,
    Bans,
    Help,
    Ids,
    Join,
    Me,
    Mistake,
    Moderate,
    Part,
    Quit,
    Redact,
    Register,
    Rooms,
    Say,
    Setting,
    Switch,
    Topic,
    Who,
    parse_command,
)
from chatproto.client.errors import ChatError, ClientStopped, MessageTooLong
from chatproto.client.errors import NicknameRefused as NoNicknameError
from chatproto.client.incoming import (
    ChatMessage,
    Incoming,
    Notice,
    Unreadable,
    Welcome,
    string_field,
)
from chatproto.client.render import Level, LocalNotice, Marked, Numbered, Pending, Shown
from chatproto.client.roster import Roster
from chatproto.core.words import BYE

__all__ = ["ExitHandler", "Frontend", "NoNicknameError", "Session"]

#: The notices about one room: marked with the room's name when it is not the current
#: one (a welcome names its room itself).
ROOM_EVENTS: Final = frozenset(
    {"join", "leave", "who", "topic", "history", "moderation", "redact", "bans"}
)


class Frontend(Protocol):
    """What a session needs from the people (or the pipe) it serves."""

    def ask_nickname(self, problem: str | None) -> Deferred[str]:
        """Ask for a nickname, first saying C{problem} if any; may fail with L{NoNicknameError}."""

    def ask_password(self, question: str) -> Deferred[str]:
        """Say C{question}, then read a password without echo (nor history); may fail
        with L{NoNicknameError} when there is nobody to ask."""

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


def _already_shown(failure: Failure) -> None:
    """A request's failure: its error notice was shown, or the program is ending."""
    failure.trap(ChatError, ClientStopped)  # type: ignore[no-untyped-call]


class Session(ChatClient):
    """The chat client of the program: events to a front end, typed lines to requests."""

    TIMEOUT_OPTION = "--timeout"
    NO_RECONNECT_OPTION = "--no-reconnect"

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
        room: str | None = None,
        password: str | None = None,
        asks_password: bool = False,
        clear_text_warning: bool = False,
    ) -> None:
        """
        @param room: a room to join once on the server, making it the current room
            (input is read once in it; the program ends with status 1 if refused).
        @param password: the password to log in with (docs/protocol.md section 13).
        @param asks_password: whether the front end can ask for a password (a terminal):
            the nickname then goes in the JSON form, so that the server says when it is
            registered.
        @param clear_text_warning: warn before a password is sent (the connection has
            no TLS and leaves this machine).
        """
        super().__init__(
            nickname, reconnect=reconnect, timeout=timeout, clock=clock, password=password
        )
        self.ASKS_PASSWORD = asks_password
        self._clear_text_warning = clear_text_warning
        self.server = server
        self._frontend = frontend
        #: The room typed lines go to, by name (C{None}: the default room).
        self.current: str | None = None
        self._start_room = room
        #: Whether the start room is being joined (its replay is the first join's).
        self._joining_start = False
        #: Who is in each room the client is in, by room key, as the server told us.
        self._rosters: dict[str | None, Roster] = {}
        self._show_history = show_history
        self._on_exit = on_exit
        self._welcomed_once = False
        #: Whether public messages show their ids (C{/ids}).
        self.show_ids = False
        self._finishing = False
        self._exited = False
        if password is not None:
            self._warn_clear_text()

    # What the person (or the pipe) does.

    def typed(self, line: str) -> None:
        """A person typed C{line}: a message or a slash command."""
        command = parse_command(line)
        if isinstance(command, Me):
            command = Say(f"* {self.nickname} {command.text}")
        if isinstance(command, Say):
            if self._say(command.text, command.to) and not self.in_room:
                # Said, so that the person does not type it again: it goes once we are back.
                self._frontend.show(Pending(command.text, command.to))
        elif isinstance(command, Who):
            self.who(self.current).addErrback(_already_shown)
        elif isinstance(command, Join):
            self.join(command.room).addCallbacks(self._switch_to_joined, _already_shown)
        elif isinstance(command, Part):
            self._part(command.room or self.current)
        elif isinstance(command, Switch):
            self.switch(command.room)
        elif isinstance(command, Rooms):
            self.rooms().addErrback(_already_shown)
        elif isinstance(command, Topic):
            self._topic(command.text)
        elif isinstance(command, Register):
            self._register()
        elif isinstance(command, Moderate | Setting | Bans | Redact | Announce):
            self._moderate(command)
        elif isinstance(command, Ids):
            self.show_ids = not self.show_ids
            said = "shown (/redact ID removes one)" if self.show_ids else "hidden"
            self._local(Level.INFO, f"Message ids are {said} from now on.")
        elif isinstance(command, Quit):
            self.quit()
        elif isinstance(command, Help):
            self._local(Level.INFO, HELP)
        elif isinstance(command, Mistake):
            self._local(Level.WARNING, command.reason)

    def message(self, text: str) -> None:
        """Send C{text} as it is to the current room (pipe mode); a blank line sends
        nothing."""
        if text.strip():
            self._say(text, None)

    @property
    def roster(self) -> Roster:
        """Who is in the current room (the names Tab completes)."""
        return self._rosters.get(self.room_key(self.current)) or Roster()

    def switch(self, room: str | None) -> None:
        """Make C{room} (C{None}: the default room) the current room, if the client is
        in it."""
        key = self.room_key(room)
        joined = [name for name in self.rooms_joined if self.room_key(name) == key]
        if not joined:
            where = "the default room" if room is None else room
            self._local(Level.WARNING, f"You are not in {where}; /join it first.")
            return
        self.current = joined[0]
        self._local(Level.INFO, f"Talking in {self._label(self.current)} now.")

    def switch_to_number(self, number: int) -> None:
        """Make the C{number}th room joined (1: the first, usually the default room)
        the current room."""
        joined = self.rooms_joined
        if 1 <= number <= len(joined):
            self.switch(joined[number - 1])

    def finish(self) -> None:
        """Leave once everything queued was sent and answered (end of input)."""
        if not self._finishing:
            self._finishing = True
            self.when_sent().addCallback(lambda _: self.quit())

    def quit(self) -> None:
        """Leave now, with status 0."""
        self._exit(0, None)

    # The API's events, shown.

    def choose_nickname(self, problem: str | None) -> Deferred[str]:
        """Ask the front end."""
        return self._frontend.ask_nickname(problem)

    def choose_password(self, nickname: str, problem: str) -> Deferred[str]:
        """Ask the front end (without echo), warning first if it would cross the network
        in the clear."""
        self._warn_clear_text()
        return self._frontend.ask_password(f"{problem}\nPassword for {nickname}:")

    def reconnected(self) -> None:
        """Say so; the status line goes."""
        self._frontend.status(None)
        self._local(Level.INFO, f"Connected to {self.server} again.")

    def reconnecting(self, attempt: int, delay: float) -> None:
        """Count the attempts on the status line."""
        self._frontend.status(
            f"Reconnecting to {self.server} in {delay:.1f} s (attempt {attempt})..."
        )

    def disconnected(self, reason: str, reconnecting: bool) -> None:
        """Say why, when we will be back (else the program ends, saying it)."""
        if reconnecting:
            self._local(Level.WARNING, f"{reason}.")

    def stopped(self, reason: ClientStopped | None) -> None:
        """A client that gave up ends the program with status 1 (leaving is the
        program's own doing: it ends already)."""
        if reason is not None:
            self._exit(1, str(reason))

    def message_received(self, message: ChatMessage) -> None:
        """Show it (the first replay only with history on)."""
        self._show_chat(message)

    def private_message_received(self, message: ChatMessage) -> None:
        """Show it."""
        self._show_chat(message)

    def notice_received(self, notice: Notice) -> None:
        """Show it; follow who is in each room."""
        self._show(notice)
        key = self.room_key(notice.room)
        if notice.event not in ROOM_EVENTS | {"welcome"}:
            return
        if notice.event == "leave" and string_field(notice.packet, "user") == self.nickname:
            self._rosters.pop(key, None)
        elif key in {self.room_key(name) for name in self.rooms_joined}:
            self._rosters.setdefault(key, Roster()).heard(notice)

    def unreadable_received(self, text: str) -> None:
        """Show it, escaped."""
        self._frontend.show(Unreadable(text))

    def messages_missed(self, first: int, last: int, room: str | None) -> None:
        """Say which."""
        where = "" if self.room_key(room) == self.room_key(self.current) else f" of {room}"
        self._local(
            Level.WARNING,
            f"Messages {first} to {last}{where} were too old to replay: they are missed.",
        )

    def joined(self, welcome: Welcome) -> None:
        """On the server: join the room asked for, then take input."""
        if welcome.room is not None or self._welcomed_once:
            return  # Another room: /join says so.
        self._welcomed_once = True
        if self._start_room is None:
            self._frontend.joined(self)
            return
        room = self._start_room
        self._joining_start = True
        self.join(room).addCallbacks(
            self._in_start_room, self._start_room_refused, errbackArgs=(room,)
        )

    def rejoined(self, welcome: Welcome) -> None:
        """Back on the server: take input again."""
        if welcome.room is None:
            self._frontend.joined(self)

    # Inside.

    def _exit(self, status: int, message: str | None) -> None:
        if not self._exited:
            self._exited = True
            self._on_exit(status, message)

    def _local(self, level: Level, text: str) -> None:
        self._frontend.show(LocalNotice(level, text))

    def _label(self, room: str | None) -> str:
        return "the default room" if room is None else room

    def _show(self, item: Incoming) -> None:
        """Show C{item}, marked with its room when that is not the current one (and with
        its id after C{/ids})."""
        if isinstance(item, Unreadable):
            self._frontend.show(item)
            return
        public = isinstance(item, ChatMessage) and item.to is None
        about_a_room = public or (isinstance(item, Notice) and item.event in ROOM_EVENTS)
        shown: ChatMessage | Notice | Numbered = item
        if isinstance(item, ChatMessage) and public and self.show_ids:
            shown = Numbered(item)
        if about_a_room and self.room_key(item.room) != self.room_key(self.current):
            self._frontend.show(Marked(item.room, shown))
        else:
            self._frontend.show(shown)

    def _show_chat(self, message: ChatMessage) -> None:
        first_join = not self._welcomed_once or self._joining_start
        if self._show_history or not first_join or not message.history:
            self._show(message)

    def _switch_to_joined(self, welcome: Welcome) -> None:
        self.current = welcome.room
        self._local(Level.INFO, f"Talking in {self._label(self.current)} now.")

    def _in_start_room(self, welcome: Welcome) -> None:
        self._joining_start = False
        self.current = welcome.room
        self._frontend.joined(self)

    def _start_room_refused(self, failure: Failure, room: str) -> None:
        self._joining_start = False
        failure.trap(ChatError, ClientStopped)  # type: ignore[no-untyped-call]
        if failure.check(ChatError):  # type: ignore[no-untyped-call]
            self._exit(1, f"cannot join {room}: {failure.value}")

    def _part(self, room: str | None) -> None:
        def parted(_: None) -> None:
            if self.room_key(room) == self.room_key(self.current):
                joined = self.rooms_joined
                self.current = joined[0] if joined else None
                if joined:
                    self._local(Level.INFO, f"Talking in {self._label(self.current)} now.")

        self.part(room).addCallbacks(parted, _already_shown)

    def _moderate(self, command: Moderate | Setting | Bans | Redact | Announce) -> None:
        """Ask for a moderation command in the current room; its notice (or the error)
        is shown as it comes."""
        room = self.current
        done: Deferred[Any]
        if isinstance(command, Bans):
            done = self.bans(room=room)
        elif isinstance(command, Redact):
            done = self.redact(command.id, room=room)
        elif isinstance(command, Announce):
            done = self.announce(command.text)
        elif isinstance(command, Setting):
            switch = self.set_topic_lock if command.action == "topic-lock" else self.set_moderated
            done = switch(command.on, room=room)
        elif command.action == "kick":
            done = self.kick(command.target, room=room, comment=command.comment)
        elif command.action == "mute":
            done = self.mute(command.target, room=room, seconds=command.seconds)
        elif command.action == "ban":
            done = self.ban(
                command.target, room=room, seconds=command.seconds, comment=command.comment
            )
        elif command.action == "unban":
            done = self.unban(command.target, room=room)
        else:
            about_a_member = {
                "unmute": self.unmute,
                "op": self.op,
                "deop": self.deop,
                "voice": self.voice,
                "devoice": self.devoice,
            }
            done = about_a_member[command.action](command.target, room=room)
        done.addErrback(_already_shown)

    def _register(self) -> None:
        self._warn_clear_text()
        asked = self._frontend.ask_password(f"Choose a password for {self.nickname}:")

        def registered(_: None) -> None:
            self._local(Level.INFO, f"{self.nickname} is registered: you are logged in.")

        asked.addCallback(self.register).addCallbacks(registered, _already_shown)

    def _warn_clear_text(self) -> None:
        """Say once that a password is about to cross the network without TLS."""
        if self._clear_text_warning:
            self._clear_text_warning = False
            self._local(
                Level.WARNING,
                f"The connection to {self.server} has no TLS: your password crosses "
                "the network readable by anyone on the way (use --tls).",
            )

    def _topic(self, text: str | None) -> None:
        if text is not None:
            self.set_topic(self.current, text).addErrback(_already_shown)
            return
        where = self._label(self.current)
        topic = self.topic(self.current)
        self._local(Level.INFO, f"Topic of {where}: {topic}" if topic else f"No topic in {where}.")

    def _say(self, text: str, to: str | None) -> bool:
        """Queue a message; C{False} when it is not sent (too long, or a BYE)."""
        if to is None and self.current is None and text == BYE:
            # The original protocol reads this message (without a room) as BYE: leave
            # properly instead. In a named room it is a message like any other.
            self.finish()
            return False
        sent: Deferred[Any]
        try:
            sent = self.send(text, self.current) if to is None else self.send_private(to, text)
        except MessageTooLong:
            self._local(Level.ERROR, "That message is too long to send.")
            return False
        sent.addErrback(_already_shown)
        return True
