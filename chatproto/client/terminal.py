"""The interactive front end: prompt_toolkit line editing, output printed above the prompt.

prompt_toolkit runs on asyncio; the program installs Twisted's asyncio reactor,
so the prompt and the connection share one event loop. Whatever is printed
while a line is being typed goes above the prompt, which is redrawn with the
half-typed line intact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Final

from prompt_toolkit import PromptSession, print_formatted_text
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.styles import Style
from twisted.internet.defer import Deferred

from chatproto.client.render import Level, LocalNotice, Shown, render
from chatproto.client.session import GiveUpError, Session

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
    "escaped": "reverse",
    "status.info": "ansiblue",
    "status.warning": "ansiyellow",
    "status.error": "bold ansired",
}


class TerminalFrontend:
    """Asks for the nickname, prints traffic above the input line and reads lines to send."""

    def __init__(self, *, colour: bool) -> None:
        self._style = Style.from_dict(COLOURS) if colour else Style([])
        self._depth = None if colour else ColorDepth.DEPTH_1_BIT
        self._lines: PromptSession[str] = PromptSession(
            history=InMemoryHistory(), erase_when_done=True
        )
        self._session: Session | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    def show(self, item: Shown) -> None:
        """Print C{item} above the prompt (or plainly, when no prompt is showing)."""
        print_formatted_text(
            FormattedText(render(item)),
            style=self._style,
            color_depth=self._depth,
            include_default_pygments_style=False,
        )

    def ask_nickname(self, problem: str | None) -> Deferred[str]:
        """Prompt for a nickname; Ctrl+C or Ctrl+D there leaves with status 0."""
        if problem is not None:
            self.show(LocalNotice(Level.WARNING, problem))
        return Deferred.fromFuture(self._start(self._ask()))

    def joined(self, session: Session) -> None:
        """Start reading lines for C{session}, once."""
        if self._session is None:
            self._session = session
            self._start(self._read_lines(session))

    def close(self) -> Deferred[None]:
        """Stop prompting and give the terminal back as it was."""
        return Deferred.fromFuture(asyncio.ensure_future(self._stop()))

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.append(task)
        return task

    async def _ask(self) -> str:
        try:
            return await PromptSession[str]().prompt_async("Nickname: ")
        except (KeyboardInterrupt, EOFError):
            raise GiveUpError(0) from None

    async def _read_lines(self, session: Session) -> None:
        while True:
            try:
                line = await self._lines.prompt_async(lambda: f"{session.nickname}> ")
            except (KeyboardInterrupt, EOFError):
                session.quit()
                return
            session.typed(line)
