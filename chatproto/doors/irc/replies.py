"""The server's replies on the IRC door: numerics, server notices, PONG and ERROR.

Every builder takes C{me}, the nickname of the client addressed (C{*} before it has one),
and returns L{Message}s for the door to serialise. Numeric names follow
modern.ircdocs.horse. How the core's error codes map to replies is L{Replies.core_error}
(and the table in docs/irc.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from chatproto.core.nicknames import MAX_NICKNAME_CODE_POINTS
from chatproto.doors.irc.codec import wire
from chatproto.doors.irc.fitting import pack_words, packed_words, split_to_fit, text_budget
from chatproto.doors.irc.identity import (
    CHANNEL_PREFIX,
    MEMBER_HOST,
    NETWORK,
    VERSION,
    MemberIdentity,
    ServerInfo,
    member_source,
)
from chatproto.doors.irc.message import Message, safe_text, safe_word, serialise
from chatproto.doors.irc.modes import CHANNEL_MODE_LETTERS, MODE_TOKENS


@dataclass(frozen=True)
class RoomTopic:
    """A room's topic as IRC shows it: C{text} ("" for none), C{setter} and C{since}
    (333: who set it and when, in Unix seconds; "" when this server does not know)."""

    text: str
    setter: str = ""
    since: str = ""


RPL_WELCOME: Final = "001"
RPL_YOURHOST: Final = "002"
RPL_CREATED: Final = "003"
RPL_MYINFO: Final = "004"
RPL_ISUPPORT: Final = "005"
RPL_UMODEIS: Final = "221"
RPL_WHOISUSER: Final = "311"
RPL_ENDOFWHO: Final = "315"
RPL_ENDOFWHOIS: Final = "318"
RPL_LIST: Final = "322"
RPL_LISTEND: Final = "323"
RPL_CHANNELMODEIS: Final = "324"
RPL_NOTOPIC: Final = "331"
RPL_TOPIC: Final = "332"
RPL_TOPICWHOTIME: Final = "333"
RPL_WHOREPLY: Final = "352"
RPL_NAMREPLY: Final = "353"
RPL_ENDOFNAMES: Final = "366"
RPL_ENDOFBANLIST: Final = "368"
RPL_MOTD: Final = "372"
RPL_MOTDSTART: Final = "375"
RPL_ENDOFMOTD: Final = "376"
RPL_TIME: Final = "391"
ERR_NOSUCHNICK: Final = "401"
ERR_NOSUCHCHANNEL: Final = "403"
ERR_CANNOTSENDTOCHAN: Final = "404"
ERR_TOOMANYCHANNELS: Final = "405"
ERR_TOOMANYTARGETS: Final = "407"
ERR_NORECIPIENT: Final = "411"
ERR_NOORIGIN: Final = "409"
ERR_INVALIDCAPCMD: Final = "410"
ERR_NOTEXTTOSEND: Final = "412"
ERR_INPUTTOOLONG: Final = "417"
ERR_UNKNOWNCOMMAND: Final = "421"
ERR_NONICKNAMEGIVEN: Final = "431"
ERR_ERRONEUSNICKNAME: Final = "432"
ERR_NICKNAMEINUSE: Final = "433"
ERR_USERNOTINCHANNEL: Final = "441"
ERR_NOTONCHANNEL: Final = "442"
ERR_NICKCHANGEREFUSED: Final = "447"  # ERR_CANTCHANGENICK in InspIRCd and UnrealIRCd
ERR_NOTREGISTERED: Final = "451"
ERR_NEEDMOREPARAMS: Final = "461"
ERR_ALREADYREGISTERED: Final = "462"
ERR_BADCHANMASK: Final = "476"
ERR_CHANOPRIVSNEEDED: Final = "482"
ERR_UMODEUNKNOWNFLAG: Final = "501"
ERR_USERSDONTMATCH: Final = "502"

#: The text of each numeric whose text never changes; L{Replies.numeric} adds it.
FIXED_TEXTS: Final = {
    RPL_ISUPPORT: "are supported by this server",
    RPL_ENDOFWHO: "End of WHO list",
    RPL_ENDOFWHOIS: "End of /WHOIS list",
    RPL_LISTEND: "End of /LIST",
    RPL_NOTOPIC: "No topic is set",
    RPL_ENDOFNAMES: "End of /NAMES list",
    RPL_ENDOFBANLIST: "End of channel ban list",
    RPL_ENDOFMOTD: "End of /MOTD command.",
    ERR_NOSUCHNICK: "No such nick/channel",
    ERR_NOORIGIN: "No origin specified",
    ERR_INVALIDCAPCMD: "Invalid CAP command",
    ERR_NOTEXTTOSEND: "No text to send",
    ERR_NOTONCHANNEL: "You're not on that channel",
    ERR_USERNOTINCHANNEL: "They aren't on that channel",
    ERR_INPUTTOOLONG: "Input line was too long",
    ERR_UNKNOWNCOMMAND: "Unknown command",
    ERR_NONICKNAMEGIVEN: "No nickname given",
    ERR_NICKNAMEINUSE: "Nickname is already in use",
    ERR_NICKCHANGEREFUSED: "Nickname changes are not supported: reconnect instead",
    ERR_NOTREGISTERED: "You have not registered",
    ERR_NEEDMOREPARAMS: "Not enough parameters",
    ERR_ALREADYREGISTERED: "You may not reregister",
    ERR_CHANOPRIVSNEEDED: "You're not channel operator",
    ERR_UMODEUNKNOWNFLAG: "Unknown MODE flag",
    ERR_USERSDONTMATCH: "Can't view or change modes for other users",
}

#: Targets one command may name, comma-separated (RPL_ISUPPORT TARGMAX): a line counts
#: once against the rate limit, so it must not become hundreds of messages or lists.
TARGMAX: Final[Mapping[str, int]] = {
    "JOIN": 4,
    "LIST": 4,
    "NAMES": 4,
    "NOTICE": 4,
    "PART": 4,
    "PRIVMSG": 4,
    "WHOIS": 1,
}

#: The user mode for RPL_MYINFO, true of every member: it is invisible to those outside
#: its rooms (the channel modes are L{chatproto.doors.irc.modes}').
USER_MODES: Final = "i"
#: The most messages one CHATHISTORY answers (the `history` command's limit, section 12).
MAX_HISTORY_LIMIT: Final = 100
#: The longest channel name, in code points: C{#} and a room name's 32 (section 12).
CHANNELLEN: Final = 33
#: RPL_ISUPPORT tokens per 005 line: with the nickname and the closing text, a line keeps
#: within the 15 parameters an IRC message may have.
TOKENS_PER_LINE: Final = 13


def isupport_tokens(server: ServerInfo) -> tuple[str, ...]:
    """The RPL_ISUPPORT tokens, each true of this door.

    Nicknames compare as section 3 says (NFKC and case folding): C{rfc8265}, the Unicode
    casemapping IRC servers advertise, is the nearest name for it. The channel modes and
    prefixes are those of L{MODE_TOKENS}, a client is in at most C{--max-rooms-per-member}
    channels (none given: no limit), and client-only tags (C{+typing}, C{+draft/reply})
    are dropped, not relayed (C{CLIENTTAGDENY=*}).
    """
    limit = server.max_rooms_per_member
    tokens = (
        "CASEMAPPING=rfc8265",
        f"CHANLIMIT={CHANNEL_PREFIX}:{limit or ''}",
        f"CHANNELLEN={CHANNELLEN}",
        f"CHATHISTORY={MAX_HISTORY_LIMIT}",
        f"CHANTYPES={CHANNEL_PREFIX}",
        "CLIENTTAGDENY=*",
        "MSGREFTYPES=msgid,timestamp",
        f"NETWORK={NETWORK}",
        f"NICKLEN={MAX_NICKNAME_CODE_POINTS}",
        "TARGMAX=" + ",".join(f"{command}:{limit}" for command, limit in sorted(TARGMAX.items())),
        "UTF8ONLY",
        *MODE_TOKENS,
    )
    return tuple(sorted(tokens))


def _reply(
    command: str, params: Sequence[str], source: str | None, force_trailing: bool = False
) -> Message:
    """A reply whose C{params} are made safe to write, whatever a client put into those it
    echoes: each one before the last a single word (L{safe_word}), the last one text
    (L{safe_text}). The server's own parameters are left as they are."""
    if params:
        *words, last = params
        params = (*map(safe_word, words), safe_text(last))
    return Message(command, tuple(params), source, force_trailing=force_trailing)


