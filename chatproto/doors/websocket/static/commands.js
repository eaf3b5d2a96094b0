// What a person typed: a message, or one of the slash commands of the terminal client.

/** The help shown by /help. */
export const HELP = `Enter sends, Shift+Enter starts a new line.
  /msg NICK TEXT   send TEXT to NICK only (or click a name in the online list)
  /me TEXT         send "* yournick TEXT"
  /join #ROOM      join a room and switch to it (or click it in the room list)
  /part [#ROOM]    leave a room (this one without a name)
  /topic TEXT      set this room's topic (/topic alone shows it)
  /rooms           list the rooms on the server
  /who             list who is in this room
Operators of this room (or the menus beside names and messages):
  /kick NICK [COMMENT]   /mute NICK [SECONDS]   /unmute NICK
  /ban MASK [SECONDS] [COMMENT]   /unban MASK   /bans
  /op NICK   /deop NICK   /voice NICK   /devoice NICK
  /topic-lock on|off   only operators set the topic, or anyone again
  /moderated on|off    only operators and voiced members speak, or anyone
  /announce TEXT   say TEXT to everyone on the server (server operators)
  /quit            leave
  /help            show this help
  //TEXT           send TEXT that starts with a slash`;

/** Commands that take no argument. */
const BARE = ["who", "rooms", "quit", "help"];

/** Moderation commands that name a member and nothing else. */
const ABOUT_A_MEMBER = ["unmute", "op", "deop", "voice", "devoice"];

/** A positive whole number of seconds, or null. */
function seconds(word) {
  return /^[1-9][0-9]*$/u.test(word ?? "") ? Number(word) : null;
}

/**
 * A moderation command: {kind: "moderate", command, fields}, a mistake, or null when
 * `name` is not one.
 */
function moderationCommand(name, rest) {
  const words = rest.trim().split(/\s+/u).filter(Boolean);
  const moderate = (fields) => ({ kind: "moderate", command: name, fields });
  const usage = (how) => ({ kind: "mistake", reason: `Usage: /${name} ${how}` });
  const after = (count) => words.slice(count).join(" ");
  if (ABOUT_A_MEMBER.includes(name) || name === "unban") {
    if (words.length !== 1) return usage(name === "unban" ? "MASK" : "NICK");
    return moderate(name === "unban" ? { mask: words[0] } : { user: words[0] });
  }
  if (name === "kick") {
    if (words.length === 0) return usage("NICK [COMMENT]");
    return moderate({ user: words[0], ...(after(1) ? { comment: after(1) } : {}) });
  }
  if (name === "mute") {
    const time = seconds(words[1]);
    if (words.length === 0 || words.length > 2 || (words.length === 2 && time === null)) {
      return usage("NICK [SECONDS]");
    }
    return moderate({ user: words[0], ...(time ? { seconds: time } : {}) });
  }
  if (name === "ban") {
    if (words.length === 0) return usage("MASK [SECONDS] [COMMENT]");
    const time = seconds(words[1]);
    const comment = after(time ? 2 : 1);
    return moderate({ mask: words[0], ...(time ? { seconds: time } : {}), ...(comment ? { comment } : {}) });
  }
  if (name === "bans") {
    return words.length ? { kind: "mistake", reason: "/bans takes no arguments." } : moderate({});
  }
  if (name === "topic-lock" || name === "moderated") {
    if (words.length !== 1 || !["on", "off"].includes(words[0])) return usage("on|off");
    return moderate({ on: words[0] === "on" });
  }
  if (name === "announce") return words.length ? moderate({ text: rest.trim() }) : usage("TEXT");
  return null;
}

/**
 * What `line` asks for, typed by `nickname`: {kind: "say", text, to?}, {kind: "join", room},
 * {kind: "part", room?}, {kind: "topic", text?}, {kind: "who"}, {kind: "rooms"},
 * {kind: "quit"}, {kind: "help"}, {kind: "moderate", command, fields},
 * {kind: "mistake", reason}; null for a blank line.
 */
export function parseCommand(line, nickname) {
  if (!line.trim()) return null;
  if (line.startsWith("//")) return { kind: "say", text: line.slice(1) };
  if (!line.startsWith("/")) return { kind: "say", text: line };
  const [, name, rest = ""] = /^\/(\S*)\s*([\s\S]*)$/u.exec(line);
  if (name === "msg") {
    const found = /^(\S+)\s+([\s\S]*\S[\s\S]*)$/u.exec(rest);
    if (!found) return { kind: "mistake", reason: "Usage: /msg NICK TEXT" };
    return { kind: "say", text: found[2], to: found[1] };
  }
  if (name === "me") {
    if (!rest.trim()) return { kind: "mistake", reason: "Usage: /me TEXT" };
    return { kind: "say", text: `* ${nickname} ${rest}` };
  }
  if (name === "join" || name === "part") return roomCommand(name, rest.trim());
  if (name === "topic") return rest.trim() ? { kind: name, text: rest.trim() } : { kind: name };
  const moderation = moderationCommand(name, rest);
  if (moderation) return moderation;
  if (!BARE.includes(name)) {
    return { kind: "mistake", reason: `Unknown command /${name}; /help lists the commands.` };
  }
  if (rest.trim()) return { kind: "mistake", reason: `/${name} takes no arguments.` };
  return { kind: name };
}

/** /join #ROOM (the room required) or /part [#ROOM]. */
function roomCommand(name, rest) {
  if (/\s/u.test(rest) || (name === "join" && !rest)) {
    return { kind: "mistake", reason: `Usage: /${name} ${name === "join" ? "#ROOM" : "[#ROOM]"}` };
  }
  return rest ? { kind: name, room: rest } : { kind: name };
}
