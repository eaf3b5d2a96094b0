"""Accounts in the web client (docs/web.md): registering the nickname, and the password
asked for when the nickname is registered; the password is never stored."""

from __future__ import annotations

from tests.web.pages import OpenPage
from tests.web.servers import ChatServer

PASSWORD = "correct horse battery"


def test_register_then_log_in_with_the_password(server: ChatServer, open_page: OpenPage) -> None:
    owner = open_page(server)
    owner.join("alice")
    owner.page.click("#register")
    owner.page.fill("#new-password", PASSWORD)
    owner.page.press("#new-password", "Enter")
    owner.wait_for_notice("alice is registered")
    owner.page.wait_for_selector("#register", state="hidden")  # logged in to it now
    owner.type("/quit")
    owner.wait_for_status("left")

    other = open_page(server)
    other.ask_nickname("alice")
    other.page.wait_for_selector("#password:not([hidden])")
    assert "alice is registered" in other.page.inner_text("#join-note")
    other.page.fill("#password", "not the password")
    other.page.press("#password", "Enter")
    other.page.wait_for_selector("#join-note:has-text('Wrong password')")
    other.page.fill("#password", PASSWORD)
    other.page.press("#password", "Enter")
    other.page.wait_for_selector("#status[data-state=online]")
    assert other.page.input_value("#password") == ""
    storage = other.page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert PASSWORD not in storage
    other.page.wait_for_selector("#register", state="hidden")
