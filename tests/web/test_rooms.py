"""Rooms in the web client (docs/protocol.md section 12): the room list, unread counts, the
topic line, scrollback, rejoining after a restart, and leaving."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.web.pages import Join, OpenPage
from tests.web.servers import ChatServer

#: The default room in the room list, until a join by its name shows what it is called.
MAIN = "main room"
#: Scroll the log to its top, as a reader scrolling back does.
SCROLL_TO_TOP = "document.getElementById('log').scrollTop = 0"


def test_two_pages_chat_in_a_room_apart_from_the_default_room(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    alice = open_page(server)
    alice.join("alice")
    bob = open_page(server)
    bob.join("bob")
    carol = chatters(server, "carol")  # on the TCP door, in the default room only
    alice.wait_for_users(["alice", "bob", "carol"])

    alice.enter_room("#rust")
    bob.enter_room("#rust")
    alice.wait_for_users(["alice", "bob"])  # the online list is the room's
    assert alice.rooms() == [MAIN, "#rust"]
    alice.type("hello rust")
    bob.wait_for_chat("alice: hello rust")
    carol.say("only in the default room")
    assert carol.say("marker")["message"] == "marker"  # nothing of #rust reached carol

    # Bob reads #rust: what the default room says counts as unread there, and the
    # reverse for alice, who goes back to the default room.
    bob.wait_for_rooms([f"{MAIN} 2", "#rust"])
    alice.wait_for_rooms([f"{MAIN} 2", "#rust"])
    alice.open_room(MAIN)
    assert alice.wait_for_chat("carol: marker")[-2:] == [
        "carol: only in the default room",
        "carol: marker",
    ]
    alice.wait_for_rooms([MAIN, "#rust"])  # read now
    bob.type("two")
    bob.type("for alice")
    alice.wait_for_rooms([MAIN, "#rust 2"])
    alice.screenshot("unread")
    assert "alice: hello rust" not in alice.chat_lines()  # #rust's lines stay in #rust
    alice.open_room("#rust")
    assert alice.wait_for_chat("bob: for alice") == [
        "alice: hello rust",
        "bob: two",
        "bob: for alice",
    ]
    assert bob.chat_lines() == ["alice: hello rust", "bob: two", "bob: for alice"]


def test_a_topic_is_set_and_shown(server: ChatServer, open_page: OpenPage) -> None:
    alice = open_page(server)
    alice.join("alice")
    alice.enter_room("#rust")
    assert alice.page.inner_text("#topic").startswith("#rust (no topic")
    alice.type("/topic Ferris and friends")
    alice.page.locator("#topic", has_text="#rust: Ferris and friends").wait_for()
    alice.wait_for_notice("alice set the topic: Ferris and friends")

    bob = open_page(server)
    bob.join("bob")
    assert bob.page.inner_text("#topic").startswith(MAIN)
    bob.enter_room("#rust")
    assert bob.page.inner_text("#topic") == "#rust: Ferris and friends"  # from the welcome
    bob.type("/topic")
    bob.wait_for_notice("Topic: Ferris and friends")
    bob.screenshot("topic")


def test_scrolling_to_the_top_loads_older_messages(
    make_server: Callable[..., ChatServer], open_page: OpenPage, chatters: Join
) -> None:
    server = make_server("--history-replay", "10", "--rate", "0")
    carol = chatters(server, "carol")
    carol.join_room("#rust")
    said = [f"carol: message {index}" for index in range(1, 71)]
    for line in said:
        carol.say(line.removeprefix("carol: "), room="#rust")

    page = open_page(server)
    page.join("alice")
    page.enter_room("#rust")
    # The replay (the newest 10) does not fill the log: the page asks for older ones at once,
    # and keeps the newest in view.
    assert page.wait_for_chat("carol: message 11") == said[10:]
    assert page.page.evaluate("document.getElementById('log').scrollTop") > 0
    page.page.evaluate(SCROLL_TO_TOP)
    assert page.wait_for_chat("carol: message 1") == said
    history = [json.loads(str(frame)) for frame in page.sent if '"history"' in str(frame)]
    assert [(asked["before"], asked["limit"]) for asked in history[:2]] == [(61, 50), (11, 50)]
    page.page.locator("#log li.divider", has_text="The start of the kept history").wait_for()
    assert page.page.inner_text("#log li:first-child") == "The start of the kept history"
    assert page.chat_lines() == said  # nothing twice
    page.screenshot("scrolled-back")


def test_rooms_are_rejoined_with_since_after_a_restart(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    page = open_page(server)
    page.join("alice")
    page.enter_room("#rust")
    carol = chatters(server, "carol")
    carol.join_room("#rust")
    carol.say("before 1", room="#rust")
    carol.say("before 2", room="#rust")
    page.wait_for_chat("carol: before 2")

    server.stop()
    page.wait_for_status("offline")
    # The page's network is down while carol talks on, so what she says can only reach the
    # page through the replay of the rejoin.
    page.context.set_offline(True)
    server.start()
    carol = chatters(server, "carol")
    carol.join_room("#rust")
    carol.say("while away", room="#rust")
    page.context.set_offline(False)
    page.wait_for_status("online")

    assert page.wait_for_chat("carol: while away") == [
        "carol: before 1",
        "carol: before 2",
        "carol: while away",
    ]
    rejoin = next(
        json.loads(str(frame))
        for frame in page.sent
        if '"join"' in str(frame) and "since" in str(frame)
    )
    assert rejoin == {"command": "join", "room": "#rust", "since": 2}
    page.wait_for_rooms([MAIN, "#rust"])
    carol.say("after", room="#rust")
    assert page.wait_for_chat("carol: after")[-2:] == ["carol: while away", "carol: after"]
    page.screenshot("rejoined")


def test_part_leaves_a_room_and_find_rooms_lists_the_others(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    carol = chatters(server, "carol")
    carol.join_room("#go")
    alice = open_page(server)
    alice.join("alice")
    alice.enter_room("#rust")
    bob = open_page(server)
    bob.join("bob")
    bob.enter_room("#rust")
    alice.wait_for_users(["alice", "bob"])

    alice.type("/part")
    alice.wait_for_rooms([MAIN])
    alice.wait_for_notice("You left #rust.")
    bob.wait_for_notice("alice left the room")
    bob.wait_for_users(["bob"])

    alice.page.click("#list-rooms")
    alice.page.locator("#other-rooms button", has_text="#go").wait_for()
    assert alice.page.inner_text("#other-title") == "Other rooms"
    # The list also shows what the default room is called: it takes that name.
    alice.wait_for_rooms(["#chat"])
    others = alice.page.locator("#other-rooms .room-name").all_inner_texts()
    assert others == ["#go", "#rust"]
    alice.page.locator("#other-rooms button", has_text="#go").click()
    alice.page.locator("#room-list button[aria-current=true]", has_text="#go").wait_for()
    alice.wait_for_users(["carol", "alice"])
    alice.type("/rooms")
    alice.wait_for_notice("Rooms: ")
    alice.screenshot("rooms")


def test_room_errors_are_shown_next_to_the_input(
    make_server: Callable[..., ChatServer], open_page: OpenPage
) -> None:
    server = make_server("--max-rooms-per-member", "2")
    page = open_page(server)
    page.join("alice")
    for typed, reason in [
        ("/part #nowhere", "You are not in that room"),
        ("/join rust", "That is not a room name"),
    ]:
        page.type(typed)
        page.page.locator("#input-note.error", has_text=reason).wait_for()
        assert page.input_text() == typed  # kept to be corrected
        page.page.fill("#input", "")
    page.enter_room("#one")
    page.type("/join #two")
    page.page.locator("#input-note.error", has_text="No more rooms").wait_for()
    assert page.rooms() == [MAIN, "#one"]
