"""The web client against hostile text, limits, a restarting server and a phone-width screen."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.web.pages import LOG_AT_BOTTOM, Join, OpenPage
from tests.web.servers import ChatServer

PHONE = {"width": 360, "height": 640}
#: How far the log is scrolled from its top (pixels).
LOG_SCROLLED = "document.getElementById('log').scrollTop"

HOSTILE = [
    '<img src=x onerror="window.pwned=1;alert(1)">',
    "<script>window.pwned=2;alert(2)</script>",
    '<a href="javascript:alert(3)">click</a>',
    "\u202eevil bidi override, then plain",
    "x" * 3000,  # one unbroken word, far wider than any screen
    "see https://example.com/a?b=1. and javascript:alert(4)",
]

#: Elements, by tag, in the whole document: the log must grow only by its own kinds.
ELEMENT_COUNTS = """() => {
    const counts = {};
    for (const el of document.querySelectorAll("*")) {
        counts[el.localName] = (counts[el.localName] ?? 0) + 1;
    }
    return counts;
}"""


def test_hostile_text_is_shown_as_text_and_runs_nothing(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    page = open_page(server, viewport=PHONE)
    page.join("alice")
    mallory = chatters(server, "mallory")
    page.wait_for_users(["alice", "mallory"])
    before = page.page.evaluate(ELEMENT_COUNTS)
    for text in HOSTILE:
        mallory.say(text)
    lines = page.wait_for_chat(f"mallory: {HOSTILE[-1]}")

    assert lines == [f"mallory: {text}" for text in HOSTILE]
    after = page.page.evaluate(ELEMENT_COUNTS)
    added = {tag: after.get(tag, 0) - before.get(tag, 0) for tag in after}
    # Each line: li, time, bdi (nick), bdi (text), its closed menu (span, button); plus the
    # one safe link, and nothing else.
    assert {tag: n for tag, n in added.items() if n} == {
        "li": len(HOSTILE),
        "time": len(HOSTILE),
        "bdi": 2 * len(HOSTILE),
        "span": len(HOSTILE),
        "button": len(HOSTILE),
        "a": 1,
    }
    assert page.page.evaluate("window.pwned") is None
    assert page.dialogs == []
    link = page.page.locator("#log a")
    assert link.get_attribute("href") == "https://example.com/a?b=1"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert not page.page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    page.screenshot("hostile-360px")


def test_rate_limited_text_is_kept_and_sent_later(
    make_server: Callable[..., ChatServer], open_page: OpenPage, chatters: Join
) -> None:
    # One frame, then one every two seconds: the second message must wait for the server.
    server = make_server("--rate", "0.5", "--burst", "1")
    carol = chatters(server, "carol")
    page = open_page(server)
    page.join("alice")
    page.type("one")
    page.type("two")
    page.page.locator("#input-note", has_text="asked to slow down").wait_for()
    assert page.page.inner_text("#pending") == "waiting: two"  # kept, and shown as waiting
    page.screenshot("rate-limited")
    assert [carol.chat()["message"] for _ in range(2)] == ["one", "two"]
    page.wait_for_chat("alice: two")
    assert page.chat_lines() == ["alice: one", "alice: two"]
    page.page.locator("#pending:empty").wait_for(state="attached")
    assert "slow down" not in page.note()


def test_refused_text_stays_in_the_box_with_the_reason(
    make_server: Callable[..., ChatServer], open_page: OpenPage, chatters: Join
) -> None:
    server = make_server("--max-message-bytes", "64")
    carol = chatters(server, "carol")
    page = open_page(server)
    page.join("alice")
    for typed, reason in [
        # The limit is in bytes, as the server counts them: 33 characters, 66 bytes.
        ("é" * 33, "Too long for the server: a message has at most 64 bytes (this one has 66)."),
        ("bell \u0007 ringing", "control characters"),
    ]:
        page.type(typed)
        page.page.locator("#input-note.error", has_text=reason).wait_for()
        assert page.input_text() == typed
        page.page.fill("#input", "")
    page.type("fine")
    assert carol.chat()["message"] == "fine"  # nothing refused was delivered
    page.wait_for_chat("alice: fine")
    assert page.note() == ""


def test_the_page_rejoins_after_a_restart_with_no_duplicate_and_no_gap(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    page = open_page(server)
    page.join("alice")
    carol = chatters(server, "carol")
    carol.say("before 1")
    carol.say("before 2")
    page.wait_for_chat("carol: before 2")

    server.stop()
    page.wait_for_notice("Server closing in 0 seconds")
    page.page.wait_for_selector("#status[data-state=offline]")
    # The page's network goes down too while the server restarts and carol talks on, so
    # what carol says can only reach the page through the resume replay.
    page.context.set_offline(True)
    page.type("typed while offline")
    page.screenshot("offline")
    server.start()
    carol = chatters(server, "carol")
    carol.say("while away 1")
    carol.say("while away 2")
    page.context.set_offline(False)

    assert carol.chat()["message"] == "typed while offline"
    page.wait_for_chat("alice: typed while offline")
    page.page.wait_for_selector("#status[data-state=online]")
    carol.say("after")
    assert page.wait_for_chat("carol: after") == [
        "carol: before 1",
        "carol: before 2",
        "carol: while away 1",
        "carol: while away 2",
        "alice: typed while offline",
        "carol: after",
    ]
    assert page.earlier_lines() == ["carol: while away 1", "carol: while away 2"]
    resume = json.loads(next(str(frame) for frame in page.sent if "since" in str(frame)))
    assert (resume["nickname"], resume["since"]) == ("alice", 2)  # the last id it showed
    assert len(resume["token"]) >= 16  # the welcome's resume_token
    assert page.page.locator("#log li.divider", has_text="While you were away").count() == 1
    page.screenshot("reconnected")


def test_phone_width_dark_without_horizontal_scroll_and_keyboard_only(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    page = open_page(server, viewport=PHONE, color_scheme="dark")
    background = "getComputedStyle(document.body).backgroundColor"
    assert page.page.evaluate(background) == "rgb(22, 23, 27)"  # the dark scheme
    page.page.keyboard.type("alice")  # the nickname box has the focus
    page.page.keyboard.press("Enter")
    page.page.wait_for_selector("#status[data-state=online]")
    carol = chatters(server, "carol")
    page.wait_for_users(["alice", "carol"])
    for index in range(15):
        carol.say(f"message {index} " + "word " * 20)
    page.wait_for_chat("carol: message 14 " + "word " * 20)
    page.screenshot("phone")
    assert not page.page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    assert page.log_at_bottom()  # followed while at the bottom

    page.page.keyboard.type("typed without a mouse")
    page.page.keyboard.press("Enter")
    assert carol.chat()["message"] == "typed without a mouse"
    # Shift+Tab from the message box reaches the online list; Enter on a name starts /msg.
    page.page.keyboard.press("Shift+Tab")
    page.page.keyboard.press("Enter")
    assert page.input_text() == "/msg carol "

    page.page.evaluate(f"{LOG_SCROLLED} = 0")  # reading back
    carol.say("more while reading")
    page.wait_for_chat("carol: more while reading")
    assert not page.log_at_bottom()  # not pulled away from what is read
    assert page.page.is_visible("#jump")


def test_a_resize_keeps_the_newest_message_in_view(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    page = open_page(server)
    page.join("alice")
    carol = chatters(server, "carol")
    for index in range(15):  # within the default burst of 20
        carol.say(f"message {index} " + "word " * 40)
    page.wait_for_chat("carol: message 14 " + "word " * 40)
    assert page.log_at_bottom()
    assert page.page.evaluate(LOG_SCROLLED) > 0  # longer than the log: scrolled to the end

    # Narrower, the lines wrap and the log grows below what was in view.
    page.page.set_viewport_size(PHONE)
    page.page.wait_for_function(LOG_AT_BOTTOM)
    page.screenshot("resized-to-phone")

    page.page.evaluate(f"{LOG_SCROLLED} = 0")  # reading back
    page.next_frames()  # the page has seen the scroll
    page.page.set_viewport_size({"width": 900, "height": 640})
    page.next_frames()  # and the resize
    assert page.page.evaluate(LOG_SCROLLED) == 0  # left where the reader is
