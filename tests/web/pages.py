"""The web client as a person uses it, through Playwright: type, press Enter, read the log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page

from tests.web.servers import DEADLINE, ChatServer, TcpChatter

TIMEOUT_MS = DEADLINE * 1000

#: Whether the log is scrolled to its bottom, as the page itself judges it (8 px of slack).
LOG_AT_BOTTOM = """() => { const l = document.getElementById("log");
    return l.scrollHeight - l.scrollTop - l.clientHeight <= 8; }"""

#: A promise that settles after two animation frames.
NEXT_FRAMES = """() => new Promise((done) =>
    requestAnimationFrame(() => requestAnimationFrame(done)))"""

#: The chat lines of the log as a person reads them, without the time: "alice: hi".
CHAT_LINES = """(selector) => [...document.querySelectorAll(selector)].map(
    (li) => li.textContent.slice(li.querySelector("time").textContent.length + 1))"""


class ChatPage:
    """One browser tab on the web client, in a context (cookies, storage) of its own; with
    C{fake_clock}, the page's timers and C{Date} run on Playwright's clock (L{pause_clock})."""

    def __init__(
        self, browser: Browser, url: str, shots: Path, *, fake_clock: bool = False, **context: Any
    ) -> None:
        self.context: BrowserContext = browser.new_context(
            **({"viewport": {"width": 900, "height": 640}} | context)
        )
        if fake_clock:
            self.context.clock.install()  # time flows as usual until pause_clock
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.shots = shots
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.sent: list[str | bytes] = []  # every WebSocket frame the page sent
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("dialog", self._dialog)
        self.page.on("websocket", lambda socket: socket.on("framesent", self._frame_sent))
        self.page.goto(url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _frame_sent(self, payload: str | bytes) -> None:
        self.sent.append(payload)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def join(self, nickname: str) -> None:
        """Type C{nickname} into the nickname form and wait until the chat shows."""
        self.ask_nickname(nickname)
        self.page.wait_for_selector("#chat:not([hidden])")
        self.page.wait_for_selector("#status[data-state=online]")

    def ask_nickname(self, nickname: str) -> None:
        """Type C{nickname} into the nickname form and press Enter."""
        self.page.fill("#nick", nickname)
        self.page.press("#nick", "Enter")

    def type(self, line: str) -> None:
        """Type C{line} into the message box and press Enter."""
        self.page.fill("#input", line)
        self.page.press("#input", "Enter")

    def chat_lines(self, selector: str = "#log li.chat") -> list[str]:
        """The chat messages in the log, in order, as "nick: text"."""
        return list(self.page.evaluate(CHAT_LINES, selector))

    def earlier_lines(self) -> list[str]:
        """The log's replayed (earlier) messages."""
        return self.chat_lines("#log li.chat.earlier")

    def wait_for_chat(self, line: str) -> list[str]:
        """The chat lines, once C{line} is one of them."""
        self.page.wait_for_function(
            f'(line) => ({CHAT_LINES})("#log li.chat").includes(line)', arg=line
        )
        return self.chat_lines()

    def wait_for_notice(self, text: str) -> None:
        """Wait until a notice in the log contains C{text}."""
        self.page.locator("#log li.notice", has_text=text).last.wait_for()

    def users(self) -> list[str]:
        """The online list, in order."""
        return [name.inner_text() for name in self.page.locator("#users .nick").all()]

    def wait_for_users(self, names: list[str]) -> None:
        """Wait until the online list is exactly C{names}."""
        self.page.wait_for_function(
            """(names) => JSON.stringify([...document.querySelectorAll("#users .nick")]
                .map((n) => n.textContent)) === JSON.stringify(names)""",
            arg=names,
        )

    def rooms(self) -> list[str]:
        """The room list's joined rooms, in order, as shown: "#rust" or "#rust 2" (unread)."""
        return [room.inner_text() for room in self.page.locator("#room-list button").all()]

    def wait_for_rooms(self, rooms: list[str]) -> None:
        """Wait until the room list's joined rooms are exactly C{rooms} (as L{rooms} says)."""
        self.page.wait_for_function(
            """(rooms) => JSON.stringify([...document.querySelectorAll("#room-list button")]
                .map((b) => b.innerText)) === JSON.stringify(rooms)""",
            arg=rooms,
        )

    def current_room(self) -> str:
        """The room shown, as the room list marks it."""
        return self.page.inner_text("#room-list button[aria-current=true] .room-name")

    def open_room(self, room: str) -> None:
        """Click C{room} in the room list and wait until it is the room shown."""
        self.page.locator("#room-list button", has_text=room).click()
        self.page.locator("#room-list button[aria-current=true]", has_text=room).wait_for()

    def enter_room(self, room: str) -> None:
        """Type /join C{room} and wait until the page shows it."""
        self.type(f"/join {room}")
        self.page.locator("#room-list button[aria-current=true]", has_text=room).wait_for()

    def status(self) -> str:
        """What the header says about the connection."""
        return self.page.inner_text("#status-text")

    def wait_for_status(self, state: str) -> str:
        """What the header says, once the connection is in C{state} ("online", "offline"...)."""
        self.page.wait_for_selector(f"#status[data-state={state}]")
        return self.status()

    def pause_clock(self) -> None:
        """Stop the fake clock: from now on the page's timers fire only on C{clock.run_for}.
        It stops a few seconds ahead (it cannot go back to a moment that has passed), firing
        what falls due meanwhile: call this while the page waits for nothing."""
        now = self.page.evaluate("Date.now()") / 1000
        self.page.clock.pause_at(now + 5)

    def log_at_bottom(self) -> bool:
        """Whether the log shows its newest message (scrolled to its bottom)."""
        return bool(self.page.evaluate(LOG_AT_BOTTOM))

    def next_frames(self) -> None:
        """Return once the page has drawn two more frames: a scroll or resize before this call
        has reached its listeners and resize observers (they run once per frame)."""
        self.page.evaluate(NEXT_FRAMES)

    def note(self) -> str:
        """The note next to the message box."""
        return self.page.inner_text("#input-note")

    def input_text(self) -> str:
        """What the message box holds."""
        return self.page.input_value("#input")

    def screenshot(self, name: str) -> None:
        """Save the page as C{name}.png where a person can look at it."""
        self.shots.mkdir(exist_ok=True)
        self.page.screenshot(path=str(self.shots / f"{name}.png"))

    def close(self) -> None:
        """Close the tab and its context."""
        self.context.close()


#: The fixture that opens pages, and the one that joins people through the TCP door.
OpenPage = Callable[..., ChatPage]
Join = Callable[[ChatServer, str], TcpChatter]
