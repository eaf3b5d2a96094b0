"""The web client in chromium, chatting with itself and with the TCP door of a real server."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.web.pages import ChatPage, Join, OpenPage
from tests.web.servers import ChatServer, TcpChatter


def alice_bob_and_carol(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> tuple[ChatPage, ChatPage, TcpChatter]:
    """Alice and bob on pages, carol on the TCP door, once alice sees all three online."""
    alice = open_page(server)
    alice.join("alice")
    bob = open_page(server)
    bob.join("bob")
    carol = chatters(server, "carol")
    alice.wait_for_users(["alice", "bob", "carol"])
    return alice, bob, carol


def test_two_pages_and_a_terminal_user_chat(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    alice, bob, carol = alice_bob_and_carol(server, open_page, chatters)
    bob.wait_for_notice("carol joined")

    alice.type("hello from alice")
    assert carol.chat()["message"] == "hello from alice"
    bob.wait_for_chat("alice: hello from alice")
    carol.say("hi both, from a terminal")
    alice.wait_for_chat("carol: hi both, from a terminal")
    box = bob.page.locator("#input")
    box.press_sequentially("line one")
    box.press("Shift+Enter")  # a new line, not a send
    box.press_sequentially("line two")
    box.press("Enter")
    assert carol.chat()["message"] == "line one\nline two"
    assert bob.input_text() == ""
    alice.type("/me waves")
    assert carol.chat()["message"] == "* alice waves"

    expected = [
        "alice: hello from alice",
        "carol: hi both, from a terminal",
        "bob: line one\nline two",
        "* alice waves",
    ]
    assert alice.wait_for_chat("* alice waves") == expected
    assert bob.wait_for_chat("* alice waves") == expected  # each once, the server's order
    alice.screenshot("chatting")

    carol.close()
    alice.wait_for_notice("carol left")
    alice.wait_for_users(["alice", "bob"])


def test_retry_explained_then_success_and_the_nickname_remembered(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    chatters(server, "alice")
    page = open_page(server)
    assert page.status() == "Choose a nickname"
    page.ask_nickname("ALICE")
    page.page.locator("#join-note", has_text="The nickname ALICE is taken").wait_for()
    assert page.status() == "Choose a nickname"  # connected, but not in the chat yet
    page.screenshot("nickname-taken")
    page.ask_nickname("al ice")
    page.page.locator("#join-note", has_text="cannot contain spaces").wait_for()
    page.join("alice2")
    assert page.status() == "Connected as alice2"

    page.page.reload()
    assert page.page.input_value("#nick") == "alice2"


def test_history_marked_earlier_and_who_is_online(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    carol = chatters(server, "carol")
    for text in ("first", "second", "third"):
        carol.say(text)
    page = open_page(server)
    page.join("alice")
    page.wait_for_notice("Welcome")
    assert page.earlier_lines() == ["carol: first", "carol: second", "carol: third"]
    assert page.page.locator("#log li.divider", has_text="Earlier messages").count() == 1
    page.wait_for_users(["carol", "alice"])

    dave = chatters(server, "dave")
    page.wait_for_users(["carol", "alice", "dave"])
    dave.close()
    page.wait_for_users(["carol", "alice"])
    page.type("/who")
    page.wait_for_notice("Online (2): carol, alice")
    carol.say("live now")
    assert page.wait_for_chat("carol: live now")[-1] == "carol: live now"
    assert len(page.earlier_lines()) == 3  # a live message is not marked earlier
    page.screenshot("history")


def test_times_are_the_local_24_hour_clock_whatever_the_locale(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    # A 12-hour locale, in a zone 5 h 45 min from UTC: the time is local, and HH:MM.
    zone = "Asia/Kathmandu"
    page = open_page(server, locale="en-US", timezone_id=zone)
    page.join("alice")
    carol = chatters(server, "carol")
    said = carol.say("what time is it?")
    page.wait_for_chat("carol: what time is it?")

    local = datetime.fromisoformat(said["timestamp"]).astimezone(ZoneInfo(zone))
    assert page.page.inner_text("#log li.chat time") == local.strftime("%H:%M")
    times = page.page.locator("#log time").all_inner_texts()  # notices too
    assert all(re.fullmatch(r"\d\d:\d\d", shown) for shown in times), times


def test_private_messages_by_command_and_by_clicking_a_name(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    alice, bob, carol = alice_bob_and_carol(server, open_page, chatters)

    alice.page.locator("#users button", has_text="carol").click()
    assert alice.input_text() == "/msg carol "
    alice.page.locator("#input").press_sequentially("psst")
    alice.page.press("#input", "Enter")
    private = carol.chat()
    assert (private["nickname"], private["to"], private["message"]) == ("alice", "carol", "psst")
    alice.wait_for_chat("alice → carol (private): psst")

    carol.say("back at you", to="alice")
    alice.wait_for_chat("carol → alice (private): back at you")
    alice.type("/msg bob just for bob")
    bob.wait_for_chat("alice → bob (private): just for bob")
    alice.type("/msg nobody hello?")
    alice.page.locator("#input-note", has_text="Nobody with that nickname").wait_for()
    assert alice.input_text() == "/msg nobody hello?"
    assert bob.chat_lines() == ["alice → bob (private): just for bob"]
    alice.screenshot("private")


def test_help_and_quit(server: ChatServer, open_page: OpenPage, chatters: Join) -> None:
    carol = chatters(server, "carol")
    page = open_page(server)
    page.join("alice")
    page.type("/help")
    page.wait_for_notice("/msg NICK TEXT")
    page.type("/nonsense")
    assert "Unknown command /nonsense" in page.note()
    assert page.input_text() == "/nonsense"
    page.type("/quit")
    leave = carol.until(lambda frame: isinstance(frame, dict) and frame.get("event") == "leave")
    assert (leave["user"], leave["reason"]) == ("alice", "bye")
    page.page.wait_for_selector("#status[data-state=left]")
    page.page.click("#rejoin")
    page.page.wait_for_selector("#status[data-state=online]")
    assert carol.until(lambda frame: frame.get("event") == "join")["user"] == "alice"
