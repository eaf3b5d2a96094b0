"""The interactive front end: prompt_toolkit line editing, output printed above the prompt.

prompt_toolkit runs on asyncio; the program installs Twisted's asyncio reactor,
so the prompt and the connection share one event loop. Whatever is printed
while a line is being typed goes above the prompt, which is redrawn with the
half-typed line intact. One prompt serves both questions: it reads a nickname
while one is asked for (also after a reconnect found ours taken) and chat
lines otherwise. The connection's status (reconnecting) is one line below the
prompt, replaced as it changes; Tab completes nicknames, rooms and commands.
The prompt names the current room; Alt+1 to Alt+9 switch between the rooms
joined.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Final, TextIO

from prompt_toolkit import PromptSession, print_formatted_text
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent, merge_key_bindings
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.styles import Style
from twisted.internet.defer import Deferred

from chatproto.client.completion import ChatCompleter, tab_key
from chatproto.client.escaping import split_unsafe
from chatproto.client.render import Level, LocalNotice, Shown, render
from chatproto.client.session import Session

#: Colours by style class (see L{chatproto.client.render}).
COLOURS: Final = {
    "time": "ansibrightblack",
    "nick": "bold",
    "own": "bold ansigreen",
    "history": "ansibrightblack",
    "private": "ansimagenta",
    "join": "ansicyan",
    "leave": "ansicyan",
    "notice": "ansiblue",
    "error": "ansired",
    "shutdown": "bold ansiyellow",
    "moderation": "ansimagenta",
    "announce": "bold reverse ansiyellow",
    "id": "ansibrightblack",
    "escaped": "reverse",
    "room": "ansiyellow",
    "status.info": "ansiblue",
    "status.warning": "ansiyellow",
    "status.error": "bold ansired",
}


def use_colour(output: TextIO, environ: Mapping[str, str]) -> bool:
    """Colours only on a terminal, and only when C{NO_COLOR} is unset."""
    return output.isatty() and "NO_COLOR" not in environ


class _TypedLines(InMemoryHistory):
    """The lines typed, for Up and Down; none is kept while C{keep} is off (a password)."""

    keep = True

    def append_string(self, string: str) -> None:
        """Keep C{string}, unless it is a password."""
        if self.keep:
            super().append_string(string)


class TerminalFrontend:
    """Prints traffic above the input line; reads nicknames and chat lines from it."""

    def __init__(self, *, colour: bool, on_quit: Callable[[], None]) -> None:
        self._style = Style.from_dict(COLOURS) if colour else Style([])
        self._depth = None if colour else ColorDepth.DEPTH_1_BIT
        self._quit = on_quit
        self._history = _TypedLines()
        self._prompt: PromptSession[str] = PromptSession(
            history=self._history,
            erase_when_done=True,
            completer=ChatCompleter(self._completable_names),
            complete_while_typing=False,
            key_bindings=merge_key_bindings([tab_key(), self._room_keys()]),
        )
        self._asking: Deferred[str] | None = None
        #: Whether the line asked for is a password (no echo, no history).
        self._secret = False
        #: A half-typed chat line, put aside while a nickname is asked for.
        self._draft = ""
        self._session: Session | None = None
        self._reading: asyncio.Task[None] | None = None
        #: Whether a prompt is showing, waiting for a line.
        self._waiting = False

    def show(self, item: Shown) -> None:
        """Print C{item} above the prompt (or plainly, when no prompt is showing)."""
        print_formatted_text(
            FormattedText(render(item)),
            style=self._style,
            color_depth=self._depth,
            include_default_pygments_style=False,
        )

    def status(self, text: str | None) -> None:
        """Show C{text} on the status line below the prompt (C{None} hides the line)."""
        self._prompt.bottom_toolbar = text
        if self._waiting:
            self._prompt.app.invalidate()

    def ask_nickname(self, problem: str | None) -> Deferred[str]:
        """Say C{problem}, then take the next line typed as the nickname.

        A half-typed chat line is put aside meanwhile and comes back afterwards.
        """
        if problem is not None:
            self.show(LocalNotice(Level.WARNING, problem))
        if self._waiting and self._asking is None:
            # The chat prompt is showing: put what is typed aside, show the question.
            typed = self._prompt.default_buffer
            self._draft = typed.text
            typed.reset()
            self._prompt.app.invalidate()
        self._asking = Deferred()
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read_lines())
        return self._asking

    def ask_password(self, question: str) -> Deferred[str]:
        """Say C{question}, then take the next line typed, shown as stars and kept out
        of the history, as the password."""
        self._secret = True
        self._history.keep = False
        self._prompt.is_password = True  # a prompt showing now hides it too
        return self.ask_nickname(question)

    def joined(self, session: Session) -> None:
        """Hand the lines typed from now on to C{session}."""
        self._session = session
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read_lines())

    def close(self) -> Deferred[None]:
        """Stop prompting and give the terminal back as it was."""
        return Deferred.fromFuture(asyncio.ensure_future(self._stop()))

    def _room_keys(self) -> KeyBindings:
        """Alt+1 to Alt+9 (Escape then the digit, as terminals send Alt): switch to the
        room of that number, the line being typed kept."""
        bindings = KeyBindings()
        for number in range(1, 10):

            def switch(event: KeyPressEvent, number: int = number) -> None:
                if self._session is not None and self._asking is None:
                    self._session.switch_to_number(number)

            bindings.add("escape", str(number))(switch)
        return bindings

    def _completable_names(self) -> list[str]:
        if self._asking is not None or self._session is None:
            return []  # Choosing one's own nickname: nothing to complete.
        rooms = [room for room in self._session.rooms_joined if room is not None]
        return self._session.roster.names() + rooms

    def _prompt_text(self) -> str:
        nickname = None if self._session is None else self._session.nickname
        if self._secret:
            return "Password: "
        if self._asking is not None or nickname is None or self._session is None:
            return "Nickname: "
        room = self._session.current
        if room is None:
            return f"{nickname}> "
        return f"{nickname} {''.join(run for _, run in split_unsafe(room))}> "

    async def _read_lines(self) -> None:
        while True:
            draft = ""
            if self._asking is None:
                draft, self._draft = self._draft, ""
            self._waiting = True
            try:
                line = await self._prompt.prompt_async(
                    self._prompt_text, default=draft, is_password=self._secret
                )
            except (KeyboardInterrupt, EOFError):
                self._quit()
                return
            finally:
                self._waiting = False
            asking, self._asking = self._asking, None
            if self._secret:
                self._secret = False
                self._history.keep = True
            if asking is not None:
                asking.callback(line)
            elif self._session is not None:
                self._session.typed(line)

    async def _stop(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.gather(self._reading, return_exceptions=True)
