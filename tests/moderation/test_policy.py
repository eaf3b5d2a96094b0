"""The permission table (docs/moderation.md): who may do what, where."""

from __future__ import annotations

import pytest

from chatproto.core.moderation.policy import PROTECTED_FROM, Action, Rank, may

#: The commands an operator of a room takes there.
ROOM_COMMANDS = [
    Action.KICK,
    Action.MUTE,
    Action.UNMUTE,
    Action.BAN,
    Action.UNBAN,
    Action.BANS,
    Action.OP,
    Action.DEOP,
    Action.VOICE,
    Action.DEVOICE,
    Action.TOPIC_LOCK,
    Action.MODERATED,
    Action.REDACT,
    Action.LOCKED_TOPIC,
]


@pytest.mark.parametrize("action", ROOM_COMMANDS)
@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (Rank.MEMBER, False),
        (Rank.VOICED, False),
        (Rank.OPERATOR, True),
        (Rank.FOUNDER, True),
        (Rank.SERVER_OPERATOR, True),
    ],
)
def test_room_commands_are_for_the_room_operators(
    action: Action, actor: Rank, allowed: bool
) -> None:
    assert may(action, actor, Rank.MEMBER) is allowed


@pytest.mark.parametrize("action", sorted(PROTECTED_FROM))
@pytest.mark.parametrize("target", [Rank.FOUNDER, Rank.SERVER_OPERATOR])
def test_founders_and_server_operators_are_out_of_a_room_operators_reach(
    action: Action, target: Rank
) -> None:
    assert not may(action, Rank.OPERATOR, target)
    assert not may(action, Rank.FOUNDER, target)
    assert may(action, Rank.SERVER_OPERATOR, target)


def test_operators_act_on_each_other_and_on_voiced_members() -> None:
    for action in PROTECTED_FROM:
        assert may(action, Rank.OPERATOR, Rank.OPERATOR)
        assert may(action, Rank.OPERATOR, Rank.VOICED)
    # op and voice of a founder are no threat to it
    assert may(Action.VOICE, Rank.OPERATOR, Rank.FOUNDER)


@pytest.mark.parametrize("action", [Action.BAN, Action.UNBAN, Action.BANS])
def test_server_wide_bans_are_for_server_operators(action: Action) -> None:
    for rank in (Rank.MEMBER, Rank.VOICED, Rank.OPERATOR, Rank.FOUNDER):
        assert not may(action, rank, server_wide=True)
    assert may(action, Rank.SERVER_OPERATOR, server_wide=True)


def test_announce_is_for_server_operators() -> None:
    assert not may(Action.ANNOUNCE, Rank.FOUNDER)
    assert may(Action.ANNOUNCE, Rank.SERVER_OPERATOR)


def test_anyone_redacts_its_own_messages() -> None:
    assert may(Action.REDACT, Rank.MEMBER, own=True)
    assert not may(Action.REDACT, Rank.VOICED)


def test_who_speaks_in_a_moderated_room() -> None:
    assert not may(Action.SPEAK_MODERATED, Rank.MEMBER)
    for rank in (Rank.VOICED, Rank.OPERATOR, Rank.FOUNDER, Rank.SERVER_OPERATOR):
        assert may(Action.SPEAK_MODERATED, rank)
