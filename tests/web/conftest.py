"""Fixtures for browser tests: Debian's chromium driven by Playwright, and a real server."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.web.pages import ChatPage
from tests.web.servers import ChatServer, TcpChatter

#: Playwright's own browser download is unreachable here: the tests use the system's.
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless chromium for the session; each test opens its own contexts."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"BROWSER TESTS SKIPPED: no {CHROMIUM} (make test-tools installs chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM)
        except PlaywrightError as error:
            pytest.skip(f"BROWSER TESTS SKIPPED: {CHROMIUM} does not start: {error}")
        yield launched
        launched.close()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., ChatServer]]:
    """Start servers with extra options (history in tmp_path); all are ended after the test."""
    started: list[ChatServer] = []

    def start(*options: str) -> ChatServer:
        server = ChatServer(tmp_path, *options)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def server(make_server: Callable[..., ChatServer]) -> ChatServer:
    """A server with default limits."""
    return make_server()


@pytest.fixture
def chatters() -> Iterator[Callable[[ChatServer, str], TcpChatter]]:
    """Join people through the TCP door; they leave after the test."""
    joined: list[TcpChatter] = []

    def join(server: ChatServer, nickname: str) -> TcpChatter:
        chatter = TcpChatter(server.ports["tcp"])
        chatter.join(nickname)
        joined.append(chatter)
        return chatter

    yield join
    for chatter in joined:
        chatter.close()


@pytest.fixture
def open_page(browser: Browser, tmp_path: Path) -> Iterator[Callable[..., ChatPage]]:
    """Open the web client of a server in new tabs (screenshots go to tmp_path/screens);
    after the test, no tab may have met a script error or a refused resource (CSP)."""
    opened: list[ChatPage] = []

    def open_(server: ChatServer, **context: Any) -> ChatPage:
        """A tab on C{server}'s page; C{context} as Playwright's new_context takes it."""
        page = ChatPage(browser, server.url, tmp_path / "screens", **context)
        opened.append(page)
        return page

    yield open_
    problems = [p for page in opened for p in page.problems if "WebSocket connection" not in p]
    for page in opened:
        page.close()
    assert not problems, problems
