"""What the web client shows while its connection is lost: the online list and the countdown."""

from __future__ import annotations

from tests.web.pages import Join, OpenPage
from tests.web.servers import ChatServer

#: The offline header, counting down to the next try.
COUNTDOWN = "Offline: reconnecting in {} s"


def test_the_online_list_is_emptied_while_offline(
    server: ChatServer, open_page: OpenPage, chatters: Join
) -> None:
    page = open_page(server)
    page.join("alice")
    chatters(server, "carol")
    page.wait_for_users(["alice", "carol"])
    assert page.page.inner_text("#online-title") == "Online (2)"

    server.stop()
    page.wait_for_status("offline")
    assert page.users() == []  # nobody is shown as online who may have gone meanwhile
    assert page.page.inner_text("#online-title") == "Online: not connected"
    page.screenshot("offline-list")

    server.start()
    page.wait_for_status("online")
    page.wait_for_users(["alice"])  # carol's connection ended with the old server
    assert page.page.inner_text("#online-title") == "Online (1)"


def test_the_reconnect_countdown_ticks_down_to_the_next_try(
    server: ChatServer, open_page: OpenPage
) -> None:
    page = open_page(server, fake_clock=True)
    page.join("alice")
    assert page.status() == "Connected as alice"
    page.pause_clock()
    server.stop()
    # Each failed try waits longer (from 0.5 s by 1.5x, plus up to 1 s): let the tries fail
    # until the wait is long enough to watch it count down.
    seconds = int(page.wait_for_status("offline").split()[-2])
    while seconds < 4:
        page.page.clock.run_for(seconds * 1000)  # the next try starts (and fails)
        seconds = int(page.wait_for_status("offline").split()[-2])
    assert page.status() == COUNTDOWN.format(seconds)

    server.start()  # back, but the page waits for its countdown
    for left in range(seconds - 1, 0, -1):
        page.page.clock.run_for(1000)
        assert page.status() == COUNTDOWN.format(left)
    assert page.page.get_attribute("#status", "data-state") == "offline"
    page.page.clock.run_for(1000)  # the countdown ends: the page tries, and gets in
    assert page.wait_for_status("online") == "Connected as alice"
