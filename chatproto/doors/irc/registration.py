"""Registration on the IRC door: NICK, USER and IRCv3 capability negotiation, as a state machine.

    WAITING ──CAP LS / CAP REQ──> NEGOTIATING ──CAP END──> WAITING
    WAITING ──NICK and USER both given──> ASKING        (the door asks the room for the nickname)
    ASKING  ──room accepts──> REGISTERED
    ASKING  ──room refuses──> WAITING                  (433, or 464 for a wrong PASS; the client
                                                        sends another NICK)
    any     ──QUIT──> CLOSED                            (ERROR, then the door closes)

While NEGOTIATING, NICK and USER are recorded but registration waits for C{CAP END}, as
IRCv3 capability negotiation requires. C{CAP LIST} and an unknown subcommand (410) do not
start negotiation. Capabilities can still be listed and requested once registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from chatproto.core.nicknames import validate_nickname
from chatproto.doors.irc.capabilities import OFFERED, apply_request, listed
from chatproto.doors.irc.message import Message
from chatproto.doors.irc.replies import (
    ERR_INVALIDCAPCMD,
    ERR_NEEDMOREPARAMS,
    ERR_NONICKNAMEGIVEN,
    ERR_NOTREGISTERED,
    Replies,
)

#: The nickname target of replies to a client that has none yet.
NO_NICKNAME = "*"
#: The capabilities of a client that enabled none, shared: every empty frozenset is a
#: new 216-byte object (memory per idle client).
NONE_ENABLED: frozenset[str] = frozenset()


class Phase(Enum):
    """Where a connection is in registration."""

    WAITING = "waiting for NICK and USER"
    NEGOTIATING = "negotiating capabilities, registration held until CAP END"
    ASKING = "asking the room for the nickname"
    REGISTERED = "registered"
    CLOSED = "closed"


@dataclass
class Step:
    """What the door does after one line: write C{replies}, then maybe more.

    C{join_as}: ask the room for this nickname now, and feed no more lines until it answers
    (L{Registration.room_accepted} or L{Registration.nickname_taken}; the nickname was
    checked before). C{close}: close the connection after the replies.
    """

    replies: list[Message] = field(default_factory=list)
    join_as: str | None = None
    close: bool = False


class Registration:
    """One connection's registration, fed the client's messages until it is registered.

    C{capabilities} is the set of IRCv3 capabilities the client has enabled; C{username}
    and C{realname} are what it gave in C{USER} (empty until then); C{password} what it
    gave in C{PASS} (None: none).
    """

    # One per connection for its life: slots, not an attribute dict (docs/performance.md,
    # "Memory per idle client").
    __slots__ = (
        "_replies",
        "_validate",
        "capabilities",
        "nickname",
        "password",
        "phase",
        "realname",
        "username",
    )

    def __init__(
        self, replies: Replies, validate: Callable[[str], str] = validate_nickname
    ) -> None:
        self.phase = Phase.WAITING
        self.capabilities = NONE_ENABLED
        self.nickname: str | None = None
        self._replies = replies
        self._validate = validate
        self.username = ""
        self.realname = ""
        self.password: str | None = None

    @property
    def me(self) -> str:
        """The nickname replies address: the client's once registered, C{*} before."""
        if self.phase is Phase.REGISTERED and self.nickname is not None:
            return self.nickname
        return NO_NICKNAME

    def receive(self, message: Message) -> Step:
        """Handle one message of a client that is not registered yet.

        @raise RuntimeError: while the room decides on a nickname (the door holds input
            then), and once registered or closed (the door handles commands then).
        """
        if self.phase not in (Phase.WAITING, Phase.NEGOTIATING):
            raise RuntimeError(f"registration gets no input while {self.phase.value}")
        command, params = message.command, message.params
        if command == "CAP":
            return self.cap(message)
        if command == "NICK":
            return self._nick(params)
        if command == "USER":
            return self._user(params)
        if command == "PASS":
            # The password of the account NICK names, checked when registration completes.
            self.password = params[0] if params and params[0] else None
            return Step()
        if command == "PING":
            return Step([self._replies.answer_ping(NO_NICKNAME, params)])
        if command == "QUIT":
            return self.quit(params)
        return Step([self._replies.numeric(ERR_NOTREGISTERED, NO_NICKNAME)])

    def quit(self, params: tuple[str, ...]) -> Step:
        """QUIT in any phase: ERROR, then close."""
        self.phase = Phase.CLOSED
        reason = f"Quit: {params[0]}" if params and params[0] else "Quit"
        return Step([self._replies.closing_link(reason)], close=True)

    def cap(self, message: Message) -> Step:
        """A CAP command, before or after registration."""
        if not message.params:
            return Step([self._replies.numeric(ERR_NEEDMOREPARAMS, self.me, "CAP")])
        subcommand = message.params[0].upper()
        if subcommand == "LS":
            self._hold_registration()
            version = message.params[1] if len(message.params) > 1 else ""
            return Step([self._cap_reply("LS", listed(version))])
        if subcommand == "LIST":
            enabled = " ".join(name for name in OFFERED if name in self.capabilities)
            return Step([self._cap_reply("LIST", enabled)])
        if subcommand == "REQ":
            self._hold_registration()
            request = message.params[1] if len(message.params) > 1 else ""
            after = apply_request(self.capabilities, request)
            if after is None:
                return Step([self._cap_reply("NAK", request)])
            self.capabilities = after
            return Step([self._cap_reply("ACK", request)])
        if subcommand == "END":
            if self.phase is Phase.NEGOTIATING:
                self.phase = Phase.WAITING
                return self._try_to_register()
            return Step()
        return Step([self._replies.numeric(ERR_INVALIDCAPCMD, self.me, message.params[0])])

    def room_accepted(self) -> None:
        """The room gave the client its nickname: registered (the door sends the welcome)."""
        self._expect_asking()
        self.phase = Phase.REGISTERED

    def nickname_refused(self, reply: Message) -> Step:
        """The room refused the nickname for the reason C{reply} gives (433 for one held or
        registered, 464 for a wrong password); the client chooses another."""
        self._expect_asking()
        self._take_nickname()
        return self._refused(reply)

    def _cap_reply(self, subcommand: str, text: str) -> Message:
        return self._replies.cap(self.me, subcommand, text)

    def _hold_registration(self) -> None:
        if self.phase is Phase.WAITING:
            self.phase = Phase.NEGOTIATING

    def _nick(self, params: tuple[str, ...]) -> Step:
        if not params or not params[0]:
            return Step([self._replies.numeric(ERR_NONICKNAMEGIVEN, NO_NICKNAME)])
        try:
            self.nickname = self._validate(params[0])
        except ValueError as e:  # InvalidNickname, with a reason a person can read
            return Step([self._replies.erroneous_nickname(NO_NICKNAME, params[0], str(e))])
        return self._try_to_register()

    def _user(self, params: tuple[str, ...]) -> Step:
        if len(params) < 4 or not params[0] or not params[3]:
            return Step([self._replies.numeric(ERR_NEEDMOREPARAMS, NO_NICKNAME, "USER")])
        self.username, self.realname = params[0], params[3]
        return self._try_to_register()

    def _try_to_register(self) -> Step:
        # USER was given when there is a realname (461 refuses an empty one).
        if self.phase is Phase.WAITING and self.nickname is not None and self.realname:
            self.phase = Phase.ASKING
            return Step(join_as=self.nickname)
        return Step()

    def _expect_asking(self) -> None:
        if self.phase is not Phase.ASKING:
            raise RuntimeError(f"the room answered while {self.phase.value}")

    def _take_nickname(self) -> str:
        nickname = self.nickname or NO_NICKNAME
        self.nickname = None
        return nickname

    def _refused(self, reply: Message) -> Step:
        self.phase = Phase.WAITING
        return Step([reply])