class Replies:
    """Builds every reply of one IRC door (one L{ServerInfo}).

    Every reply is built by L{_reply}, so what it echoes of a client's line (a target,
    a token, a QUIT text) can never break the line or add one.
    """

    def __init__(self, server: ServerInfo, motd: Callable[[], str] = str) -> None:
        self.server = server
        self._motd = motd

    def _say(self, command: str, *params: str, force_trailing: bool = False) -> Message:
        """A message from the server, its parameters made safe to write."""
        return _reply(command, params, self.server.name, force_trailing)

    def numeric(self, code: str, me: str, *params: str, text: str | None = None) -> Message:
        """A numeric from the server to C{me} about C{params}.

        C{text} (by default the numeric's L{FIXED_TEXTS}, if it has one) is its last
        parameter.
        """
        text = FIXED_TEXTS.get(code) if text is None else text
        if text is None:
            return self._say(code, me, *params)
        return self._say(code, me, *params, text, force_trailing=True)

    def notice(self, me: str, text: str) -> Message:
        """A NOTICE from the server (never answered automatically, as NOTICE never is)."""
        return self._say("NOTICE", me, text, force_trailing=True)

    def pong(self, token: str) -> Message:
        """The answer to C{PING token}: C{PONG <server-name> token}."""
        return self._say("PONG", self.server.name, token)

    def answer_ping(self, me: str, params: tuple[str, ...]) -> Message:
        """The reply to C{PING params}: PONG, or 409 without a token."""
        if not params or not params[0]:
            return self.numeric(ERR_NOORIGIN, me)
        return self.pong(params[0])

    def ping(self, token: str) -> Message:
        """The server's own PING of an idle client; the client answers C{PONG token}."""
        return self._say("PING", token)

    # Registration

    def welcome(self, me: str) -> list[Message]:
        """001 to 005, then the MOTD: what a client gets once registered."""
        name = self.server.name
        return [
            self.numeric(
                RPL_WELCOME, me, text=f"Welcome to the {NETWORK} network, {member_source(me)}"
            ),
            self.numeric(RPL_YOURHOST, me, text=f"Your host is {name}, running version {VERSION}"),
            self.numeric(RPL_CREATED, me, text=f"This server was created {self.server.created}"),
            self.numeric(RPL_MYINFO, me, name, VERSION, USER_MODES, CHANNEL_MODE_LETTERS),
            *self.isupport(me),
            *self.motd(me),
        ]

    def isupport(self, me: str) -> list[Message]:
        """005: the tokens, at most L{TOKENS_PER_LINE} a line."""
        tokens = isupport_tokens(self.server)
        return [
            self.numeric(RPL_ISUPPORT, me, *tokens[start : start + TOKENS_PER_LINE])
            for start in range(0, len(tokens), TOKENS_PER_LINE)
        ]

    def motd_text(self) -> str:
        """--motd as it is now (a SIGHUP reload changes it); empty when none is set."""
        return self._motd()

    def motd(self, me: str) -> list[Message]:
        """The message of the day (375, 372s, 376): --motd as it is now, each of its lines
        cut to fit; without one, a line saying where the client is."""
        text = self.motd_text() or (
            f"{self.server.channel} is this server's room for everyone on it (IRC, browser"
            " and terminal alike); /join #name joins or makes another, /list shows them,"
            " /msg <nick> reaches one person."
        )
        budget = text_budget(self._say(RPL_MOTD, me))
        lines = [
            self.numeric(RPL_MOTD, me, text=piece)
            for line in text.split("\n")
            for piece in split_to_fit(f"- {line}", budget)
        ]
        return [
            self.numeric(RPL_MOTDSTART, me, text=f"- {self.server.name} Message of the day - "),
            *lines,
            self.numeric(RPL_ENDOFMOTD, me),
        ]

    def cap(self, me: str, subcommand: str, text: str) -> Message:
        """A CAP reply (LS, LIST, ACK, NAK) to C{me}."""
        return self._say("CAP", me, subcommand, text, force_trailing=True)

    # Channels

    def arrival(self, me: str, channel: str, topic: RoomTopic) -> list[Message]:
        """What joining a room looks like before its names (L{names} or L{names_wire}):
        JOIN, then the topic (332 and 333, or nothing when it has none)."""
        shown = self.topic(me, channel, topic) if topic.text else []
        return [_reply("JOIN", (channel,), member_source(me)), *shown]

    def topic(self, me: str, channel: str, topic: RoomTopic) -> list[Message]:
        """332 with the room's topic (and 333, who set it and when, when known), or 331
        when it has none."""
        if not topic.text:
            return [self.numeric(RPL_NOTOPIC, me, channel)]
        answer = [self.numeric(RPL_TOPIC, me, channel, text=topic.text)]
        if topic.setter:
            answer.append(self.numeric(RPL_TOPICWHOTIME, me, channel, topic.setter, topic.since))
        return answer

    def names(self, me: str, channel: str, members: Sequence[str]) -> list[Message]:
        """353 lines listing C{members} (as many per line as fit, each as given: with its
        prefix, L{chatproto.doors.irc.statuses}), then 366."""
        budget = text_budget(self.numeric(RPL_NAMREPLY, me, "=", channel))
        return [
            *(
                self.numeric(RPL_NAMREPLY, me, "=", channel, text=text)
                for text in pack_words(members, budget)
            ),
            self.numeric(RPL_ENDOFNAMES, me, channel),
        ]

    def names_wire(self, me: str, channel: str, members: Sequence[str]) -> bytes:
        """The bytes of L{names}, each 353 written as its head and a text: a names list
        of 1,000 members is not cut, decoded, made safe and checked again line by line.
        Members holding a character no line may hold are made safe by L{names} itself."""
        joined = " ".join(members)
        if safe_text(joined) != joined:
            return wire(self.names(me, channel, members))
        head = serialise(self.numeric(RPL_NAMREPLY, me, "=", channel, text=""))[:-2]
        budget = text_budget(self.numeric(RPL_NAMREPLY, me, "=", channel))
        lines = [head + text + b"\r\n" for text in packed_words(joined.encode("utf-8"), budget)]
        return b"".join([*lines, serialise(self.numeric(RPL_ENDOFNAMES, me, channel))])

    def listed(self, me: str, channel: str, users: int, topic: str) -> Message:
        """322: one room of a LIST, how many are in it and its topic."""
        return self.numeric(RPL_LIST, me, channel, str(users), text=topic)

    def user_modes(self, me: str) -> Message:
        """221: a member's own modes."""
        return self.numeric(RPL_UMODEIS, me, f"+{USER_MODES}")

    def user_modes_set(self, me: str, modes: str) -> Message:
        """The MODE line that confirms a change of C{me}'s own C{modes} (e.g. C{+i})."""
        return _reply("MODE", (me, modes), member_source(me), force_trailing=True)

    def no_such_channel(self, me: str, name: str, why: str = "") -> Message:
        """403 about C{name}: no room has that name (C{why}, if given, says more)."""
        text = f"No such channel: {why}" if why else "No such channel"
        return self.numeric(ERR_NOSUCHCHANNEL, me, name, text=text)

    def too_many_channels(self, me: str, name: str, why: str) -> Message:
        """405: JOIN of C{name} past --max-rooms-per-member or --max-rooms (C{why})."""
        return self.numeric(ERR_TOOMANYCHANNELS, me, name, text=why)

    def cannot_send(self, me: str, name: str, why: str) -> Message:
        """404: a PRIVMSG to a room one is not in (C{why} says so)."""
        return self.numeric(ERR_CANNOTSENDTOCHAN, me, name, text=why)

    def too_many_targets(self, me: str, command: str, targets: str) -> Message:
        """407: C{command} named more targets than its L{TARGMAX}; nothing was done."""
        text = f"Too many targets for {command} (at most {TARGMAX[command]}): nothing was done"
        return self.numeric(ERR_TOOMANYTARGETS, me, targets, text=text)

    # Who is here

    def who(
        self,
        me: str,
        mask: str,
        members: Sequence[MemberIdentity],
        *,
        of_channel: bool = True,
        prefixes: Mapping[str, str] | None = None,
    ) -> list[Message]:
        """352 per member in C{members} (those C{mask} matched), then 315 echoing C{mask}.

        The channel field is C{mask} when it names a room (C{of_channel}), else C{*};
        the flags are C{H} and the member's prefix in that room, if C{prefixes} has one.
        """
        shown = prefixes or {}
        name = self.server.name
        channel = mask if of_channel else "*"
        return [
            *(
                self._with_realname(
                    Message(
                        RPL_WHOREPLY,
                        (
                            me,
                            channel,
                            member.username,
                            MEMBER_HOST,
                            name,
                            member.nickname,
                            "H" + shown.get(member.nickname, ""),
                        ),
                        name,
                    ),
                    "0 ",  # the hop count: every member is on this server, as far as IRC knows
                    member.realname,
                )
                for member in members
            ),
            self.numeric(RPL_ENDOFWHO, me, mask),
        ]

    def whois(self, me: str, target: str, member: MemberIdentity | None) -> list[Message]:
        """311 then 318 for C{member} (whom C{target} names), or 401 then 318 for nobody."""
        if member is None:
            first = self.numeric(ERR_NOSUCHNICK, me, target)
        else:
            params = (me, member.nickname, member.username, MEMBER_HOST, "*")
            first = self._with_realname(
                Message(RPL_WHOISUSER, params, self.server.name), "", member.realname
            )
            target = member.nickname
        return [first, self.numeric(RPL_ENDOFWHOIS, me, target)]

    @staticmethod
    def _with_realname(template: Message, before: str, realname: str) -> Message:
        """C{template} with the text C{before} + C{realname}, the realname cut to fit."""
        budget = text_budget(template) - len(before)
        # At least one character, even when a long server name leaves no room in 512 bytes.
        shown = split_to_fit(realname, max(budget, 4))[0]
        return Message(
            template.command,
            (*template.params, before + shown),
            template.source,
            force_trailing=True,
        )

    def time(self, me: str, timestamp: str) -> Message:
        """391: the server's time, from an RFC 3339 C{timestamp}, as people read it."""
        moment = datetime.fromisoformat(timestamp).astimezone(UTC)
        human = moment.strftime("%A %B %d %Y -- %H:%M:%S +00:00")
        return self.numeric(RPL_TIME, me, self.server.name, text=human)

    # Errors

    def no_recipient(self, me: str, command: str) -> Message:
        """411: a PRIVMSG without a target."""
        return self.numeric(ERR_NORECIPIENT, me, text=f"No recipient given ({command})")

    def erroneous_nickname(self, me: str, nickname: str, reason: str) -> Message:
        """432: C{nickname} breaks a rule of section 3; C{reason} says which."""
        return self.numeric(
            ERR_ERRONEUSNICKNAME, me, nickname, text=f"Erroneous nickname: {reason}"
        )

    def fail(self, command: str, code: str, description: str, *context: str) -> Message:
        """An IRCv3 standard reply: C{FAIL <command> <code> [context...] :description}."""
        return self._say("FAIL", command, code, *context, description, force_trailing=True)

    def invalid_utf8(self, command: str) -> Message:
        """The IRCv3 standard reply to a line that is not UTF-8."""
        return self._say(
            "FAIL",
            command,
            "INVALID_UTF8",
            "Message rejected, your IRC software MUST use UTF-8",
            force_trailing=True,
        )

    def core_error(
        self, me: str, code: str, detail: str, *, command: str = "PRIVMSG", target: str = "*"
    ) -> Message:
        """The reply to an C{error} notice of the core (docs/protocol.md section 5).

        C{empty}, C{no-such-user} and C{unknown-command} have numerics (412, 401 about
        C{target}, 421 about C{command}); every other code, known or new, becomes a server
        NOTICE that names the code and gives the core's C{detail}.
        """
        match code:
            case "empty":
                return self.numeric(ERR_NOTEXTTOSEND, me)
            case "no-such-user":
                return self.numeric(ERR_NOSUCHNICK, me, target)
            case "unknown-command":
                return self.numeric(ERR_UNKNOWNCOMMAND, me, command)
            case _:
                return self.notice(me, f"{command} refused ({code}): {detail}")

    def closing_link(self, reason: str = "") -> Message:
        """ERROR: the last line before the server closes the connection."""
        text = f"Closing link ({reason})" if reason else "Closing link"
        return _reply("ERROR", (text,), None, force_trailing=True)
