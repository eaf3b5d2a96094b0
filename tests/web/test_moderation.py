"""Moderation in the web client (docs/web.md, docs/protocol.md section 14): operators are
marked, an operator's menu on a member kicks, mutes and bans, the reasons are shown, and an
announcement stands out."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.web.pages import ChatPage, Join, OpenPage
from tests.web.servers import ChatServer

ROOM = "#rust"


def member_action(page: ChatPage, name: str, action: str) -> None:
    """Open the menu beside C{name} in the online list and choose C{action}."""
    page.page.get_by_role("button", name=f"Moderate {name}").click()
    page.page.get_by_role("menuitem", name=action).click()


def in_a_room(server: ChatServer, open_page: OpenPage) -> tuple[ChatPage, ChatPage]:
    """alice creates #rust (so she operates it), then bob joins it."""
    alice = open_page(server)
    alice.join("alice")
    alice.enter_room(ROOM)
    bob = open_page(server)
    bob.join("bob")
    bob.enter_room(ROOM)
    alice.wait_for_users(["alice", "bob"])
    return alice, bob


def test_operators_are_marked_and_only_they_get_the_member_menu(
    server: ChatServer, open_page: OpenPage
) -> None:
    alice, bob = in_a_room(server, open_page)
    for page in (alice, bob):
        page.page.locator("#users li", has_text="alice").locator(".op-mark").wait_for()
        assert page.page.locator("#users li", has_text="bob").locator(".op-mark").count() == 0
    assert alice.page.get_by_role("button", name="Moderate bob").is_visible()
    assert bob.page.get_by_role("button", name="Moderate alice").count() == 0
    alice.screenshot("operator")

    member_action(alice, "bob", "Make operator")
    bob.page.locator("#users li", has_text="bob").locator(".op-mark").wait_for()
    bob.wait_for_notice("alice made an operator: bob")
    bob.page.get_by_role("button", name="Moderate alice").wait_for()


def test_an_operator_mutes_kicks_and_bans_from_the_member_menu(
    server: ChatServer, open_page: OpenPage
) -> None:
    alice, bob = in_a_room(server, open_page)

    member_action(alice, "bob", "Mute for 10 minutes")
    bob.wait_for_notice("alice muted bob for 600 s")
    bob.type("can I speak?")
    bob.page.wait_for_selector(f"#input-note:has-text('You are muted in {ROOM} (')")
    assert bob.input_text() == "can I speak?"  # given back, not lost
    member_action(alice, "bob", "Unmute")
    bob.wait_for_notice("alice unmuted bob")

    member_action(alice, "bob", "Kick")
    alice.wait_for_notice("bob was kicked by alice")
    bob.wait_for_notice(f"You were kicked out of {ROOM} by alice.")
    assert bob.current_room() != ROOM
    bob.enter_room(ROOM)  # a kick is not a ban

    member_action(alice, "bob", "Ban")
    alice.wait_for_notice("bob was banned by alice")
    bob.wait_for_notice(f"You were banned from {ROOM} by alice.")
    bob.type(f"/join {ROOM}")
    bob.page.wait_for_selector(f"#input-note:has-text('You are banned from {ROOM}.')")
    alice.type("/bans")
    alice.wait_for_notice("Bans (1): bob (by alice)")
    alice.screenshot("banned")


def test_a_member_without_rights_is_told_so(server: ChatServer, open_page: OpenPage) -> None:
    alice, bob = in_a_room(server, open_page)
    bob.type("/kick alice")
    bob.page.wait_for_selector("#input-note:has-text('Not allowed')")
    assert bob.input_text() == "/kick alice"

    alice.type("/topic-lock on")
    bob.wait_for_notice("alice locked the topic (only operators set it)")
    bob.type("/topic mine now")
    bob.page.wait_for_selector(f"#input-note:has-text('The topic of {ROOM} is locked')")
    alice.type("/moderated on")
    bob.wait_for_notice("alice made the room moderated")
    bob.type("may I?")
    bob.page.wait_for_selector(f"#input-note:has-text('{ROOM} is moderated')")
    assert bob.input_text() == "may I?"


def test_an_announcement_stands_out_on_every_page(
    make_server: Callable[..., ChatServer], open_page: OpenPage, chatters: Join
) -> None:
    server = make_server("--operators", "root")
    page = open_page(server)
    page.join("alice")
    root = chatters(server, "root")
    root.send(json.dumps({"command": "register", "password": "correct horse battery"}))
    root.until(lambda frame: isinstance(frame, dict) and frame.get("event") == "registered")
    root.send(json.dumps({"command": "announce", "text": "Restart at noon"}))
    page.page.locator("#announcement:not([hidden])", has_text="Restart at noon").wait_for()
    page.wait_for_notice("Announcement from root: Restart at noon")
    page.screenshot("announcement")
    page.page.click("#announcement-close")
    page.page.wait_for_selector("#announcement", state="hidden")


def remove_message(page: ChatPage, line: str) -> None:
    """Open the menu of the chat line C{line} ("nick: text") and remove the message."""
    entry = page.page.locator("#log li.chat", has_text=line)
    entry.get_by_role("button", name="Message actions").click()
    entry.get_by_role("menuitem", name="Remove message").click()


def test_redacted_messages_disappear_from_every_page(
    server: ChatServer, open_page: OpenPage
) -> None:
    alice, bob = in_a_room(server, open_page)
    alice.type("from alice")
    bob.type("typo from bob")
    bob.type("rude words")
    alice.wait_for_chat("bob: rude words")
    bob.wait_for_chat("bob: rude words")
    # A member's menu removes its own messages only; an operator's any.
    alice_line = bob.page.locator("#log li.chat", has_text="alice: from alice")
    assert alice_line.get_by_role("button", name="Message actions").is_hidden()
    remove_message(bob, "bob: typo from bob")
    remove_message(alice, "bob: rude words")
    for page in (alice, bob):
        page.wait_for_notice("alice removed a message")
        page.page.wait_for_function(
            """() => [...document.querySelectorAll("#log li.chat")].length === 1"""
        )
        assert page.chat_lines() == ["alice: from alice"]
    late = open_page(server)
    late.join("carol")
    late.enter_room(ROOM)
    late.type("hello")  # its echo comes after the room's replay
    late.wait_for_chat("carol: hello")
    assert late.earlier_lines() == ["alice: from alice"]  # never replayed again
